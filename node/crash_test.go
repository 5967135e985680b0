package node_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skein-forum/skein/cmd/skein/skeintest"
	"github.com/skein-forum/skein/federation/fedtest"
	"github.com/skein-forum/skein/storage"
)

// Crash during fan-out: kill -9 the real skein binary in the middle of a
// fan-out to 200 inboxes, restart it on the same data directory, and
// every inbox ends up with the activity at least once.

// skeinBinary is the skein command, built once per test run.
func skeinBinary(t *testing.T) string {
	t.Helper()
	bin, err := skeintest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	skeintest.Cleanup()
	os.Exit(code)
}

// skeinProcess is `skein serve` running as a child process.
type skeinProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startSkein(t *testing.T, bin, dataDir, listen string) *skeinProcess {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--listen", listen, "--base-url", "http://"+listen, "--data", dataDir,
		"--allow-private-networks", "--allow-http", "--log-level", "warn")
	// The node's flags read SKEIN_* variables; the test's own must not leak in.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SKEIN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &skeinProcess{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(syscall.SIGKILL) })
	waitFor(t, "skein to answer /readyz", 20*time.Second, func() bool {
		select {
		case <-p.done:
			t.Fatalf("skein exited: %v", cmd.ProcessState)
		default:
		}
		resp, err := http.Get("http://" + listen + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

func (p *skeinProcess) stop(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	<-p.done
}

// binNode is a data directory and a free loopback address for the real
// skein binary, which a test starts, kills and starts again on them.
type binNode struct {
	bin, dataDir, listen string
	base                 string // http://listen
}

func newBinNode(t *testing.T) *binNode {
	listen := skeintest.FreeAddr(t)
	return &binNode{bin: skeinBinary(t), dataDir: t.TempDir(), listen: listen, base: "http://" + listen}
}

func (b *binNode) start(t *testing.T) *skeinProcess { return startSkein(t, b.bin, b.dataDir, b.listen) }

// open opens the node's database beside it, as the web form of a process
// sharing the SQLite file would; the caller closes it.
func (b *binNode) open(t *testing.T) *storage.Store {
	t.Helper()
	store, err := storage.Open(context.Background(), storage.Options{DataDir: b.dataDir})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// followThread stores the actors as accepted followers of the thread.
func followThread(t *testing.T, store *storage.Store, threadID storage.ID, actors []*fakeActor) {
	t.Helper()
	for _, a := range actors {
		acc := storeActor(t, store, a)
		if _, err := store.AddFollow(context.Background(), acc.ID, storage.FollowThread, threadID, nil, true); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKillDuringFanoutLosesNothing(t *testing.T) {
	b := newBinNode(t)

	// 200 followers with personal inboxes on 10 hosts, each answering
	// slowly so the fan-out is still running when the node dies.
	const hosts, perHost = 10, 20
	var actors []*fakeActor
	var remotes []*fakeRemote
	for h := range hosts {
		r := newFakeRemote(t, false)
		r.Respond(fedtest.Delay(50 * time.Millisecond))
		remotes = append(remotes, r)
		for i := range perHost {
			actors = append(actors, r.actor(fmt.Sprintf("reader%d_%d", h, i)))
		}
	}

	// The database as earlier runs would have left it: a member, a thread
	// whose own event is done, and the 200 followers of the thread.
	store, alice, thread := seedForum(t, b.dataDir)
	followThread(t, store, thread.ID, actors)
	store.Close()

	proc := b.start(t)

	// A reply, written as the web form would (the test shares the SQLite
	// file with the running node), starts the fan-out.
	store = b.open(t)
	reply, err := store.CreatePost(context.Background(), storage.NewPost{ThreadID: thread.ID, AuthorID: alice.ID,
		Source: "Everyone gets this", HTML: "<p>Everyone gets this</p>"})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	noteID := b.base + "/p/" + reply.ID.String()

	got := func() int {
		n := 0
		for _, a := range actors {
			for _, act := range a.received("Announce") {
				if objectID(act) == noteID {
					n++
					break
				}
			}
		}
		return n
	}
	waitFor(t, "the first delivery", 20*time.Second, func() bool { return got() > 0 })
	proc.stop(syscall.SIGKILL)
	before := got()
	t.Logf("killed with %d of %d inboxes served", before, len(actors))

	proc = b.start(t)
	waitFor(t, "every inbox to get the Announce", 20*time.Second, func() bool { return got() == len(actors) })
	proc.stop(syscall.SIGTERM)
	dups := 0
	for _, r := range remotes {
		dups += len(r.Received("", ""))
	}
	t.Logf("%d receipts for %d inboxes (at least once: duplicates are allowed)", dups, len(actors))
}
