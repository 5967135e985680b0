package storage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// BenchmarkInboxQueue runs the inbox queue's three writes for 64
// activities of 2.5 KB from 64 actors on SQLite: the group-committed
// intake (AcceptInboxBatch), the worker's claim and its record of the
// results (FinishInbox), each one transaction, as under an ingest load.
func BenchmarkInboxQueue(b *testing.B) {
	ctx := context.Background()
	s := storagetest.Open(b, "sqlite")
	body := []byte(`{"type":"Create","object":{"content":"` + strings.Repeat("rye ", 600) + `"}}`)
	seq := 0
	b.ReportAllocs()
	for b.Loop() {
		items := make([]storage.NewInboxItem, 64)
		for i := range items {
			seq++
			actor := fmt.Sprintf("https://h%d.example/users/a%d", i%20, i)
			items[i] = storage.NewInboxItem{ActorID: actor, KeyID: actor + "#main-key",
				ActivityID: fmt.Sprintf("%s/statuses/%d/activity", actor, seq), Body: body}
		}
		if _, err := s.AcceptInboxBatch(ctx, items); err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		claimed, err := s.ClaimInbox(ctx, "bench", now, 64, time.Minute)
		if err != nil || len(claimed) != 64 {
			b.Fatalf("claimed %d: %v", len(claimed), err)
		}
		results := make([]storage.InboxResult, len(claimed))
		for i, it := range claimed {
			results[i] = storage.InboxResult{ID: it.ID, Done: true}
		}
		if err := s.FinishInbox(ctx, "bench", now, results); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "items/s")
}
