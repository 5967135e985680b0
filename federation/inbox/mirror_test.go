package inbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/storage"
)

// groupNode is a node on which Bob follows bakers, a Mastodon-style
// group whose member amy writes in its threads: the start of every
// mirror.
func groupNode(t *testing.T) (n *testnode.InboxNode, rs *testnode.RemoteServer, group, amy *testnode.RemoteActor) {
	t.Helper()
	n = testnode.NewInboxNode(t, nil)
	rs = testnode.NewRemoteServer(t, "mastodon")
	group, amy = rs.Actor("bakers", "Group", 0), rs.Actor("amy", "Person", 1)
	n.Follow(t, n.Fx.Bob, group)
	return n, rs, group, amy
}

// inThread makes note a post of the remote thread whose context is
// thread, without a replies collection to walk.
func inThread(note map[string]any, thread string) map[string]any {
	note["context"] = thread
	delete(note, "replies")
	return note
}

// A mirror shows a remote group's thread as the group moderates it: a
// stranger's Create or boost of a Note naming the thread stays out, a
// reply addressed to the group by someone the group let in before gets
// in, and what the group announces gets in whoever wrote it.
func TestInboxMirrorTakesWhatItsGroupAnnounced(t *testing.T) {
	n, rs, group, amy := groupNode(t)
	evil := testnode.NewRemoteServer(t, "mastodon")
	eve := evil.Actor("eve", "Person", 2)
	ctx := context.Background()
	thread := rs.Srv.URL + "/c/42"
	note := func(by *testnode.RemoteActor, inReplyTo, text string, to ...string) map[string]any {
		m := inThread(by.Note(inReplyTo, "<p>"+text+"</p>"), thread)
		if len(to) > 0 {
			m["cc"] = []any{to[0]}
		}
		srv := rs
		if by == eve {
			srv = evil
		}
		srv.Put(strings.TrimPrefix(m["id"].(string), srv.Srv.URL), m)
		return m
	}
	first := note(amy, "", "Show us your loaves.")
	first["name"] = "Loaf pictures"
	n.Deliver(t, group, group.Activity("Announce", first["id"]))
	mirror, err := n.Store.ThreadByAPID(ctx, thread)
	if err != nil {
		t.Fatalf("no mirror: %v", err)
	}
	outcome := func(act map[string]any) string {
		var s string
		if err := n.Store.DB().NewRaw("SELECT last_error FROM inbox_items WHERE activity_id = ?", act["id"]).Scan(ctx, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	absent := func(what string, m map[string]any, act map[string]any) {
		t.Helper()
		if _, err := n.Store.PostByAPID(ctx, m["id"].(string)); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s is in the mirror (err %v)", what, err)
		}
		if got := outcome(act); !strings.Contains(got, "not announced by its group") {
			t.Errorf("%s: outcome %q", what, got)
		}
	}

	spam := note(eve, first["id"].(string), "Buy cheap flour at evil.example!")
	create := eve.Create(spam)
	n.Deliver(t, eve, create)
	absent("a stranger's reply", spam, create)

	addressed := note(eve, first["id"].(string), "Addressed to the group, never let in.", group.ID())
	create = eve.Create(addressed)
	n.Deliver(t, eve, create)
	absent("a stranger's reply addressed to the group", addressed, create)

	boost := eve.Activity("Announce", spam["id"])
	n.Deliver(t, eve, boost)
	absent("a stranger's boost", spam, boost)

	// amy is in the thread already: her reply to the group gets in.
	reply := note(amy, first["id"].(string), "Mine rose well.", group.ID())
	n.Deliver(t, amy, amy.Create(reply))
	if p := n.StoredPost(t, reply["id"].(string)); p.ThreadID != mirror.ID {
		t.Error("amy's reply to the group is not in the mirror")
	}
	// Not addressed to the group: it waits for the group's announce.
	aside := note(amy, first["id"].(string), "An aside to my followers.")
	create = amy.Create(aside)
	n.Deliver(t, amy, create)
	absent("a member's reply not addressed to the group", aside, create)

	// What the group accepts gets in, whoever wrote it.
	n.Deliver(t, group, group.Activity("Announce", addressed["id"]))
	if p := n.StoredPost(t, addressed["id"].(string)); p.ThreadID != mirror.ID {
		t.Error("the group's announce of eve's reply is not in the mirror")
	}
}
