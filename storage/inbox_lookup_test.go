package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

func TestRecentInboxItems(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		carol, dan := "https://remote.example/users/carol", "https://remote.example/users/dan"
		for _, it := range []struct{ actor, key, body string }{
			{carol, carol + "#main-key", `{"n":1}`},
			{dan, dan + "#main-key", `{"n":2}`},
			{carol, "", `{"collection":"x"}`}, // a job of the node's own
			{carol, carol + "#main-key", `{"n":3}`},
		} {
			kind := storage.InboxActivity
			if it.key == "" {
				kind = storage.InboxBackfill
			}
			if _, err := s.EnqueueInbox(ctx, storage.NewInboxItem{Kind: kind, ActorID: it.actor, KeyID: it.key, Body: []byte(it.body)}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond) // distinct received_at
		}
		now := time.Now()
		items, err := s.RecentInboxItems(ctx, carol, now.Add(-time.Hour), now, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 2 || items[0].Body != `{"n":3}` || items[1].Body != `{"n":1}` {
			t.Fatalf("items = %+v", items)
		}
		if items, _ := s.RecentInboxItems(ctx, carol, now.Add(-time.Hour), now, 1); len(items) != 1 || items[0].Body != `{"n":3}` {
			t.Fatalf("limited to 1: %+v", items)
		}
		if items, _ := s.RecentInboxItems(ctx, carol, now.Add(-time.Hour), now.Add(-time.Minute), 10); len(items) != 0 {
			t.Fatalf("items before a minute ago: %+v", items)
		}
	})
}
