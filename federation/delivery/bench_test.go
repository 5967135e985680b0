package delivery_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/delivery"
	"github.com/skein-forum/skein/federation/transport"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// countingInboxes starts n servers whose shared inboxes answer 202 and
// call arrived for every POST; the receivers only count, so the CPU goes
// to the sender.
func countingInboxes(b *testing.B, n int, arrived func()) []storage.Recipient {
	var to []storage.Recipient
	for range n {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusAccepted)
			arrived()
		}))
		b.Cleanup(srv.Close)
		to = append(to, storage.Recipient{Inbox: srv.URL + "/users/x/inbox", SharedInbox: srv.URL + "/inbox"})
	}
	return to
}

// BenchmarkFanout queues activities to 50 hosts with shared inboxes, 20
// activities at once (1,000 signed POSTs per op, 20 per host), and waits
// until every host has them all: queue writes, claims, signing, HTTP over
// keep-alive connections and the batched completions, on SQLite.
func BenchmarkFanout(b *testing.B) {
	const hosts, perOp = 50, 20
	ctx := context.Background()
	s := storagetest.Open(b, "sqlite")
	fx := storagetest.Seed(b, s)
	var received, target atomic.Int64
	done := make(chan struct{}, 1)
	to := countingInboxes(b, hosts, func() {
		if received.Add(1) == target.Load() {
			done <- struct{}{}
		}
	})
	w := newWorker(s)
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

// BenchmarkFanoutToNewHosts sends one activity to 1,000 hosts the worker
// has no connection to yet, as a post to a thread followed from 1,000
// servers does, and reports when the first and the last host had it
// (first-ms, last-ms). The whole op is a fresh worker and client: claims,
// signing, dialing, the POSTs and the completions. Signers are the
// default (one per core) or unbounded (a signature in every POST's
// goroutine at once), to show what the bound does to the schedule.
func BenchmarkFanoutToNewHosts(b *testing.B) {
	for _, bc := range []struct {
		name    string
		signers int
	}{{"signers=cores", 0}, {"signers=unbounded", 1 << 20}} {
		b.Run(bc.name, func(b *testing.B) { fanoutToHosts(b, bc.signers, true) })
	}
}

// BenchmarkFanoutToKnownHosts is the next post to the same 1,000 hosts:
// one worker and client for every op, so each host's connection from the
// op before is reused rather than dialed again.
func BenchmarkFanoutToKnownHosts(b *testing.B) { fanoutToHosts(b, 0, false) }

func fanoutToHosts(b *testing.B, signers int, fresh bool) {
	const hosts = 1000
	ctx := context.Background()
	s := storagetest.Open(b, "sqlite")
	fx := storagetest.Seed(b, s)
	var mu sync.Mutex
	var began, first time.Time
	left := 0
	done := make(chan struct{}, 1)
	to := countingInboxes(b, hosts, func() {
		mu.Lock()
		defer mu.Unlock()
		if first.IsZero() {
			first = time.Now()
		}
		if left--; left == 0 {
			done <- struct{}{}
		}
	})
	var firstSum, lastSum time.Duration
	var w *delivery.Worker
	stop := func() {}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if fresh || w == nil {
			stop()
			w = newWorker(s)
			w.Client = transport.New(transport.Options{AllowPrivateNetworks: true, AllowHTTP: true})
			w.Signers, w.FlushDelay, w.PollInterval, w.Timeout = signers, 0, 0, 0 // the defaults
			stop = start(b, w)
		}
		sent := w.Counters().Sent
		mu.Lock()
		left, first, began = hosts, time.Time{}, time.Now()
		mu.Unlock()
		if err := s.EnqueueActivities(ctx, []storage.NewActivity{activity(fx, i, to...)}); err != nil {
			b.Fatal(err)
		}
		w.Notify()
		<-done
		mu.Lock()
		firstSum, lastSum = firstSum+first.Sub(began), lastSum+time.Since(began)
		mu.Unlock()
		// The last hosts answered; their results may still be on the way.
		for c := w.Counters(); c.Sent < sent+hosts; c = w.Counters() {
			if c.Retried+c.Failed != 0 {
				b.Fatalf("counters = %+v", c)
			}
			time.Sleep(time.Millisecond)
		}
	}
	stop()
	b.ReportMetric(float64(firstSum.Milliseconds())/float64(b.N), "first-ms")
	b.ReportMetric(float64(lastSum.Milliseconds())/float64(b.N), "last-ms")
}
