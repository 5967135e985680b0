package outbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/federation/outbox"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// outboxItems walks an outbox from its first page and returns its
// totalItems and its items, each checked to be an Announce by actor.
func outboxItems(t *testing.T, n *testnode.Node, actor string) (float64, []map[string]any) {
	t.Helper()
	coll := n.Doc(site.Outbox(actor), http.StatusOK)
	var items []map[string]any
	next, _ := coll["first"].(string)
	for pages := 0; next != ""; pages++ {
		if pages > 20 {
			t.Fatal("outbox pages do not end")
		}
		page := n.Doc(next, http.StatusOK)
		if page["id"] != next || page["partOf"] != site.Outbox(actor) {
			t.Fatalf("page %s: %v", next, page)
		}
		for _, it := range page["orderedItems"].([]any) {
			m, _ := it.(map[string]any)
			if m["type"] != "Announce" || m["actor"] != actor {
				t.Fatalf("outbox item %v", it)
			}
			items = append(items, m)
		}
		next, _ = page["next"].(string)
	}
	total, _ := coll["totalItems"].(float64)
	return total, items
}

// A thread's and a forum's outboxes hold the Announces they sent, newest
// first, with the ids they were delivered with, and count them right; a
// member's counts what it lists.
func TestGroupOutboxesListWhatWasAnnounced(t *testing.T) {
	ctx := context.Background()
	n := testnode.New(t, nil)
	w := &outbox.Worker{Fed: n.Fed}
	fx := n.Fx
	masto := n.AddRemoteAccount("mastouser", "masto.example")
	for _, f := range []struct {
		kind string
		id   storage.ID
	}{{storage.FollowThread, fx.Thread.ID}, {storage.FollowForum, fx.Forum.ID}} {
		if _, err := n.Store.AddFollow(ctx, masto.ID, f.kind, f.id, nil, true); err != nil {
			t.Fatal(err)
		}
	}
	replies := storagetest.Replies(t, n.Store, fx.Thread.ID, fx.Bob.ID, 25)
	second, _, err := n.Store.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Bob.ID,
		Title: "Rye or spelt", Source: "Which?", HTML: "<p>Which?</p>"})
	if err != nil {
		t.Fatal(err)
	}
	gone, _, err := n.Store.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Bob.ID,
		Title: "Spam", Source: "Buy now.", HTML: "<p>Buy now.</p>"})
	if err != nil {
		t.Fatal(err)
	}

	// What the actors delivered, by id. The fixtures' events go first,
	// as they were before anyone followed.
	delivered := map[string]string{} // Announce id -> its actor
	events, err := n.Store.PendingEvents(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		acts, err := w.Activities(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range acts {
			var m map[string]any
			if err := json.Unmarshal(a.Body, &m); err != nil {
				t.Fatal(err)
			}
			if m["type"] == "Announce" {
				delivered[a.APID] = a.ActorID
			}
		}
	}
	if err := n.Store.DeletePost(ctx, replies[3].ID); err != nil {
		t.Fatal(err)
	}
	if err := n.Store.DeleteThread(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}

	thread := n.URLs.Thread(fx.Thread.ID)
	total, items := outboxItems(t, n, thread)
	var want []string // newest first
	for _, p := range slices.Backward(append(append([]*storage.Post{}, fx.Posts...), replies...)) {
		if p.ID != replies[3].ID {
			want = append(want, n.URLs.Post(p.ID))
		}
	}
	if total != float64(len(want)) || len(items) != len(want) {
		t.Fatalf("thread outbox: totalItems %v, %d items, want %d", total, len(items), len(want))
	}
	for i, it := range items {
		if it["object"] != want[i] {
			t.Fatalf("thread outbox item %d announces %v, want %s", i, it["object"], want[i])
		}
	}
	for _, it := range items[:len(replies)-1] { // the replies, announced after the follow
		if id, _ := it["id"].(string); delivered[id] != thread {
			t.Errorf("thread outbox item %s was not delivered under that id", id)
		}
	}

	forum := n.URLs.Forum("kitchen")
	total, items = outboxItems(t, n, forum)
	if total != 2 || len(items) != 2 || items[0]["object"] != n.URLs.Post(*second.FirstPostID) ||
		items[1]["object"] != n.URLs.Post(fx.Posts[0].ID) {
		t.Fatalf("forum outbox: totalItems %v, items %v", total, items)
	}
	if id, _ := items[0]["id"].(string); delivered[id] != forum {
		t.Errorf("forum outbox item %s was not delivered under that id", id)
	}

	// Bob's own outbox counts his live posts in live threads: his reply,
	// 24 of his 25 replies and the thread still there.
	if m := n.Doc(site.Outbox(n.URLs.Member("bob")), http.StatusOK); m["totalItems"] != float64(26) {
		t.Errorf("bob's outbox totalItems = %v, want 26", m["totalItems"])
	}

	// The instance actor announces nothing.
	if m := n.Doc(site.Outbox(n.URLs.InstanceActor()), http.StatusOK); m["totalItems"] != float64(0) {
		t.Errorf("instance outbox = %v", m)
	}
}
