package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/fedtest"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// Jobs are signed as Mastodon expects and reach each inbox once: a
// shared inbox once per activity for all its followers, personal inboxes
// one by one.
func TestWorkerDeliversSignedPosts(t *testing.T) {
	storagetest.ForEachSeeded(t, func(t *testing.T, s *storage.Store, fx *storagetest.Fixtures) {
		big, small := newInbox(t), newInbox(t)
		var to []storage.Recipient
		for _, name := range []string{"ann", "ben", "cat"} {
			to = append(to, storage.Recipient{Inbox: big.url("/users/" + name + "/inbox"), SharedInbox: big.url("/inbox")})
		}
		to = append(to, personal(small, "/users/dan/inbox"), personal(small, "/users/eve/inbox"))
		acts := []storage.NewActivity{activity(fx, 1, to...), activity(fx, 2, to...)}
		enqueue(t, s, acts...)
		w := newWorker(s)
		start(t, w)
		w.Notify()
		eventually(t, "queue to empty", queueEmpty(t, s))

		for _, a := range acts {
			if n := big.received("/inbox", a.APID); n != 1 {
				t.Errorf("shared inbox got %s %d times", a.APID, n)
			}
			for _, p := range []string{"/users/dan/inbox", "/users/eve/inbox"} {
				if n := small.received(p, a.APID); n != 1 {
					t.Errorf("%s got %s %d times", p, a.APID, n)
				}
			}
		}
		if reqs, _, _ := big.stats(); reqs != 2 {
			t.Errorf("shared-inbox host got %d POSTs, want 2", reqs)
		}
		if c := w.Counters(); c.Sent != 6 || c.Failed != 0 || c.Retried != 0 {
			t.Errorf("counters = %+v", c)
		}
	})
}

// A host that answers 500 gets everything once it recovers, and another
// host is served in full while it is still failing.
func TestFailingHostRecoversWithoutHoldingOthers(t *testing.T) {
	storagetest.ForEachSeeded(t, func(t *testing.T, s *storage.Store, fx *storagetest.Fixtures) {
		ctx := context.Background()
		flaky, steady := newInbox(t), newInbox(t)
		var mu sync.Mutex
		recovered := false
		flaky.Respond(fedtest.Status(func(n int) int {
			mu.Lock()
			defer mu.Unlock()
			if !recovered || n <= 3 {
				return http.StatusInternalServerError
			}
			return http.StatusAccepted
		}))
		var acts []storage.NewActivity
		for i := range 3 {
			acts = append(acts, activity(fx, i, personal(flaky, "/inbox"), personal(steady, "/inbox")))
		}
		enqueue(t, s, acts...)
		w := newWorker(s)
		start(t, w)
		w.Notify()

		eventually(t, "steady host to get everything", func() bool {
			_, got, _ := steady.stats()
			return len(got) == 3
		})
		eventually(t, "flaky host to be retried", func() bool {
			n, _, _ := flaky.stats()
			return n > 3
		})
		if _, got, _ := flaky.stats(); len(got) != 0 {
			t.Fatalf("flaky host accepted %v while failing", got)
		}
		if h, err := s.RemoteHostByName(ctx, flaky.host()); err != nil || h.FailingSince == nil {
			t.Fatalf("flaky host health = %+v, %v", h, err)
		}

		mu.Lock()
		recovered = true
		mu.Unlock()
		eventually(t, "queue to empty", queueEmpty(t, s))
		_, got, _ := flaky.stats()
		for _, a := range acts {
			if got["/inbox "+a.APID] != 1 {
				t.Errorf("flaky host got %s %d times", a.APID, got["/inbox "+a.APID])
			}
			if n := steady.received("/inbox", a.APID); n != 1 {
				t.Errorf("steady host got %s %d times", a.APID, n)
			}
		}
		if h, _ := s.RemoteHostByName(ctx, flaky.host()); h.FailingSince != nil || h.LastSuccess == nil {
			t.Errorf("recovered host health = %+v", h)
		}
		if c := w.Counters(); c.Retried < 3 || c.Sent != 6 || c.Failed != 0 {
			t.Errorf("counters = %+v", c)
		}
	})
}

// 4xx answers are final except 408 and 429; 410 from a personal inbox
// removes the follower behind it.
func TestClientErrors(t *testing.T) {
	storagetest.ForEachSeeded(t, func(t *testing.T, s *storage.Store, fx *storagetest.Fixtures) {
		ctx := context.Background()
		statuses := map[string]int{"forbidden": 403, "gone": 410, "limited": 429, "timeout": 408}
		inboxes := map[string]*inbox{}
		for name, code := range statuses {
			in := newInbox(t)
			in.Respond(fedtest.Status(func(n int) int {
				if n == 1 || code == 403 || code == 410 {
					return code
				}
				return http.StatusAccepted
			}))
			inboxes[name] = in
		}
		apID := "https://" + inboxes["gone"].host() + "/users/ghost"
		ghost, err := s.UpsertRemoteAccount(ctx, &storage.Account{Handle: "ghost", Domain: inboxes["gone"].host(),
			APID: &apID, Inbox: inboxes["gone"].url("/users/ghost/inbox")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddFollow(ctx, ghost.ID, storage.FollowForum, fx.Forum.ID, nil, true); err != nil {
			t.Fatal(err)
		}
		act := activity(fx, 1,
			storage.Recipient{Inbox: ghost.Inbox, FollowerID: ghost.ID},
			personal(inboxes["forbidden"], "/inbox"),
			personal(inboxes["limited"], "/inbox"),
			personal(inboxes["timeout"], "/inbox"))
		enqueue(t, s, act)
		w := newWorker(s)
		start(t, w)
		w.Notify()
		eventually(t, "queue to empty", queueEmpty(t, s))

		want := map[string]int{"forbidden": 1, "gone": 1, "limited": 2, "timeout": 2}
		for name, in := range inboxes {
			if n, _, _ := in.stats(); n != want[name] {
				t.Errorf("%s host got %d requests, want %d", name, n, want[name])
			}
		}
		if _, err := s.FollowOf(ctx, ghost.ID, storage.FollowForum, fx.Forum.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("follower behind 410 still follows: %v", err)
		}
		if c := w.Counters(); c.Sent != 2 || c.Failed != 2 || c.Retried != 2 {
			t.Errorf("counters = %+v", c)
		}
	})
}

// A host that hangs holds its own slots and no others: every other host
// gets everything while it hangs, and it never sees more than PerHost
// requests at once.
func TestSlowHostDoesNotStallOthers(t *testing.T) {
	storagetest.ForEachSeeded(t, func(t *testing.T, s *storage.Store, fx *storagetest.Fixtures) {
		slow := newInbox(t)
		release := make(chan struct{})
		slow.Respond(fedtest.Hold(release))
		fast := make([]*inbox, 8)
		for i := range fast {
			fast[i] = newInbox(t)
		}
		var acts []storage.NewActivity
		for n := range 6 {
			to := []storage.Recipient{personal(slow, "/inbox")}
			for _, in := range fast {
				to = append(to, personal(in, "/inbox"))
			}
			acts = append(acts, activity(fx, n, to...))
		}
		enqueue(t, s, acts...)
		w := newWorker(s)
		w.Concurrency, w.PerHost = 4, 2
		start(t, w)
		w.Notify()

		eventually(t, "fast hosts to get everything", func() bool {
			for _, in := range fast {
				if _, got, _ := in.stats(); len(got) != len(acts) {
					return false
				}
			}
			return true
		})
		if _, got, _ := slow.stats(); len(got) != 0 {
			t.Fatalf("slow host answered while held: %v", got)
		}
		close(release)
		eventually(t, "queue to empty", queueEmpty(t, s))
		reqs, got, maxConc := slow.stats()
		if len(got) != len(acts) || reqs != len(acts) {
			t.Errorf("slow host: %d requests, %d activities", reqs, len(got))
		}
		if maxConc > 2 {
			t.Errorf("slow host saw %d requests at once, PerHost is 2", maxConc)
		}
	})
}

// Jobs claimed by a process that died come back when the lease runs out.
func TestCrashedOwnersJobsAreDelivered(t *testing.T) {
	storagetest.ForEachSeeded(t, func(t *testing.T, s *storage.Store, fx *storagetest.Fixtures) {
		ctx := context.Background()
		in := newInbox(t)
		act := activity(fx, 1, personal(in, "/users/a/inbox"), personal(in, "/users/b/inbox"))
		enqueue(t, s, act)
		claimed, err := s.ClaimDeliveries(ctx, "crashed", time.Now(), 10, 200*time.Millisecond, nil)
		if err != nil || len(claimed) != 2 {
			t.Fatalf("claim: %d, %v", len(claimed), err)
		}
		start(t, newWorker(s))
		eventually(t, "queue to empty", queueEmpty(t, s))
		if in.received("/users/a/inbox", act.APID) != 1 || in.received("/users/b/inbox", act.APID) != 1 {
			_, got, _ := in.stats()
			t.Fatalf("received %v", got)
		}
	})
}

// Two workers, on PostgreSQL two processes' worth of connections, share
// the queue: every job is sent exactly once.
func TestTwoWorkersNeverSendTwice(t *testing.T) {
	storagetest.ForEachDialectShared(t, func(t *testing.T, s1 *storage.Store, opts storage.Options) {
		s2 := s1
		if storagetest.Postgres(opts) {
			s2 = storagetest.OpenWith(t, opts)
		}
		fx := storagetest.Seed(t, s1)
		hosts := make([]*inbox, 10)
		for i := range hosts {
			hosts[i] = newInbox(t)
		}
		var acts []storage.NewActivity
		for n := range 10 {
			var to []storage.Recipient
			for _, in := range hosts {
				for u := range 4 {
					to = append(to, personal(in, fmt.Sprintf("/users/u%d/inbox", u)))
				}
			}
			acts = append(acts, activity(fx, n, to...))
		}
		enqueue(t, s1, acts...)
		w1, w2 := newWorker(s1), newWorker(s2)
		w1.Owner, w2.Owner = "one", "two"
		w1.Batch, w2.Batch = 16, 16
		start(t, w1)
		start(t, w2)
		eventually(t, "queue to empty", queueEmpty(t, s1))
		total := 0
		for _, in := range hosts {
			reqs, got, _ := in.stats()
			total += reqs
			for k, n := range got {
				if n != 1 {
					t.Errorf("%s received %d times", k, n)
				}
			}
			if len(got) != 40 {
				t.Errorf("host got %d distinct deliveries, want 40", len(got))
			}
		}
		if c1, c2 := w1.Counters(), w2.Counters(); c1.Sent+c2.Sent != 400 || total != 400 {
			t.Errorf("sent %d + %d, received %d, want 400", c1.Sent, c2.Sent, total)
		}
	})
}

// On shutdown the worker waits briefly for POSTs in flight and gives
// every job it holds back to the queue.
func TestShutdownReleasesLeases(t *testing.T) {
	storagetest.ForEachSeeded(t, func(t *testing.T, s *storage.Store, fx *storagetest.Fixtures) {
		ctx := context.Background()
		hung := newInbox(t)
		release := make(chan struct{})
		hung.Respond(fedtest.Hold(release))
		defer close(release)
		var acts []storage.NewActivity
		for n := range 5 {
			acts = append(acts, activity(fx, n, personal(hung, "/inbox")))
		}
		enqueue(t, s, acts...)
		w := newWorker(s)
		w.PerHost, w.ShutdownGrace, w.RetryBase, w.RetryMax = 1, 50*time.Millisecond, time.Hour, time.Hour
		stop := start(t, w)
		eventually(t, "a POST to hang", func() bool { n, _, _ := hung.stats(); return n == 1 })
		stop()
		st, err := s.QueueStats(ctx, time.Now())
		if err != nil || st.Deliveries != 5 || st.DeliveriesLeased != 0 {
			t.Fatalf("after shutdown: %+v, %v", st, err)
		}
		// The four never attempted are due again at once, uncounted.
		again, err := s.ClaimDeliveries(ctx, "next", time.Now(), 10, time.Minute, nil)
		if err != nil || len(again) != 4 {
			t.Fatalf("claimable after shutdown: %d, %v", len(again), err)
		}
		for _, j := range again {
			if j.Attempts != 1 {
				t.Errorf("released job has %d attempts", j.Attempts)
			}
		}
	})
}
