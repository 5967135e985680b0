package federation_test

import (
	"context"
	"strings"
	"testing"

	"github.com/skein-forum/skein/federation"
	"github.com/skein-forum/skein/storage"
)

// Flags in the shapes other servers send: Lemmy reports one post to the
// community with an HTML-free reason and a target; a report about a
// remote reply in a thread here is filed too; a Flag naming nothing here
// files nothing.
func TestInboxFlagShapes(t *testing.T) {
	ctx := context.Background()
	n := newInboxNode(t, nil)
	rs := newRemoteServer(t, "gotosocial")
	reporter := rs.actor("reporter", "Person", 0)

	lemmyFlag := reporter.activity("Flag", n.urls.Post(n.fx.Posts[1].ID))
	lemmyFlag["content"] = "<p>Off <b>topic</b></p>"
	lemmyFlag["target"] = n.urls.Forum(n.fx.Forum.Slug)
	n.deliver(t, reporter, lemmyFlag)

	other := n.addRemoteAccount("replier", "elsewhere.example")
	noteID := "https://elsewhere.example/users/replier/statuses/1"
	remote, err := n.store.CreatePost(ctx, storage.NewPost{ThreadID: n.fx.Thread.ID, AuthorID: other.ID,
		HTML: "<p>Hello</p>", APID: &noteID, URL: noteID})
	if err != nil {
		t.Fatal(err)
	}
	n.deliver(t, reporter, reporter.activity("Flag", []any{*other.APID, noteID}))

	n.deliver(t, reporter, reporter.activity("Flag", []any{"https://nowhere.example/users/x"}))
	if !strings.Contains(n.lastError(t), "names nothing") {
		t.Errorf("a Flag of nothing here: %q", n.lastError(t))
	}

	reports, err := n.store.ListReports(ctx, "", 0, 10)
	if err != nil || len(reports) != 2 {
		t.Fatalf("reports = %+v, %v", reports, err)
	}
	if r := reports[0]; r.PostID == nil || *r.PostID != n.fx.Posts[1].ID || r.Reason != "Off topic" || r.Reporter.Handle != "reporter" {
		t.Errorf("Lemmy's report: post %v, reason %q", r.PostID, r.Reason)
	}
	if r := reports[1]; r.PostID == nil || *r.PostID != remote.ID || r.AccountID != other.ID {
		t.Errorf("report of a remote reply: post %v, account %v", r.PostID, r.AccountID)
	}
}

// What moderation events send: a forwarded report is a Flag from the
// instance actor with an array object; a moved thread a Move of its
// context from the new forum to the thread's and both forums' followers;
// a deleted account one Delete{Person} to every known server but blocked
// ones, and never to suspended actors.
func TestModerationActivities(t *testing.T) {
	ctx := context.Background()
	n := newNode(t, func(c *federation.Config) {
		c.BlockedDomain = func(h string) bool { return h == "blocked.example" }
	})
	w := &federation.OutboxWorker{Server: n.fed}
	fx := n.fx
	activitiesOf(t, w, n.store, "")

	masto := n.addRemoteAccount("mastouser", "masto.example")
	peer := n.addRemoteAccount("peer", "masto.example")
	troll := n.addRemoteAccount("troll", "tiny.example")
	n.addRemoteAccount("spammer", "blocked.example")
	for _, a := range []*storage.Account{masto, troll} {
		if _, err := n.store.AddFollow(ctx, a.ID, storage.FollowThread, fx.Thread.ID, nil, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.store.AddFollow(ctx, peer.ID, storage.FollowForum, fx.Forum.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	if err := n.store.SuspendAccount(ctx, storage.Operator, troll.ID, true); err != nil {
		t.Fatal(err)
	}

	noteID := "https://masto.example/users/mastouser/statuses/7"
	remote, err := n.store.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: masto.ID, HTML: "<p>Spam</p>", APID: &noteID, URL: noteID})
	if err != nil {
		t.Fatal(err)
	}
	r, err := n.store.CreateReport(ctx, storage.NewReport{ReporterID: fx.Bob.ID, PostID: &remote.ID, Reason: "Spam"})
	if err != nil {
		t.Fatal(err)
	}
	activitiesOf(t, w, n.store, "")
	if err := n.store.ForwardReport(ctx, storage.Operator, r.ID); err != nil {
		t.Fatal(err)
	}
	acts := activitiesOf(t, w, n.store, storage.EventReportForward)
	flag, ok := acts["Flag "+n.urls.InstanceActor()]
	if !ok || len(flag.Inboxes) != 1 || flag.Inboxes[0].Inbox != masto.Inbox || flag.KeyOwnerKind != storage.KeyOwnerInstance {
		t.Fatalf("forwarded report = %+v", acts)
	}
	if m := decode(t, flag.Body); m["content"] != "Spam" || !sameList(m["object"], *masto.APID, noteID) {
		t.Errorf("Flag = %v", m)
	}

	second, err := n.store.CreateForum(ctx, storage.NewForum{Slug: "second", Title: "Second"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.store.MoveThread(ctx, storage.Operator, fx.Thread.ID, second.ID); err != nil {
		t.Fatal(err)
	}
	acts = activitiesOf(t, w, n.store, storage.EventThreadMove)
	move, ok := acts["Move "+n.urls.Forum("second")]
	if !ok || len(acts) != 1 {
		t.Fatalf("move = %v", acts)
	}
	m := decode(t, move.Body)
	if m["origin"] != n.urls.Forum(fx.Forum.Slug) || m["target"] != n.urls.Forum("second") {
		t.Errorf("Move origin %v target %v", m["origin"], m["target"])
	}
	if obj, _ := m["object"].(map[string]any); obj == nil || obj["id"] != n.urls.ThreadPosts(fx.Thread.ID) || obj["type"] != "OrderedCollection" {
		t.Errorf("Move object = %v", m["object"])
	}
	inboxes := map[string]bool{}
	for _, to := range move.Inboxes {
		inboxes[to.Inbox] = true
	}
	if !inboxes[masto.Inbox] || !inboxes[peer.Inbox] || inboxes[troll.Inbox] || len(inboxes) != 2 {
		t.Errorf("Move goes to %v; want the thread's and the forum's followers, not the suspended one", inboxes)
	}

	if err := n.store.DeleteOwnAccount(ctx, fx.Alice.ID); err != nil {
		t.Fatal(err)
	}
	acts = activitiesOf(t, w, n.store, storage.EventAccountDelete)
	del, ok := acts["Delete "+n.urls.Member(fx.Alice.Handle)]
	if !ok {
		t.Fatalf("account delete = %v", acts)
	}
	if m := decode(t, del.Body); m["object"] != n.urls.Member(fx.Alice.Handle) {
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
