package federation_test

import (
	"context"
	"strings"
	"testing"

	"github.com/skein-forum/skein/storage"
)

// FEP-f228 / FEP-7888: the first announce of a followed group's thread
// starts a mirror, and the thread's context fills it in, in the context's
// order. A Note embedded in the context is believed only from the
// context's own host; one claiming another server is fetched from there.
func TestInboxWalksMirrorContext(t *testing.T) {
	n := newInboxNode(t, nil)
	rs := newRemoteServer(t, "mastodon")
	group, amy := rs.actor("bakers", "Group", 0), rs.actor("amy", "Person", 1)
	third := newRemoteServer(t, "gotosocial")
	yan := third.actor("yan", "Person", 2)
	ctx := context.Background()
	acc, err := n.fed.ResolveActor(ctx, group.id())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.store.AddFollow(ctx, n.fx.Bob.ID, storage.FollowAccount, acc.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	path := func(rs *remoteServer, id string) string { return strings.TrimPrefix(id, rs.srv.URL) }
	thread := rs.srv.URL + "/c/42"
	inThread := func(note map[string]any) map[string]any {
		note["context"] = thread
		delete(note, "replies")
		return note
	}
	first := inThread(amy.note("", "<p>Show us your loaves.</p>"))
	first["name"] = "Loaf pictures"
	second := inThread(amy.note(first["id"].(string), "<p>Mine rose well.</p>"))
	rs.put(path(rs, second["id"].(string)), second)
	answer := yan.note(first["id"].(string), "<p>Genuine words of yan.</p>")
	delete(answer, "replies")
	third.put(path(third, answer["id"].(string)), answer)
	forged := copyMap(answer)
	forged["content"] = "<p>Words put in yan's mouth.</p>"
	latest := inThread(amy.note(second["id"].(string), "<p>Latest.</p>"))
	rs.put(path(rs, latest["id"].(string)), latest)
	rs.put("/c/42", map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": thread, "type": "OrderedCollection",
		"first": map[string]any{"type": "OrderedCollectionPage", "partOf": thread, "orderedItems": []any{
			first,
			map[string]any{"id": rs.srv.URL + "/statuses/gone", "type": "Tombstone"},
			second["id"],
			forged,
			latest["id"],
		}},
	})

	n.deliver(t, group, group.activity("Announce", latest["id"]))
	n.settle(t) // the walk
	mirror, err := n.store.ThreadByAPID(ctx, thread)
	if err != nil {
		t.Fatalf("no mirror: %v", err)
	}
	posts, err := n.store.PostsInRange(ctx, mirror.ID, 1, 100)
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
	if again, _ := n.store.ThreadByID(ctx, mirror.ID); again == nil || *again.FirstPostID != posts[0].ID {
		t.Error("the mirror's first post is not the thread's first")
	}
}

// A Note may name any URL as its context: only a context on the host of
// the group that announced it is walked.
func TestInboxMirrorContextOnAnotherHostNotWalked(t *testing.T) {
	n := newInboxNode(t, nil)
	rs := newRemoteServer(t, "mastodon")
	group, amy := rs.actor("bakers", "Group", 0), rs.actor("amy", "Person", 1)
	victim := newRemoteServer(t, "mastodon")
	ctx := context.Background()
	acc, err := n.fed.ResolveActor(ctx, group.id())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.store.AddFollow(ctx, n.fx.Bob.ID, storage.FollowAccount, acc.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	elsewhere := victim.srv.URL + "/c/1"
	victim.put("/c/1", map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": elsewhere,
		"type": "OrderedCollection", "orderedItems": []any{}})
	note := amy.note("", "<p>Hello.</p>")
	note["context"] = elsewhere
	delete(note, "replies")
	rs.put(strings.TrimPrefix(note["id"].(string), rs.srv.URL), note)
	n.deliver(t, group, group.activity("Announce", note["id"]))
	n.settle(t)
	if _, err := n.store.ThreadByAPID(ctx, elsewhere); err != nil {
		t.Fatalf("no mirror: %v", err)
	}
	if got := n.lastError(t); !strings.Contains(got, "not on the host of its group") {
		t.Errorf("the walk ended with %q", got)
	}
}
