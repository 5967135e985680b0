package storage_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

func idNode(id storage.ID) int64 { return int64(id) >> 12 & 0x3ff }

// Many processes on one database (here: store handles, each with its own
// pools and generator, as a process has) make ids at once; none
// coincide, because each leased a node number of its own.
func TestIDsUniqueAcrossStores(t *testing.T) {
	storagetest.ForEachDialectShared(t, func(t *testing.T, first *storage.Store, opts storage.Options) {
		{
			const stores, perStore = 16, 3000
			handles := []*storage.Store{first}
			for len(handles) < stores {
				handles = append(handles, storagetest.OpenWith(t, opts))
			}
			nodes := map[int64]bool{}
			for _, s := range handles {
				n := s.IDNode()
				if n < 0 || nodes[n] {
					t.Fatalf("node number %d leased twice (or not at all)", n)
				}
				nodes[n] = true
			}
			ids := make([][]storage.ID, stores)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, s := range handles {
				wg.Go(func() {
					<-start
					out := make([]storage.ID, perStore)
					for j := range out {
						out[j] = s.NewID()
					}
					ids[i] = out
				})
			}
			close(start)
			wg.Wait()
			seen := make(map[storage.ID]int, stores*perStore)
			for i, list := range ids {
				for _, id := range list {
					if j, dup := seen[id]; dup {
						t.Fatalf("stores %d and %d both made id %s", j, i, id)
					}
					seen[id] = i
					if idNode(id) != handles[i].IDNode() {
						t.Fatalf("store %d made %s with node %d, leased %d", i, id, idNode(id), handles[i].IDNode())
					}
				}
			}
		}
	})
}

// A lease is given back on Close, renewed while held, and replaced when
// it was lost; a number handed on continues after its last holder's ids.
func TestIDNodeLease(t *testing.T) {
	storagetest.ForEachDialectShared(t, func(t *testing.T, s *storage.Store, opts storage.Options) {
		ctx := context.Background()
		db := s.DB()
		node := s.IDNode()
		var holder string
		if err := db.NewRaw("SELECT holder FROM id_nodes WHERE node = ?", node).Scan(ctx, &holder); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(holder, strconv.Itoa(os.Getpid())) {
			t.Fatalf("holder %q does not name this process", holder)
		}

		// Lost: another process took the number (this one could not
		// renew in time). The next renewal leases another one, and ids
		// carry it from then on.
		if _, err := db.ExecContext(ctx, "UPDATE id_nodes SET holder = 'someone else' WHERE node = ?", node); err != nil {
			t.Fatal(err)
		}
		if err := s.RenewIDLease(ctx); err != nil {
			t.Fatal(err)
		}
		if s.IDNode() == node || idNode(s.NewID()) != s.IDNode() {
			t.Fatalf("after losing node %d the store uses %d, ids carry %d", node, s.IDNode(), idNode(s.NewID()))
		}

		// Every number taken: all 1024 rows exist, all live but one that
		// expired, whose last holder made ids an hour ahead of this clock.
		// A new store gets that one and continues after those ids.
		future := time.Now().Add(time.Hour)
		var values []string
		for n := range 1024 {
			if n == int(s.IDNode()) || n == int(node) {
				continue
			}
			expires, last := time.Now().Add(time.Hour).UnixMilli(), int64(0)
			if n == 1000 {
				expires, last = time.Now().Add(-time.Minute).UnixMilli(), int64(storage.IDAt(future))>>22
			}
			values = append(values, fmt.Sprintf("(%d, 'busy', %d, %d)", n, expires, last))
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO id_nodes (node, holder, expires_at, last_ms) VALUES "+strings.Join(values, ", ")+
			" ON CONFLICT (node) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, last_ms = EXCLUDED.last_ms"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "UPDATE id_nodes SET expires_at = ? WHERE node = ?", time.Now().Add(time.Hour).UnixMilli(), node); err != nil {
			t.Fatal(err)
		}
		other, err := storage.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if other.IDNode() != 1000 {
			t.Fatalf("leased %d, want the one expired number 1000", other.IDNode())
		}
		if id := other.NewID(); !id.Time().After(future.Add(-time.Millisecond)) {
			t.Fatalf("id %s made at %v repeats the previous holder's time (up to %v)", id, id.Time(), future)
		}
		// Released on Close: free again for the next store.
		other.Close()
		third, err := storage.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer third.Close()
		if third.IDNode() != 1000 {
			t.Fatalf("the number given back was not reused: got %d", third.IDNode())
		}
		// And with none free, opening says so.
		if _, err := storage.Open(ctx, opts); err == nil || !strings.Contains(err.Error(), "id node") {
			t.Fatalf("open with every number leased: %v", err)
		}
	})
}

// The same across real processes: this test binary started several
// times on one database, all making ids at the same moment.
func TestIDsUniqueAcrossProcesses(t *testing.T) {
	storagetest.ForEachDialectShared(t, func(t *testing.T, _ *storage.Store, opts storage.Options) {
		const procs, perProc = 3, 10000
		type child struct {
			in  io.WriteCloser
			out *bufio.Scanner
		}
		var children []child
		for range procs {
			cmd := exec.Command(os.Args[0], "-test.run=^TestIDProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), "SKEIN_ID_PROCESS="+opts.DataDir+"\n"+opts.DatabaseURL, "SKEIN_ID_COUNT="+strconv.Itoa(perProc))
			cmd.Stderr = os.Stderr
			in, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			sc := bufio.NewScanner(out)
			if !sc.Scan() || !strings.HasPrefix(sc.Text(), "ready ") {
				t.Fatalf("child did not start: %q", sc.Text())
			}
			children = append(children, child{in, sc})
		}
		for _, c := range children {
			fmt.Fprintln(c.in, "go")
		}
		seen := make(map[string]int, procs*perProc)
		for i, c := range children {
			n := 0
			for c.out.Scan() {
				line := c.out.Text()
				if line == "done" {
					break
				}
				if j, dup := seen[line]; dup {
					t.Fatalf("processes %d and %d both made id %s", j, i, line)
				}
				seen[line] = i
				n++
			}
			if n != perProc {
				t.Fatalf("process %d made %d ids, want %d", i, n, perProc)
			}
			c.in.Close()
		}
	})
}

// TestIDProcess is the child of TestIDsUniqueAcrossProcesses: it opens
// the database it is given, says ready, and on "go" prints its ids.
func TestIDProcess(t *testing.T) {
	where := os.Getenv("SKEIN_ID_PROCESS")
	if where == "" {
		t.Skip("runs as a child of TestIDsUniqueAcrossProcesses")
	}
	dir, url, _ := strings.Cut(where, "\n")
	s, err := storage.Open(context.Background(), storage.Options{DataDir: dir, DatabaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, _ := strconv.Atoi(os.Getenv("SKEIN_ID_COUNT"))
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(w, "ready", s.IDNode())
	w.Flush()
	bufio.NewScanner(os.Stdin).Scan()
	ids := make([]storage.ID, n)
	for i := range ids {
		ids[i] = s.NewID()
	}
	for _, id := range ids {
		fmt.Fprintln(w, id)
	}
	fmt.Fprintln(w, "done")
	w.Flush()
}
