package outbox_test

import (
	"context"
	"testing"

	"github.com/skein-forum/skein/federation"
	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/federation/outbox"
	"github.com/skein-forum/skein/storage"
)

// What moderation events send: a forwarded report is a Flag from the
// instance actor with an array object; a moved thread a Move of its
// context from the new forum to the thread's and both forums' followers;
// a deleted account one Delete{Person} to every known server but blocked
// ones, and never to suspended actors.
func TestModerationActivities(t *testing.T) {
	ctx := context.Background()
	n := testnode.New(t, func(c *federation.Config) {
		c.BlockedDomain = func(h string) bool { return h == "blocked.example" }
	})
	w := &outbox.Worker{Fed: n.Fed}
	fx := n.Fx
	activitiesOf(t, w, n.Store, "")

	masto := n.AddRemoteAccount("mastouser", "masto.example")
	peer := n.AddRemoteAccount("peer", "masto.example")
	troll := n.AddRemoteAccount("troll", "tiny.example")
	n.AddRemoteAccount("spammer", "blocked.example")
	for _, a := range []*storage.Account{masto, troll} {
		if _, err := n.Store.AddFollow(ctx, a.ID, storage.FollowThread, fx.Thread.ID, nil, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.Store.AddFollow(ctx, peer.ID, storage.FollowForum, fx.Forum.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	if err := n.Store.SuspendAccount(ctx, storage.Operator, troll.ID, true); err != nil {
		t.Fatal(err)
	}

	noteID := "https://masto.example/users/mastouser/statuses/7"
	remote, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: masto.ID, HTML: "<p>Spam</p>", APID: &noteID, URL: noteID})
	if err != nil {
		t.Fatal(err)
	}
	r, err := n.Store.CreateReport(ctx, storage.NewReport{ReporterID: fx.Bob.ID, PostID: &remote.ID, Reason: "Spam"})
	if err != nil {
		t.Fatal(err)
	}
	activitiesOf(t, w, n.Store, "")
	if err := n.Store.ForwardReport(ctx, storage.Operator, r.ID); err != nil {
		t.Fatal(err)
	}
	acts := activitiesOf(t, w, n.Store, storage.EventReportForward)
	flag, ok := acts["Flag "+n.URLs.InstanceActor()]
	if !ok || len(flag.Inboxes) != 1 || flag.Inboxes[0].Inbox != masto.Inbox || flag.KeyOwnerKind != storage.KeyOwnerInstance {
		t.Fatalf("forwarded report = %+v", acts)
	}
	if m := decode(t, flag.Body); m["content"] != "Spam" || !sameList(m["object"], *masto.APID, noteID) {
		t.Errorf("Flag = %v", m)
	}

	second, err := n.Store.CreateForum(ctx, storage.NewForum{Slug: "second", Title: "Second"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Store.MoveThread(ctx, storage.Operator, fx.Thread.ID, second.ID); err != nil {
		t.Fatal(err)
	}
	acts = activitiesOf(t, w, n.Store, storage.EventThreadMove)
	move, ok := acts["Move "+n.URLs.Forum("second")]
	if !ok || len(acts) != 1 {
		t.Fatalf("move = %v", acts)
	}
	m := decode(t, move.Body)
	if m["origin"] != n.URLs.Forum(fx.Forum.Slug) || m["target"] != n.URLs.Forum("second") {
		t.Errorf("Move origin %v target %v", m["origin"], m["target"])
	}
	if obj, _ := m["object"].(map[string]any); obj == nil || obj["id"] != n.URLs.ThreadPosts(fx.Thread.ID) || obj["type"] != "OrderedCollection" {
		t.Errorf("Move object = %v", m["object"])
	}
	inboxes := map[string]bool{}
	for _, to := range move.Inboxes {
		inboxes[to.Inbox] = true
	}
	if !inboxes[masto.Inbox] || !inboxes[peer.Inbox] || inboxes[troll.Inbox] || len(inboxes) != 2 {
		t.Errorf("Move goes to %v; want the thread's and the forum's followers, not the suspended one", inboxes)
	}

	if err := n.Store.DeleteOwnAccount(ctx, fx.Alice.ID); err != nil {
		t.Fatal(err)
	}
	acts = activitiesOf(t, w, n.Store, storage.EventAccountDelete)
	del, ok := acts["Delete "+n.URLs.Member(fx.Alice.Handle)]
	if !ok {
		t.Fatalf("account delete = %v", acts)
	}
	if m := decode(t, del.Body); m["object"] != n.URLs.Member(fx.Alice.Handle) {
		t.Errorf("Delete object = %v", m["object"])
	}
	inboxes = map[string]bool{}
	for _, to := range del.Inboxes {
		inboxes[to.Inbox] = true
	}
	if !inboxes[masto.Inbox] || !inboxes[peer.Inbox] || inboxes[troll.Inbox] || len(inboxes) != 2 {
		t.Errorf("Delete{Person} goes to %v; want every known server but blocked ones and suspended actors", inboxes)
	}
}

func sameList(v any, want ...string) bool {
	arr, ok := v.([]any)
	if !ok || len(arr) != len(want) {
		return false
	}
	for i := range arr {
		if arr[i] != want[i] {
			return false
		}
	}
	return true
}
