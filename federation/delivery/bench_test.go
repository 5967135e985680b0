package delivery_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// BenchmarkFanout queues activities to 50 hosts with shared inboxes, 20
// activities at once (1,000 signed POSTs per op, 20 per host), and waits
// until every host has them all: queue writes, claims, signing, HTTP over
// keep-alive connections and the batched completions, on SQLite. The
// receivers only count, so the CPU goes to the sender.
func BenchmarkFanout(b *testing.B) {
	const hosts, perOp = 50, 20
	ctx := context.Background()
	s := storagetest.Open(b, "sqlite")
	fx := storagetest.Seed(b, s)
	var received atomic.Int64
	done := make(chan struct{}, 1)
	var target atomic.Int64
	var to []storage.Recipient
	for range hosts {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusAccepted)
			if received.Add(1) == target.Load() {
				done <- struct{}{}
			}
		}))
		b.Cleanup(srv.Close)
		to = append(to, storage.Recipient{Inbox: srv.URL + "/users/x/inbox", SharedInbox: srv.URL + "/inbox"})
	}
	w := newWorker(s)
	w.Log = slog.New(slog.DiscardHandler)
	w.FlushDelay, w.PollInterval = 0, 0 // the defaults
	start(b, w)

	seq := 0
	b.ReportAllocs()
	for b.Loop() {
		target.Add(hosts * perOp)
		var acts []storage.NewActivity
		for range perOp {
			seq++
			acts = append(acts, activity(fx, seq, to...))
		}
		if err := s.EnqueueActivities(ctx, acts); err != nil {
			b.Fatal(err)
		}
		w.Notify()
		<-done
	}
	b.ReportMetric(float64(received.Load())/b.Elapsed().Seconds(), "jobs/s")
	if c := w.Counters(); c.Failed != 0 {
		b.Fatalf("counters = %+v", c)
	}
}
