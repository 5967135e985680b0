package inbox_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/federation/outbox"
	"github.com/skein-forum/skein/storage"
)

// rejectFor waits for the Reject of follow to reach the remote server and
// checks it names the followed actor and the Follow.
func rejectFor(t *testing.T, rs *testnode.RemoteServer, follow map[string]any, target string) {
	t.Helper()
	testnode.WaitFor(t, "the Reject of the follow of "+target, func() bool {
		for _, p := range rs.Posts() {
			obj, _ := p.Body["object"].(map[string]any)
			if p.Body["type"] == "Reject" && obj["id"] == follow["id"] {
				if p.Body["actor"] != target || obj["object"] != target {
					t.Fatalf("Reject = %v", p.Body)
				}
				return true
			}
		}
		return false
	})
}

// Every Follow of a local actor that the node will not honour is
// answered with a Reject signed by that actor, so the follower does not
// wait forever; nothing is stored.
func TestInboxRejectsFollowsItWillNotHonour(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	testnode.StartDelivery(t, n.Node)
	ctx := context.Background()
	rs := testnode.NewRemoteServer(t, "gotosocial")
	zed := rs.Actor("zed", "Person", 0)

	suspended, err := n.Store.CreateMember(ctx, storage.NewMember{Handle: "gone", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Store.SuspendAccount(ctx, n.Fx.Mod.ID, suspended.ID, true); err != nil {
		t.Fatal(err)
	}
	mirrors, err := n.Store.MirrorForum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doomed, _, err := n.Store.CreateThread(ctx, storage.NewThread{ForumID: n.Fx.Forum.ID, AuthorID: n.Fx.Bob.ID,
		Title: "Soon gone", Source: "Body.", HTML: "<p>Body.</p>"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Store.DeleteThread(ctx, doomed.ID); err != nil {
		t.Fatal(err)
	}

	follows := testnode.Count(t, n.Store, "SELECT count(*) FROM follows")
	for name, target := range map[string]string{
		"suspended member":   n.URLs.Member(suspended.Handle),
		"hidden forum":       n.URLs.Forum(mirrors.Slug),
		"deleted thread":     n.URLs.Thread(doomed.ID),
		"the instance actor": n.URLs.InstanceActor(),
	} {
		t.Run(name, func(t *testing.T) {
			follow := zed.Activity("Follow", target)
			n.Deliver(t, zed, follow)
			rejectFor(t, rs, follow, target)
		})
	}
	if got := testnode.Count(t, n.Store, "SELECT count(*) FROM follows"); got != follows {
		t.Errorf("%d follows stored, want the %d there were", got, follows)
	}
}

// In approval mode a registration does not exist to the fediverse until
// an admin approves it: no WebFinger answer, no Person, its Follows
// rejected and nothing sent in its name. Approved, it is a member like
// any other.
func TestUnapprovedRegistrationIsUnknown(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	testnode.StartDelivery(t, n.Node)
	ctx := context.Background()
	w := &outbox.Worker{Fed: n.Fed}
	pending, err := n.Store.CreateMember(ctx, storage.NewMember{Handle: "newcomer", PasswordHash: "x", ApprovalPending: true})
	if err != nil {
		t.Fatal(err)
	}
	person := n.URLs.Member(pending.Handle)
	unknown := func(t *testing.T) {
		t.Helper()
		for _, res := range []string{"acct:newcomer@" + n.URLs.Host(), person} {
			if resp, _ := n.WebFinger(res); resp.StatusCode != http.StatusNotFound {
				t.Errorf("WebFinger %s: %d, want 404", res, resp.StatusCode)
			}
		}
		for _, u := range []string{person, person + "/outbox", person + "/followers", person + "/featured"} {
			resp := n.Get(u, testnode.APAccept)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", u, resp.StatusCode)
			}
		}
	}
	unknown(t)

	rs := testnode.NewRemoteServer(t, "mastodon")
	zed := rs.Actor("zed", "Person", 0)
	follow := zed.Activity("Follow", person)
	n.Deliver(t, zed, follow)
	rejectFor(t, rs, follow, person)
	if got, _ := n.Store.CountFollowers(ctx, storage.FollowAccount, pending.ID); got != 0 {
		t.Fatalf("%d followers of an unapproved registration", got)
	}

	// What it writes sends nothing, though the thread has a remote
	// follower.
	yan := n.AddRemoteAccount("yan", "remote.example")
	if _, err := n.Store.AddFollow(ctx, yan.ID, storage.FollowThread, n.Fx.Thread.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	activities := func() int {
		t.Helper()
		events, err := n.Store.PendingEvents(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		sent := 0
		for _, ev := range events {
			acts, err := w.Activities(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Store.CompleteEvent(ctx, ev.ID, acts); err != nil {
				t.Fatal(err)
			}
			sent += len(acts)
		}
		return sent
	}
	activities() // the fixtures' own
	if _, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: n.Fx.Thread.ID, AuthorID: pending.ID,
		Source: "Hello.", HTML: "<p>Hello.</p>"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Store.LikePost(ctx, n.Fx.Posts[0].ID, pending.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := activities(); got != 0 {
		t.Errorf("an unapproved registration's post and like sent %d activities", got)
	}

	if err := n.Store.ApproveMember(ctx, n.Fx.Mod.ID, pending.ID, nil); err != nil {
		t.Fatal(err)
	}
	if resp, _ := n.WebFinger("acct:newcomer@" + n.URLs.Host()); resp.StatusCode != http.StatusOK {
		t.Errorf("WebFinger after approval: %d", resp.StatusCode)
	}
	n.Doc(person, http.StatusOK)
	if _, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: n.Fx.Thread.ID, AuthorID: pending.ID,
		Source: "Approved now.", HTML: "<p>Approved now.</p>"}); err != nil {
		t.Fatal(err)
	}
	if got := activities(); got == 0 {
		t.Error("an approved member's post in a followed thread sent nothing")
	}
}
