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
)

// A queue holding more than the worker gets through in its limit turns
// senders away with 503 and Retry-After before reading them, and takes
// the same activity once the worker has caught up: nothing is lost, the
// sender just retries.
func TestFullQueueAnswers503UntilDrained(t *testing.T) {
	n := testnode.New(t, nil)
	ctx := context.Background()

	// A stranger's activities whose actor document does not come: the
	// worker holds the first of them until the server answers.
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		http.Error(w, "gone", http.StatusGone)
	}))
	t.Cleanup(stuck.Close)
	actor := stuck.URL + "/users/stuck"
	for i := range 300 {
		id := fmt.Sprintf("%s/statuses/%d/activity", actor, i)
		body, _ := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Create",
			"actor": actor, "object": map[string]any{"id": fmt.Sprintf("%s/statuses/%d", actor, i), "type": "Note",
				"attributedTo": actor, "content": "held", "to": []string{"https://www.w3.org/ns/activitystreams#Public"}}})
		if _, err := n.Store.AcceptInbox(ctx, actor, actor+"#main-key", id, body); err != nil {
			t.Fatal(err)
		}
	}
	in := testnode.StartInboxWorker(t, n)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the worker stops: it waits for the item it holds

	zed := testnode.NewRemoteServer(t, "mastodon").Actor("zed", "Person", 0)
	create := zed.Create(zed.Note(n.URLs.Post(n.Fx.Posts[0].ID), "<p>Sent while the queue was full.</p>"))
	post := func() (int, http.Header) {
		var h http.Header
		status, _ := zed.Post(t, n.URLs.SharedInbox(), create, testnode.SendOpts{Answer: &h})
		return status, h
	}
	busy := 0
	for deadline := time.Now().Add(10 * time.Second); busy == 0; {
		status, h := post()
		switch {
		case status == http.StatusServiceUnavailable:
			if h.Get("Retry-After") != "1" {
				t.Fatalf("503 with Retry-After %q, want 1", h.Get("Retry-After"))
			}
			busy++
		case status != http.StatusAccepted:
			t.Fatalf("POST while the queue fills: %d", status)
		case time.Now().After(deadline):
			t.Fatal("the inbox still accepts with 300 activities waiting")
		default:
			time.Sleep(50 * time.Millisecond) // the worker has not counted the queue yet
		}
	}
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
