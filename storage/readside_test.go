package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// The queries the ActivityPub read side runs: remote post ids, NodeInfo's
// activity counts, following counts and backward thread paging.
func TestReadSideQueries(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)

		apID := "https://remote.example/users/zed"
		zed, err := s.UpsertRemoteAccount(ctx, &storage.Account{Handle: "zed", Domain: "remote.example", APID: &apID})
		if err != nil {
			t.Fatal(err)
		}
		noteID := "https://remote.example/notes/1"
		remote, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: zed.ID, Source: "hi",
			HTML: "<p>hi</p>", APID: &noteID})
		if err != nil {
			t.Fatal(err)
		}
		refs, err := s.RemotePostIDs(ctx, []storage.ID{fx.Posts[0].ID, remote.ID, 12345})
		if err != nil || len(refs) != 1 || refs[remote.ID] != noteID {
			t.Fatalf("RemotePostIDs = %v, %v", refs, err)
		}

		// Alice and Bob posted; Morgan did not, and remote posters never count.
		for since, want := range map[time.Time]int64{
			time.Now().Add(-time.Hour): 2,
			time.Now().Add(time.Hour):  0,
		} {
			if n, err := s.CountActiveMembers(ctx, since); err != nil || n != want {
				t.Errorf("CountActiveMembers(%v) = %d, %v; want %d", since, n, err, want)
			}
		}
		if storage.IDAt(time.Now()) > s.NewID() {
			t.Errorf("IDAt(now) is above a fresh id")
		}

		if _, err := s.AddFollow(ctx, fx.Alice.ID, storage.FollowThread, fx.Thread.ID, nil, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddFollow(ctx, fx.Alice.ID, storage.FollowAccount, zed.ID, nil, false); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountFollowing(ctx, fx.Alice.ID); err != nil || n != 1 {
			t.Errorf("CountFollowing = %d, %v; want 1 (pending follows do not count)", n, err)
		}

		ids := []storage.ID{fx.Thread.ID}
		for range 4 {
			th, _, err := s.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Bob.ID, Title: "More", Source: "x", HTML: "<p>x</p>"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, th.ID)
		}
		got, err := s.ListThreadsByIDBefore(ctx, fx.Forum.ID, ids[4], 2)
		if err != nil || len(got) != 2 || got[0].ID != ids[2] || got[1].ID != ids[3] {
			t.Fatalf("ListThreadsByIDBefore = %v, %v", got, err)
		}
	})
}
