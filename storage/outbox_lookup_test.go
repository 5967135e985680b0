package storage_test

import (
	"context"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// The outbox processor's reads, on both databases.
func TestOutboxLookups(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		r := remoteFollower(t, s, fx.Forum.ID, "lemmy.example", "zoe", true)
		zoe, err := s.RemoteAccountByAcct(ctx, "zoe", "LEMMY.example")
		if err != nil || zoe.Inbox != r.Inbox {
			t.Fatalf("by acct: %v %v", zoe, err)
		}
		// A local follower needs no delivery.
		if _, err := s.AddFollow(ctx, fx.Bob.ID, storage.FollowForum, fx.Forum.ID, nil, true); err != nil {
			t.Fatal(err)
		}
		if sw, err := s.DomainsSoftware(ctx, []string{"lemmy.example"}); err != nil || len(sw) != 0 {
			t.Fatalf("software before it is known = %v, %v", sw, err)
		}
		if err := s.SetDomainSoftware(ctx, "lemmy.example", "lemmy"); err != nil {
			t.Fatal(err)
		}
		if sw, err := s.DomainsSoftware(ctx, []string{"lemmy.example", "elsewhere.example"}); err != nil || len(sw) != 1 || sw["lemmy.example"] != "lemmy" {
			t.Fatalf("software = %v, %v", sw, err)
		}
		got, err := s.RemoteFollowerInboxes(ctx, storage.FollowForum, fx.Forum.ID, 0, 10)
		if err != nil || len(got) != 1 || got[0].AccountID != zoe.ID || got[0].Software != "lemmy" || got[0].SharedInbox == "" {
			t.Fatalf("remote followers = %+v, %v", got, err)
		}
		if more, _ := s.RemoteFollowerInboxes(ctx, storage.FollowForum, fx.Forum.ID, got[0].FollowID, 10); len(more) != 0 {
			t.Fatalf("second page = %+v", more)
		}

		if _, err := s.LikePost(ctx, fx.Posts[1].ID, fx.Alice.ID, nil); err != nil {
			t.Fatal(err)
		}
		evs, _ := s.PendingEvents(ctx, 100)
		last := evs[len(evs)-1]
		if id, err := s.LastLikeEvent(ctx, fx.Alice.ID, fx.Posts[1].ID, last.ID+1); err != nil || id != last.ID {
			t.Fatalf("last like event = %v, %v; want %v", id, err, last.ID)
		}
		if id, _ := s.LastLikeEvent(ctx, fx.Bob.ID, fx.Posts[1].ID, last.ID+1); id != 0 {
			t.Fatalf("bob's like event = %v", id)
		}

		apID := "https://lemmy.example/u/zoe#follow"
		if _, err := s.AddFollow(ctx, fx.Alice.ID, storage.FollowAccount, zoe.ID, &apID, false); err != nil {
			t.Fatal(err)
		}
		following, err := s.RemoteFollowing(ctx, fx.Alice.ID, 10)
		if err != nil || len(following) != 1 || following[0].ID != zoe.ID || following[0].Accepted || following[0].MirrorID != 0 {
			t.Fatalf("remote following = %+v, %v", following, err)
		}
		if n, err := s.ReleaseAllDeliveries(ctx, fx.Posts[0].CreatedAt); err != nil || n != 0 {
			t.Fatalf("release = %d, %v", n, err)
		}
	})
}
