package node_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/fedtest"
	"github.com/skein-forum/skein/storage"
)

// Crash during fan-out: kill -9 the real skein binary in the middle of a
// fan-out to 200 inboxes, restart it on the same data directory, and
// every inbox ends up with the activity at least once.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// skeinBinary builds cmd/skein once per test run.
func skeinBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "skein-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "skein")
		// The go command running this test put its own directory first
		// in PATH, so this finds the same toolchain.
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = err
			return
		}
		out, err := exec.Command(goTool, "build", "-o", binPath, "github.com/skein-forum/skein/cmd/skein").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
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

func TestKillDuringFanoutLosesNothing(t *testing.T) {
	bin := skeinBinary(t)
	ctx := context.Background()
	dataDir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	base := "http://" + listen

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
	store, alice, thread := seedForum(t, dataDir)
	for _, a := range actors {
		acc, err := store.UpsertRemoteAccount(ctx, a.account())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.AddFollow(ctx, acc.ID, storage.FollowThread, thread.ID, nil, true); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()

	proc := startSkein(t, bin, dataDir, listen)

	// A reply, written as the web form would (the test shares the SQLite
	// file with the running node), starts the fan-out.
	store, err = storage.Open(ctx, storage.Options{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := store.CreatePost(ctx, storage.NewPost{ThreadID: thread.ID, AuthorID: alice.ID,
		Source: "Everyone gets this", HTML: "<p>Everyone gets this</p>"})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	noteID := base + "/p/" + reply.ID.String()

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

	proc = startSkein(t, bin, dataDir, listen)
	waitFor(t, "every inbox to get the Announce", 20*time.Second, func() bool { return got() == len(actors) })
	proc.stop(syscall.SIGTERM)
	dups := 0
	for _, r := range remotes {
		dups += len(r.Received("", ""))
	}
	t.Logf("%d receipts for %d inboxes (at least once: duplicates are allowed)", dups, len(actors))
}
