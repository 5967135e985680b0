package storage_test

import (
	"context"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// Suspended actors are seen at once by the in-memory lookups; known
// inboxes list each shared inbox once and leave suspended actors out;
// held follows are listed for approval. On both databases.
func TestSuspendedActorsKnownInboxesFollowRequests(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		zoe := remoteFollower(t, s, fx.Forum.ID, "lemmy.example", "zoe", true)
		yan := remoteFollower(t, s, fx.Forum.ID, "lemmy.example", "yan", true)
		xi := remoteFollower(t, s, fx.Forum.ID, "tiny.example", "xi", false)
		troll := remoteFollower(t, s, fx.Forum.ID, "tiny.example", "troll", false)
		trollAPID := "https://tiny.example/users/troll"

		// Read once, so the snapshot is cached before the suspension.
		if got, err := s.ActorSuspended(ctx, trollAPID); err != nil || got {
			t.Fatalf("before: %v, %v", got, err)
		}
		if err := s.SuspendAccount(ctx, storage.Operator, troll.FollowerID, true); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ActorSuspended(ctx, trollAPID); !got {
			t.Fatal("ActorSuspended does not see the suspension")
		}
		if got, _ := s.AccountSuspended(ctx, troll.FollowerID); !got {
			t.Fatal("AccountSuspended does not see the suspension")
		}
		if got, _ := s.InboxSuspended(ctx, troll.Inbox); !got {
			t.Fatal("InboxSuspended does not see the suspension")
		}
		if got, _ := s.InboxSuspended(ctx, xi.Inbox); got {
			t.Fatal("a neighbour's inbox counts as suspended")
		}

		all, err := s.KnownInboxes(ctx, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{zoe.SharedInbox: true, xi.Inbox: true}
		if len(all) != len(want) {
			t.Fatalf("known inboxes = %+v, want %v", all, want)
		}
		for _, k := range all {
			if !want[k.Inbox] || k.Domain == "" {
				t.Errorf("unexpected known inbox %+v", k)
			}
		}
		if page, _ := s.KnownInboxes(ctx, all[0].Inbox, 10); len(page) != 1 || page[0].Inbox != all[1].Inbox {
			t.Errorf("second page = %+v", page)
		}
		_ = yan

		if err := s.SuspendAccount(ctx, storage.Operator, troll.FollowerID, false); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ActorSuspended(ctx, trollAPID); got {
			t.Fatal("still suspended after restoring")
		}

		followID := "https://lemmy.example/users/zoe#follow-alice"
		held, err := s.AddFollow(ctx, zoe.FollowerID, storage.FollowAccount, fx.Alice.ID, &followID, false)
		if err != nil {
			t.Fatal(err)
		}
		// A member's own pending follow of a remote actor is not a request.
		if _, err := s.AddFollow(ctx, fx.Alice.ID, storage.FollowAccount, yan.FollowerID, nil, false); err != nil {
			t.Fatal(err)
		}
		reqs, err := s.PendingFollowRequests(ctx, 10)
		if err != nil || len(reqs) != 1 || reqs[0].ID != held.ID || reqs[0].Follower == nil || reqs[0].Follower.Handle != "zoe" {
			t.Fatalf("follow requests = %+v, %v", reqs, err)
		}
		if f, err := s.FollowByID(ctx, held.ID); err != nil || f.Accepted {
			t.Fatalf("FollowByID = %+v, %v", f, err)
		}
	})
}
