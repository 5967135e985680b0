package inbox_test

import (
	"context"
	"strings"
	"testing"

	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/storage"
)

// Flags in the shapes other servers send: Lemmy reports one post to the
// community with an HTML-free reason and a target; a report about a
// remote reply in a thread here is filed too; a Flag naming nothing here
// files nothing.
func TestInboxFlagShapes(t *testing.T) {
	ctx := context.Background()
	n := testnode.NewInboxNode(t, nil)
	rs := testnode.NewRemoteServer(t, "gotosocial")
	reporter := rs.Actor("reporter", "Person", 0)

	lemmyFlag := reporter.Activity("Flag", n.URLs.Post(n.Fx.Posts[1].ID))
	lemmyFlag["content"] = "<p>Off <b>topic</b></p>"
	lemmyFlag["target"] = n.URLs.Forum(n.Fx.Forum.Slug)
	n.Deliver(t, reporter, lemmyFlag)

	other := n.AddRemoteAccount("replier", "elsewhere.example")
	noteID := "https://elsewhere.example/users/replier/statuses/1"
	remote, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: n.Fx.Thread.ID, AuthorID: other.ID,
		HTML: "<p>Hello</p>", APID: &noteID, URL: noteID})
	if err != nil {
		t.Fatal(err)
	}
	n.Deliver(t, reporter, reporter.Activity("Flag", []any{*other.APID, noteID}))

	n.Deliver(t, reporter, reporter.Activity("Flag", []any{"https://nowhere.example/users/x"}))
	if !strings.Contains(n.LastError(t), "names nothing") {
		t.Errorf("a Flag of nothing here: %q", n.LastError(t))
	}

	reports, err := n.Store.ListReports(ctx, "", 0, 10)
	if err != nil || len(reports) != 2 {
		t.Fatalf("reports = %+v, %v", reports, err)
	}
	if r := reports[0]; r.PostID == nil || *r.PostID != n.Fx.Posts[1].ID || r.Reason != "Off topic" || r.Reporter.Handle != "reporter" {
		t.Errorf("Lemmy's report: post %v, reason %q", r.PostID, r.Reason)
	}
	if r := reports[1]; r.PostID == nil || *r.PostID != remote.ID || r.AccountID != other.ID {
		t.Errorf("report of a remote reply: post %v, account %v", r.PostID, r.AccountID)
	}
}
