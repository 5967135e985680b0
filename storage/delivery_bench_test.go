package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// fanout queues one activity to n personal inboxes spread over 1,000
// hosts.
func fanout(b *testing.B, s *storage.Store, fx *storagetest.Fixtures, seq, n int) {
	act := newActivity(fx, fmt.Sprintf("https://forum.example/a/%d", seq))
	for i := range n {
		act.Inboxes = append(act.Inboxes, storage.Recipient{Inbox: fmt.Sprintf("https://h%d.example/u/%d/inbox", i%1000, i)})
	}
	if err := s.EnqueueActivities(context.Background(), []storage.NewActivity{act}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEnqueueFanout writes one activity with 10,000 jobs in one
// transaction on SQLite, as a post to 10,000 followers does.
func BenchmarkEnqueueFanout(b *testing.B) {
	s := storagetest.Open(b, "sqlite")
	fx := storagetest.Seed(b, s)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		fanout(b, s, fx, i, 10_000)
	}
	b.ReportMetric(float64(b.N*10_000)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkClaimDeliveries claims batches of 200 from a 10,000-job queue
// on SQLite and completes each batch as sent, the loop a worker runs.
func BenchmarkClaimDeliveries(b *testing.B) {
	ctx := context.Background()
	s := storagetest.Open(b, "sqlite")
	fx := storagetest.Seed(b, s)
	seq, jobs := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		now := time.Now()
		claimed, err := s.ClaimDeliveries(ctx, "bench", now, 200, time.Minute, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(claimed) == 0 {
			b.StopTimer()
			seq++
			fanout(b, s, fx, seq, 10_000)
			b.StartTimer()
			continue
		}
		results := make([]storage.DeliveryResult, len(claimed))
		for i := range claimed {
			results[i] = storage.DeliveryResult{Job: &claimed[i], Outcome: storage.DeliverySent, Host: storage.HostAnswered}
		}
		if err := s.FinishDeliveries(ctx, "bench", now, results); err != nil {
			b.Fatal(err)
		}
		jobs += len(claimed)
	}
	b.ReportMetric(float64(jobs)/b.Elapsed().Seconds(), "jobs/s")
}
