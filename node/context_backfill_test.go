package node_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
)

// Backfill and forwarding across servers: a mirror on node B
// fills in what its remote thread said before anyone here followed it
// (the thread's context, FEP-7888, walked as FEP-f228 suggests), replies
// from third servers included; and a remote author's edit and deletion
// of its reply in a local thread reach the thread's followers, announced
// by the thread (FEP-1b12).

// replyNote is a Mastodon-shaped reply by a, published at its id.
func (a *fakeActor) replyNote(n int, inReplyTo, threadActor, content string) map[string]any {
	note := map[string]any{
		"@context":     "https://www.w3.org/ns/activitystreams",
		"id":           fmt.Sprintf("%s/statuses/%d", a.ID, n),
		"type":         "Note",
		"attributedTo": a.ID,
		"inReplyTo":    inReplyTo,
		"content":      "<p>" + content + "</p>",
		"published":    time.Now().UTC().Format(time.RFC3339),
		"to":           []string{"https://www.w3.org/ns/activitystreams#Public"},
		"cc":           []string{threadActor},
	}
	a.Server.Publish(note)
	return note
}

// sendCreate delivers a Create of note to a thread's inbox.
func (a *fakeActor) sendCreate(t testing.TB, threadActor string, note map[string]any) {
	t.Helper()
	if code := a.send(t, threadActor+"/inbox", map[string]any{"id": note["id"].(string) + "/activity", "type": "Create",
		"to": note["to"], "cc": note["cc"], "object": note}); code != http.StatusAccepted {
		t.Fatalf("Create: status %d", code)
	}
}

// threadIDs lists a thread's posts, oldest first, by ActivityPub id.
func (n *testNode) threadIDs(thread storage.ID) []string {
	n.t.Helper()
	posts, err := n.Store.PostsInRange(context.Background(), thread, 1, 1000)
	if err != nil {
		n.t.Fatal(err)
	}
	out := make([]string, len(posts))
	for i, p := range posts {
		if p.APID != nil {
			out[i] = *p.APID
		} else {
			out[i] = n.URLs.Post(p.ID)
		}
	}
	return out
}

// Backfill of a mirrored thread: node A's thread has 30 posts, one of them a
// reply from a third server, before bob on node B follows it. The first
// post announced to B starts B's mirror; B then walks the thread's
// context and ends up with every post in A's order, the third server's
// fetched from its own server; what comes later, from A or from the
// third server (announced by A by id, fetched by B), lands after it.
func TestMirrorBackfillsThreadContext(t *testing.T) {
	a, b := startNode(t), startNode(t)
	third := newFakeRemote(t, false)
	carol := third.actor("carol")
	alice, dave, bob := a.register("alice"), a.register("dave"), b.register("bob")
	thread := alice.newThread("Rye sours", "How sour do you keep yours?")
	threadActor := a.URLs.Thread(thread)
	for i := 2; i <= 30; i++ {
		if i == 15 {
			first := a.URLs.Post(mustThread(t, a, thread).firstPost())
			carol.sendCreate(t, threadActor, carol.replyNote(1, first, threadActor, "Very, and cold-fermented."))
			waitFor(t, "carol's reply in A's thread", waitLong, func() bool {
				_, err := a.Store.PostByAPID(context.Background(), carol.ID+"/statuses/1")
				return err == nil
			})
			continue
		}
		m := alice
		if i%2 == 0 {
			m = dave
		}
		m.reply(thread, fmt.Sprintf("Reply number %d.", i))
	}
	if n := len(a.threadIDs(thread)); n != 30 {
		t.Fatalf("A's thread has %d posts, want 30", n)
	}

	bob.post("/follow-remote", url.Values{"q": {threadActor}})
	b.waitFollowAccepted("A to accept bob's follow", bob.account().ID)
	alice.reply(thread, "Post 31, the first B hears of.")
	mirror := b.waitMirror("B's mirror", bob.account().ID, nil)
	want := a.threadIDs(thread)
	waitFor(t, "B's mirror to hold A's 31 posts in order", waitLong, func() bool {
		return slices.Equal(b.threadIDs(mirror), want)
	})
	m := mustThread(t, b, mirror)
	if first, err := b.Store.PostByID(context.Background(), m.firstPost()); err != nil || first.APID == nil ||
		*first.APID != a.URLs.Post(mustThread(t, a, thread).firstPost()) {
		t.Errorf("the mirror's first post is not A's first post")
	}
	if page := bob.get("/t/" + mirror.String()); !strings.Contains(page, "cold-fermented") ||
		!strings.Contains(page, "Reply number 2.") {
		t.Errorf("B's mirror page does not show the earlier posts")
	}

	// Later posts, a third server's among them, follow in order.
	carol.sendCreate(t, threadActor, carol.replyNote(2, a.URLs.Post(mustThread(t, a, thread).firstPost()), threadActor, "Back with a loaf."))
	// Live posts take their place in the mirror as they arrive, and
	// announces race each other: dave posts once carol's reply is there.
	waitFor(t, "carol's second reply, announced by A, in B's mirror", waitLong, func() bool {
		p, err := b.Store.PostByAPID(context.Background(), carol.ID+"/statuses/2")
		return err == nil && p.ThreadID == mirror
	})
	dave.reply(thread, "Post 33.")
	want = a.threadIDs(thread)
	if len(want) != 33 {
		t.Fatalf("A's thread has %d posts, want 33", len(want))
	}
	waitFor(t, "B's mirror to hold all 33 posts in order", waitLong, func() bool {
		return slices.Equal(b.threadIDs(mirror), want)
	})
}

// Forwarding a remote author's changes: a remote author edits and deletes its reply in A's
// thread; A's thread announces the Update and the Delete, as received, to
// the thread's followers. A moderator's removal of another of its
// replies is not the author's: nothing is forwarded for it.
func TestRemoteEditAndDeleteForwardedToThreadFollowers(t *testing.T) {
	a := startNode(t)
	authors, fans := newFakeRemote(t, false), newFakeRemote(t, false)
	carol, fan := authors.actor("carol"), fans.actor("fan")
	alice, mod := a.register("alice"), a.register("moira")
	thread := alice.newThread("Scoring", "One slash or three?")
	threadActor := a.URLs.Thread(thread)
	// The fan follows once the thread's own first post went out, so the
	// only Announce it gets is of carol's reply.
	waitFor(t, "the new thread's events to be processed", waitLong, a.drained)
	a.remoteFollow(fan, storage.FollowThread, thread)
	ctx := context.Background()

	first := a.URLs.Post(mustThread(t, a, thread).firstPost())
	note := carol.replyNote(1, first, threadActor, "One, at a shallow angle.")
	noteID := note["id"].(string)
	carol.sendCreate(t, threadActor, note)
	waitFor(t, "the thread to announce carol's reply", waitLong, func() bool {
		return len(fan.received("Announce")) == 1
	})

	edited := maps(note, map[string]any{"content": "<p>One, at a very shallow angle.</p>",
		"updated": time.Now().UTC().Format(time.RFC3339)})
	updateID := noteID + "#updates/1"
	carol.send(t, threadActor+"/inbox", map[string]any{"id": updateID, "type": "Update", "object": edited,
		"to": note["to"], "cc": note["cc"]})
	waitFor(t, "the thread to announce carol's Update", waitLong, func() bool {
		return len(announcedOf(fan, "Update")) == 1
	})
	fwd := announcedOf(fan, "Update")[0]
	if fwd["actor"] != threadActor || object(fwd)["id"] != updateID || object(fwd)["actor"] != carol.ID ||
		objectID(object(fwd)) != noteID {
		t.Errorf("forwarded Update = %v", fwd)
	}
	if p, err := a.Store.PostByAPID(ctx, noteID); err != nil || !strings.Contains(p.HTML, "very shallow") {
		t.Errorf("the edit did not apply at A: %v", err)
	}

	deleteID := noteID + "#delete"
	carol.send(t, threadActor+"/inbox", map[string]any{"id": deleteID, "type": "Delete",
		"object": map[string]any{"id": noteID, "type": "Tombstone"}, "to": note["to"]})
	waitFor(t, "the thread to announce carol's Delete", waitLong, func() bool {
		return len(announcedOf(fan, "Delete")) == 1
	})
	fwd = announcedOf(fan, "Delete")[0]
	if fwd["actor"] != threadActor || object(fwd)["id"] != deleteID || objectID(object(fwd)) != noteID {
		t.Errorf("forwarded Delete = %v", fwd)
	}
	if p, err := a.Store.PostByAPID(ctx, noteID); err != nil || !p.IsDeleted() {
		t.Errorf("the deletion did not apply at A: %v", err)
	}

	// A moderator's removal of carol's second reply: A's own doing, not
	// carol's, and not forwarded.
	second := carol.replyNote(2, first, threadActor, "Three for a baguette.")
	carol.sendCreate(t, threadActor, second)
	var secondPost *storage.Post
	waitFor(t, "carol's second reply at A", waitLong, func() bool {
		p, err := a.Store.PostByAPID(ctx, second["id"].(string))
		secondPost = p
		return err == nil
	})
	if err := a.Store.SetRole(ctx, mod.account().ID, storage.RoleModerator); err != nil {
		t.Fatal(err)
	}
	if err := a.Store.RemovePost(ctx, mod.account().ID, secondPost.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to drain", waitLong, a.drained)
	if n := len(announcedOf(fan, "Delete")); n != 1 {
		t.Errorf("the thread forwarded %d Deletes, want only carol's own", n)
	}
	if n := len(authors.received("", "")); n != 0 {
		t.Errorf("carol's server got %d activities, want none (it speaks for itself)", n)
	}
}

// announcedOf is what a fake actor got announced whose object is an
// activity of type typ.
func announcedOf(a *fakeActor, typ string) []map[string]any {
	var out []map[string]any
	for _, an := range a.received("Announce") {
		if o := object(an); o != nil && o["type"] == typ {
			out = append(out, an)
		}
	}
	return out
}

// maps is a copy of m with the entries of changes.
func maps(m, changes map[string]any) map[string]any {
	out := make(map[string]any, len(m)+len(changes))
	for k, v := range m {
		out[k] = v
	}
	for k, v := range changes {
		out[k] = v
	}
	return out
}
