package node_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/fedtest"
	"github.com/skein-forum/skein/storage"
)

// Process faults: the real skein binary killed and stopped mid-work.

// seedForum prepares a data directory as earlier runs would leave it: a
// member and a thread whose own events are done.
func seedForum(t *testing.T, dataDir string) (*storage.Store, *storage.Account, *storage.Thread) {
	t.Helper()
	ctx := context.Background()
	store, err := storage.Open(ctx, storage.Options{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	forum, _, err := store.EnsureDefaultForum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := store.CreateMember(ctx, storage.NewMember{Handle: "alice", PasswordHash: "-"})
	if err != nil {
		t.Fatal(err)
	}
	thread, _, err := store.CreateThread(ctx, storage.NewThread{ForumID: forum.ID, AuthorID: alice.ID,
		Title: "Crash course", Source: "Hello", HTML: "<p>Hello</p>"})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := store.PendingEvents(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range pending {
		if err := store.CompleteEvent(ctx, ev.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	return store, alice, thread
}

// kill -9 the binary while remote servers are posting replies to its
// inboxes; after a restart every reply it answered 202 is a post.
func TestKillDuringInboxIngestLosesNothing(t *testing.T) {
	b := newBinNode(t)
	store, _, thread := seedForum(t, b.dataDir)
	store.Close()
	firstURL := b.base + "/p/" + thread.FirstPostID.String()

	var actors []*fakeActor
	for h := range 4 {
		r := newFakeRemote(t, false)
		for i := range 5 {
			actors = append(actors, r.actor(fmt.Sprintf("writer%d_%d", h, i)))
		}
	}
	proc := b.start(t)

	// 20 actors post 15 replies each, 4 at a time; the node dies once 100
	// are accepted.
	const perActor = 15
	var (
		mu       sync.Mutex
		accepted []string
		killed   atomic.Bool
	)
	killAt := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, a := range actors {
		wg.Go(func() {
			for i := range perActor {
				if killed.Load() {
					return
				}
				sem <- struct{}{}
				id := fmt.Sprintf("%s/statuses/%d", a.ID, i)
				act := map[string]any{"id": id + "/activity", "type": "Create", "actor": a.ID, "object": map[string]any{
					"id": id, "type": "Note", "attributedTo": a.ID, "inReplyTo": firstURL,
					"content": fmt.Sprintf("<p>Reply %d of %s.</p>", i, a.Name), "to": []any{"https://www.w3.org/ns/activitystreams#Public"}}}
				resp, err := hostileClient.Do(forgery{url: b.base + "/t/" + thread.ID.String() + "/inbox", body: mustJSON(t, act), keyID: a.ID + "#main-key"}.request(t))
				<-sem
				if err != nil {
					continue // the node is down: a real sender retries later
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					mu.Lock()
					accepted = append(accepted, id)
					if len(accepted) == 100 {
						once.Do(func() { close(killAt) })
					}
					mu.Unlock()
				}
			}
		})
	}
	select {
	case <-killAt:
	case <-time.After(30 * time.Second):
		t.Fatal("100 replies were not accepted in 30 s")
	}
	proc.stop(syscall.SIGKILL)
	killed.Store(true)
	wg.Wait()

	store = b.open(t)
	defer store.Close()
	stored := func() (n int) {
		mu.Lock()
		ids := append([]string(nil), accepted...)
		mu.Unlock()
		for _, id := range ids {
			if _, err := store.PostByAPID(context.Background(), id); err == nil {
				n++
			}
		}
		return n
	}
	t.Logf("killed with %d replies accepted, %d of them applied", len(accepted), stored())

	proc = b.start(t)
	waitFor(t, "every accepted reply to become a post", 20*time.Second, func() bool { return stored() == len(accepted) })
	proc.stop(syscall.SIGTERM)
}

// SIGTERM lets a request in flight finish and gives back every job the
// workers had claimed: no lease is left in the database after exit.
func TestGracefulShutdownFinishesRequestsReleasesJobs(t *testing.T) {
	b := newBinNode(t)
	ctx := context.Background()
	store, alice, thread := seedForum(t, b.dataDir)

	// 40 followers behind a slow server keep deliveries claimed.
	readers := newFakeRemote(t, false)
	readers.Respond(fedtest.Delay(3 * time.Second))
	var followers []*fakeActor
	for i := range 40 {
		followers = append(followers, readers.actor(fmt.Sprintf("reader%d", i)))
	}
	followThread(t, store, thread.ID, followers)
	store.Close()
	proc := b.start(t)

	store = b.open(t)
	defer store.Close()
	if _, err := store.CreatePost(ctx, storage.NewPost{ThreadID: thread.ID, AuthorID: alice.ID, Source: "To all", HTML: "<p>To all</p>"}); err != nil {
		t.Fatal(err)
	}
	leased := func(table string) int {
		var n int
		if err := store.DB().NewRaw("SELECT count(*) FROM "+table+" WHERE lease_until IS NOT NULL").Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor(t, "deliveries to be claimed", 20*time.Second, func() bool { return leased("deliveries") > 0 })

	// A request whose signer's actor document takes 1.5 s to load.
	slow := newHostileHost(t)
	slow.on("/users/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		writeJSON(w, slow.actorDoc("slow"))
	})
	answer := make(chan int, 1)
	go func() {
		act := map[string]any{"id": slow.actor("slow") + "#like", "type": "Like", "actor": slow.actor("slow"),
			"object": b.base + "/p/" + thread.FirstPostID.String()}
		resp, err := hostileClient.Do(forgery{url: b.base + "/inbox", body: mustJSON(t, act), keyID: slow.keyID("slow")}.request(t))
		if err != nil {
			t.Errorf("the request in flight was cut off: %v", err)
			answer <- 0
			return
		}
		resp.Body.Close()
		answer <- resp.StatusCode
	}()
	waitFor(t, "the slow request to be in flight", 10*time.Second, func() bool { return slow.hitsOn("/users/slow") > 0 })

	proc.stop(syscall.SIGTERM)
	if st := proc.cmd.ProcessState; !st.Success() {
		t.Errorf("skein exited with %v after SIGTERM", st)
	}
	if code := <-answer; code != http.StatusAccepted {
		t.Errorf("the request in flight got %d, want 202", code)
	}
	for _, table := range []string{"deliveries", "inbox_items"} {
		if n := leased(table); n != 0 {
			t.Errorf("%d %s still leased after a clean exit", n, table)
		}
	}
	var left int
	if err := store.DB().NewRaw("SELECT count(*) FROM deliveries").Scan(ctx, &left); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d deliveries left for the next start, none leased", left)
}
