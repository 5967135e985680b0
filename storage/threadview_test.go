package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

func TestThreadWithForum(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		th, err := s.ThreadWithForum(ctx, fx.Thread.ID)
		if err != nil {
			t.Fatal(err)
		}
		if th.ID != fx.Thread.ID || th.Title != fx.Thread.Title || th.PostCount != 3 {
			t.Fatalf("thread = %+v", th.Thread)
		}
		if th.ForumSlug != "kitchen" || th.ForumTitle != "The Kitchen" {
			t.Fatalf("forum = %q %q", th.ForumSlug, th.ForumTitle)
		}
		if th.AuthorID != fx.Alice.ID || th.Author != nil {
			t.Fatalf("author %s, loaded %+v", th.AuthorID, th.Author)
		}
		if _, err := s.ThreadWithForum(ctx, fx.Thread.ID+1); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("missing thread: %v", err)
		}
	})
}
