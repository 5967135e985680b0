package inbox_test

import (
	"context"
	"strings"
	"testing"

	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/storage"
)

// FEP-f228 / FEP-7888: the first announce of a followed group's thread
// starts a mirror, and the thread's context fills it in, in the context's
// order. A Note embedded in the context is believed only from the
// context's own host; one claiming another server is fetched from there.
func TestInboxWalksMirrorContext(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	rs := testnode.NewRemoteServer(t, "mastodon")
	group, amy := rs.Actor("bakers", "Group", 0), rs.Actor("amy", "Person", 1)
	third := testnode.NewRemoteServer(t, "gotosocial")
	yan := third.Actor("yan", "Person", 2)
	ctx := context.Background()
	acc, err := n.Fed.ResolveActor(ctx, group.ID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Store.AddFollow(ctx, n.Fx.Bob.ID, storage.FollowAccount, acc.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	path := func(rs *testnode.RemoteServer, id string) string { return strings.TrimPrefix(id, rs.Srv.URL) }
	thread := rs.Srv.URL + "/c/42"
	inThread := func(note map[string]any) map[string]any {
		note["context"] = thread
		delete(note, "replies")
		return note
	}
	first := inThread(amy.Note("", "<p>Show us your loaves.</p>"))
	first["name"] = "Loaf pictures"
	second := inThread(amy.Note(first["id"].(string), "<p>Mine rose well.</p>"))
	rs.Put(path(rs, second["id"].(string)), second)
	answer := yan.Note(first["id"].(string), "<p>Genuine words of yan.</p>")
	delete(answer, "replies")
	third.Put(path(third, answer["id"].(string)), answer)
	forged := copyMap(answer)
	forged["content"] = "<p>Words put in yan's mouth.</p>"
	latest := inThread(amy.Note(second["id"].(string), "<p>Latest.</p>"))
	rs.Put(path(rs, latest["id"].(string)), latest)
	rs.Put("/c/42", map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": thread, "type": "OrderedCollection",
		"first": map[string]any{"type": "OrderedCollectionPage", "partOf": thread, "orderedItems": []any{
			first,
			map[string]any{"id": rs.Srv.URL + "/statuses/gone", "type": "Tombstone"},
			second["id"],
			forged,
			latest["id"],
		}},
	})

	n.Deliver(t, group, group.Activity("Announce", latest["id"]))
	n.Settle(t) // the walk
	mirror, err := n.Store.ThreadByAPID(ctx, thread)
	if err != nil {
		t.Fatalf("no mirror: %v", err)
	}
	posts, err := n.Store.PostsInRange(ctx, mirror.ID, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{first["id"].(string), second["id"].(string), answer["id"].(string), latest["id"].(string)}
	if len(posts) != len(want) {
		t.Fatalf("mirror has %d posts, want %d", len(posts), len(want))
	}
	for i, p := range posts {
		if p.APID == nil || *p.APID != want[i] {
			t.Errorf("position %d: %v, want %s", i+1, p.APID, want[i])
		}
	}
	if !strings.Contains(posts[2].HTML, "Genuine") {
		t.Errorf("yan's reply reads %q, want what yan's server serves", posts[2].HTML)
	}
	if again, _ := n.Store.ThreadByID(ctx, mirror.ID); again == nil || *again.FirstPostID != posts[0].ID {
		t.Error("the mirror's first post is not the thread's first")
	}
}

// A Note may name any URL as its context: only a context on the host of
// the group that announced it is walked.
func TestInboxMirrorContextOnAnotherHostNotWalked(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	rs := testnode.NewRemoteServer(t, "mastodon")
	group, amy := rs.Actor("bakers", "Group", 0), rs.Actor("amy", "Person", 1)
	victim := testnode.NewRemoteServer(t, "mastodon")
	ctx := context.Background()
	acc, err := n.Fed.ResolveActor(ctx, group.ID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Store.AddFollow(ctx, n.Fx.Bob.ID, storage.FollowAccount, acc.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	elsewhere := victim.Srv.URL + "/c/1"
	victim.Put("/c/1", map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": elsewhere,
		"type": "OrderedCollection", "orderedItems": []any{}})
	note := amy.Note("", "<p>Hello.</p>")
	note["context"] = elsewhere
	delete(note, "replies")
	rs.Put(strings.TrimPrefix(note["id"].(string), rs.Srv.URL), note)
	n.Deliver(t, group, group.Activity("Announce", note["id"]))
	n.Settle(t)
	if _, err := n.Store.ThreadByAPID(ctx, elsewhere); err != nil {
		t.Fatalf("no mirror: %v", err)
	}
	if got := n.LastError(t); !strings.Contains(got, "not on the host of its group") {
		t.Errorf("the walk ended with %q", got)
	}
}
