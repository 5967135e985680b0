package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

func TestAcceptInboxDeduplicates(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		item := func(id string) storage.NewInboxItem {
			return storage.NewInboxItem{ActorID: "https://a.example/u/x", KeyID: "https://a.example/u/x#main-key", ActivityID: id, Body: []byte(`{}`)}
		}
		if ok, err := s.AcceptInbox(ctx, "https://a.example/u/x", "k", "https://a.example/1", []byte(`{}`)); err != nil || !ok {
			t.Fatalf("first: %v %v", ok, err)
		}
		stored, err := s.AcceptInboxBatch(ctx, []storage.NewInboxItem{item("https://a.example/1"), item("https://a.example/2"),
			item("https://a.example/2"), item(""), item("")})
		if err != nil {
			t.Fatal(err)
		}
		if want := []bool{false, true, false, true, true}; len(stored) != 5 || stored[0] != want[0] || stored[1] != want[1] ||
			stored[2] != want[2] || stored[3] != want[3] || stored[4] != want[4] {
			t.Fatalf("stored = %v, want %v", stored, want)
		}
		items, err := s.ClaimInbox(ctx, "w", time.Now(), 10, time.Minute)
		if err != nil || len(items) != 4 {
			t.Fatalf("claimed %d items, err %v; want 4", len(items), err)
		}
	})
}

func TestDeletePostsByAuthor(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 3)
		n, err := s.DeletePostsByAuthor(ctx, fx.Bob.ID)
		if err != nil || n != 4 {
			t.Fatalf("deleted %d, err %v; want 4", n, err)
		}
		if p, _ := s.PostByID(ctx, fx.Posts[1].ID); !p.IsDeleted() {
			t.Fatal("Bob's reply survives")
		}
		if p, _ := s.PostByID(ctx, fx.Posts[0].ID); p.IsDeleted() {
			t.Fatal("Alice's post deleted")
		}
		id := "https://a.example/follows/1"
		if _, err := s.AddFollow(ctx, fx.Bob.ID, storage.FollowThread, fx.Thread.ID, &id, true); err != nil {
			t.Fatal(err)
		}
		if f, err := s.FollowByAPID(ctx, id); err != nil || f.FollowerID != fx.Bob.ID {
			t.Fatalf("FollowByAPID: %+v %v", f, err)
		}
		if n, err := s.RemoveFollowsBy(ctx, fx.Bob.ID); err != nil || n != 1 {
			t.Fatalf("RemoveFollowsBy: %d %v", n, err)
		}
	})
}
