package node_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/skein-forum/skein/storage"
)

// A remote server sends a Create and, at once, the Delete of the same
// Note, sixty times: none of the notes may stay visible. Then what a
// server retrying out of order sends: a Delete before its Create, an Undo
// before its Like or its Follow; what was withdrawn is not taken in when
// it comes. One node on SQLite, real HTTP and signatures.
func TestActivitiesOfOneActorApplyInOrder(t *testing.T) {
	a := startNode(t)
	alice := a.register("alice")
	thread := alice.newThread("Proofing times", "How long do you proof a rye loaf?")
	threadURL := a.URLs.Thread(thread)
	remote := newFakeRemote(t, true)
	zed := remote.actor("zed")
	inbox := a.URLs.SharedInbox()

	const pairs = 60
	for i := range pairs {
		note := zed.Note(threadURL, fmt.Sprintf("Gone soon, number %d.", i))
		if code := zed.send(t, inbox, zed.Create(note)); code != http.StatusAccepted {
			t.Fatalf("create %d: status %d", i, code)
		}
		if code := zed.send(t, inbox, zed.Delete(note)); code != http.StatusAccepted {
			t.Fatalf("delete %d: status %d", i, code)
		}
	}
	// Withdrawn before they arrived.
	late := zed.Note(threadURL, "Deleted before it was created.")
	zed.send(t, inbox, zed.Delete(late))
	first := a.URLs.Post(mustThread(t, a, thread).firstPost())
	like := zed.Like(first, a.URLs.Member("alice"))
	zed.send(t, inbox, zed.Undo(like))
	follow := zed.Follow(threadURL)
	zed.send(t, inbox, zed.Undo(follow))
	waitFor(t, "the withdrawals to be applied", waitLong, a.inboxSettled)
	zed.send(t, inbox, zed.Create(late))
	zed.send(t, inbox, like)
	zed.send(t, inbox, follow)
	// A reply nobody deletes shows the Creates were applied at all.
	stays := zed.Note(threadURL, "This one stays.")
	zed.send(t, inbox, zed.Create(stays))
	waitFor(t, "the inbox to settle", waitLong, a.inboxSettled)

	ctx := context.Background()
	if p, err := a.Store.PostByAPID(ctx, objectID(map[string]any{"object": stays})); err != nil || p.IsDeleted() {
		t.Fatalf("the reply that was not deleted is missing (%v)", err)
	}
	if page := alice.get("/t/" + thread.String()); strings.Contains(page, "Gone soon") || strings.Contains(page, "Deleted before it was created") {
		t.Error("a deleted note is visible on the thread's page")
	}
	zedAccount, err := a.Store.AccountByAPID(ctx, zed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := a.count(t, fmt.Sprintf("SELECT count(*) FROM posts WHERE author_id = %d AND deleted_at IS NULL", zedAccount.ID)); n != 1 {
		t.Errorf("zed has %d live posts, want 1: %d of %d deleted notes are visible", n, n-1, pairs+1)
	}
	if n := a.count(t, fmt.Sprintf("SELECT count(*) FROM likes WHERE account_id = %d", zedAccount.ID)); n != 0 {
		t.Error("a Like undone before it arrived was counted")
	}
	if n := a.remoteFollowers(storage.FollowThread, thread); n != 0 {
		t.Error("a Follow undone before it arrived was accepted")
	}
}
