package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/site"
)

// A queue holding more than the worker gets through in its limit turns
// senders away with 503 and Retry-After before reading them, and takes
// the same activity once the worker has caught up: nothing is lost, the
// sender just retries.
func TestFullQueueAnswers503UntilDrained(t *testing.T) {
	n := testnode.New(t, nil)
	in, unblock := holdQueue(t, n, 300)
	zed := testnode.NewRemoteServer(t, "mastodon").Actor("zed", "Person", 0)
	create := zed.Create(zed.Note(n.URLs.Post(n.Fx.Posts[0].ID), "<p>Sent while the queue was full.</p>"))
	post := func() (int, http.Header) {
		var h http.Header
		status, _ := zed.Post(t, n.URLs.SharedInbox(), create, testnode.SendOpts{Answer: &h})
		return status, h
	}
	untilTurnedAway(t, post)
	unblock()
	for deadline := time.Now().Add(15 * time.Second); ; {
		status, _ := post()
		if status == http.StatusAccepted {
			break
		}
		if status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("POST once the queue drains: %d", status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	in.Settle(t)
	if got := testnode.Count(t, n.Store, "SELECT count(*) FROM posts WHERE ap_id = ?", create["object"].(map[string]any)["id"]); got != 1 {
		t.Fatalf("the Note sent again is stored %d times, want once", got)
	}
}

// A POST that finds the queue full waits, before reading anything, for
// the worker to make room, and is taken as soon as there is some: a 202
// the sender needs no retry for, rather than a 503.
func TestPostWaitingForRoomIsAccepted(t *testing.T) {
	n := testnode.New(t, nil)
	// 256 is the fewest waiting activities that turn senders away
	// (minBacklog): the first the worker finishes makes room.
	in, unblock := holdQueue(t, n, 256)
	zed := testnode.NewRemoteServer(t, "mastodon").Actor("zed", "Person", 0)
	untilTurnedAway(t, func() (int, http.Header) {
		var h http.Header
		probe := zed.Create(zed.Note(n.URLs.Post(n.Fx.Posts[0].ID), "<p>Is there room?</p>"))
		status, _ := zed.Post(t, n.URLs.SharedInbox(), probe, testnode.SendOpts{Answer: &h})
		return status, h
	})

	// The worker is let go once the POST is at the node, where it finds
	// the queue still full: the room it waits for comes while it waits.
	arrived := make(chan struct{}, 1)
	alice := site.Inbox(n.URLs.Member(n.Fx.Alice.Handle))
	inboxes := http.NewServeMux()
	n.Inbox.Register(inboxes)
	n.Mux.HandleFunc("POST /u/"+n.Fx.Alice.Handle+"/inbox", func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		inboxes.ServeHTTP(w, r)
	})
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-arrived:
			unblock()
		case <-stop:
		}
	}()
	create := zed.Create(zed.Note(n.URLs.Post(n.Fx.Posts[0].ID), "<p>Waited for room.</p>"))
	if status, reason := zed.Post(t, alice, create, testnode.SendOpts{}); status != http.StatusAccepted {
		t.Fatalf("POST waiting for room: %d %s", status, reason)
	}
	in.Settle(t)
	if got := testnode.Count(t, n.Store, "SELECT count(*) FROM posts WHERE ap_id = ?", create["object"].(map[string]any)["id"]); got != 1 {
		t.Fatalf("the Note that waited is stored %d times, want once", got)
	}
}

// holdQueue queues count Creates by a stranger whose actor document does
// not come, and starts n's inbox worker, which holds the first of them
// until unblock (or the test's end) lets the stranger's server answer.
func holdQueue(t *testing.T, n *testnode.Node, count int) (in *testnode.InboxNode, unblock func()) {
	t.Helper()
	ctx := context.Background()
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		http.Error(w, "gone", http.StatusGone)
	}))
	t.Cleanup(stuck.Close)
	actor := stuck.URL + "/users/stuck"
	for i := range count {
		id := fmt.Sprintf("%s/statuses/%d/activity", actor, i)
		body, _ := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Create",
			"actor": actor, "object": map[string]any{"id": fmt.Sprintf("%s/statuses/%d", actor, i), "type": "Note",
				"attributedTo": actor, "content": "held", "to": []string{"https://www.w3.org/ns/activitystreams#Public"}}})
		if _, err := n.Store.AcceptInbox(ctx, actor, actor+"#main-key", id, body); err != nil {
			t.Fatal(err)
		}
	}
	in = testnode.StartInboxWorker(t, n)
	var once sync.Once
	unblock = func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the worker stops: it waits for the item it holds
	return in, unblock
}

// untilTurnedAway POSTs until the inbox answers 503 with Retry-After 1:
// the worker has counted the queue and found it full. Until then POSTs
// are taken.
func untilTurnedAway(t *testing.T, post func() (int, http.Header)) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		status, h := post()
		switch {
		case status == http.StatusServiceUnavailable:
			if h.Get("Retry-After") != "1" {
				t.Fatalf("503 with Retry-After %q, want 1", h.Get("Retry-After"))
			}
			return
		case status != http.StatusAccepted:
			t.Fatalf("POST while the queue fills: %d", status)
		case time.Now().After(deadline):
			t.Fatal("the inbox still accepts with a full queue waiting")
		default:
			time.Sleep(50 * time.Millisecond) // the worker has not counted the queue yet
		}
	}
}
