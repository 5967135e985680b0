package storage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// remoteFollower stores a remote actor following forum forumID and
// returns it as a recipient; shared gives its server a shared inbox.
func remoteFollower(t *testing.T, s *storage.Store, forumID storage.ID, host, name string, shared bool) storage.Recipient {
	t.Helper()
	ctx := context.Background()
	apID := "https://" + host + "/users/" + name
	a := &storage.Account{Handle: name, Domain: host, APID: &apID, ActorType: "Person", Inbox: apID + "/inbox"}
	if shared {
		a.SharedInbox = "https://" + host + "/inbox"
	}
	a, err := s.UpsertRemoteAccount(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddFollow(ctx, a.ID, storage.FollowForum, forumID, nil, true); err != nil {
		t.Fatal(err)
	}
	return storage.Recipient{Inbox: a.Inbox, SharedInbox: a.SharedInbox, FollowerID: a.ID}
}

func newActivity(fx *storagetest.Fixtures, apID string, to ...storage.Recipient) storage.NewActivity {
	return storage.NewActivity{APID: apID, ActorID: "https://forum.example/f/kitchen",
		KeyOwnerKind: storage.KeyOwnerForum, KeyOwnerID: fx.Forum.ID,
		Body: []byte(`{"type":"Create","id":"` + apID + `"}`), Inboxes: to}
}

func TestCompleteEventWritesActivityAndDedupedJobs(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		events, err := s.PendingEvents(ctx, 1)
		if err != nil || len(events) != 1 {
			t.Fatalf("pending events: %v %v", events, err)
		}
		ev := events[0]

		var to []storage.Recipient
		for _, name := range []string{"ann", "ben", "cat"} { // one server with a shared inbox
			to = append(to, remoteFollower(t, s, fx.Forum.ID, "shared.example", name, true))
		}
		for _, name := range []string{"dan", "eve"} { // personal inboxes only
			to = append(to, remoteFollower(t, s, fx.Forum.ID, "solo.example", name, false))
		}
		to = append(to, to[3])                                                 // the same follower twice
		to = append(to, storage.Recipient{Inbox: "mailto:x@y", FollowerID: 1}) // not an inbox: skipped
		to = append(to, to[len(to)-1])                                         // and again

		// A bad activity rolls everything back: the event stays pending.
		bad := newActivity(fx, "https://forum.example/a/bad", to...)
		bad.Body = []byte("{not json")
		if err := s.CompleteEvent(ctx, ev.ID, []storage.NewActivity{bad}); !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("bad activity: %v", err)
		}
		if still, _ := s.PendingEvents(ctx, 100); !slices.ContainsFunc(still, func(e storage.OutboxEvent) bool { return e.ID == ev.ID }) {
			t.Fatal("event marked processed although its transaction failed")
		}

		act := newActivity(fx, "https://forum.example/a/1", to...)
		if err := s.CompleteEvent(ctx, ev.ID, []storage.NewActivity{act}); err != nil {
			t.Fatal(err)
		}
		stored, err := s.ActivityByAPID(ctx, act.APID)
		if err != nil || stored.Body != string(act.Body) || stored.KeyOwnerID != fx.Forum.ID {
			t.Fatalf("activity = %+v, %v", stored, err)
		}
		jobs, err := s.PendingDeliveries(ctx, stored.ID)
		if err != nil {
			t.Fatal(err)
		}
		var inboxes []string
		for _, j := range jobs {
			inboxes = append(inboxes, j.Inbox)
			if j.Inbox == "https://shared.example/inbox" && j.FollowerID != 0 {
				t.Errorf("shared inbox job names follower %v", j.FollowerID)
			}
			if j.Host == "solo.example" && j.FollowerID == 0 {
				t.Errorf("personal inbox job %s has no follower", j.Inbox)
			}
		}
		slices.Sort(inboxes)
		want := []string{"https://shared.example/inbox", "https://solo.example/users/dan/inbox", "https://solo.example/users/eve/inbox"}
		if !slices.Equal(inboxes, want) {
			t.Fatalf("job inboxes = %v, want %v", inboxes, want)
		}
		if still, _ := s.PendingEvents(ctx, 100); slices.ContainsFunc(still, func(e storage.OutboxEvent) bool { return e.ID == ev.ID }) {
			t.Fatal("event still pending")
		}
		// A second process finishing the same event writes nothing.
		again := newActivity(fx, "https://forum.example/a/2", to...)
		if err := s.CompleteEvent(ctx, ev.ID, []storage.NewActivity{again}); !errors.Is(err, storage.ErrEventProcessed) {
			t.Fatalf("second completion: %v", err)
		}
		if _, err := s.ActivityByAPID(ctx, again.APID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("second completion wrote its activity: %v", err)
		}
	})
}

// enqueue queues one activity to n personal inboxes on host and returns
// the time just after.
func enqueue(t testing.TB, s *storage.Store, fx *storagetest.Fixtures, apID, host string, n int) time.Time {
	t.Helper()
	act := newActivity(fx, apID)
	for i := range n {
		act.Inboxes = append(act.Inboxes, storage.Recipient{Inbox: fmt.Sprintf("https://%s/u/%d/inbox", host, i)})
	}
	if err := s.EnqueueActivities(context.Background(), []storage.NewActivity{act}); err != nil {
		t.Fatal(err)
	}
	return time.Now()
}

func TestLeaseExpiryAndOwnership(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		now := enqueue(t, s, fx, "https://forum.example/a/1", "a.example", 3)

		got, err := s.ClaimDeliveries(ctx, "A", now, 10, time.Minute, nil)
		if err != nil || len(got) != 3 {
			t.Fatalf("claim A: %d jobs, %v", len(got), err)
		}
		if string(got[0].Body) != got[0].Activity.Body || got[0].Attempts != 1 {
			t.Fatalf("claimed job = %+v", got[0])
		}
		// Leased jobs are nobody else's until the lease runs out.
		if other, err := s.ClaimDeliveries(ctx, "B", now.Add(59*time.Second), 10, time.Minute, nil); err != nil || len(other) != 0 {
			t.Fatalf("claim B during A's lease: %d jobs, %v", len(other), err)
		}
		// A "crashed": B takes the jobs over after the lease.
		later := now.Add(61 * time.Second)
		// A host the worker is busy with is left out of its claims.
		if skipped, err := s.ClaimDeliveries(ctx, "B", later, 10, time.Minute, []string{"a.example"}); err != nil || len(skipped) != 0 {
			t.Fatalf("claim skipping the busy host: %d jobs, %v", len(skipped), err)
		}
		taken, err := s.ClaimDeliveries(ctx, "B", later, 10, time.Minute, nil)
		if err != nil || len(taken) != 3 || taken[0].Attempts != 2 {
			t.Fatalf("claim B after A's lease: %d jobs, %v", len(taken), err)
		}
		// A waking up late cannot finish B's jobs.
		var stale []storage.DeliveryResult
		for i := range got {
			stale = append(stale, storage.DeliveryResult{Job: &got[i], Outcome: storage.DeliverySent})
		}
		if err := s.FinishDeliveries(ctx, "A", later, stale); err != nil {
			t.Fatal(err)
		}
		if left, _ := s.PendingDeliveries(ctx, got[0].Activity.ID); len(left) != 3 {
			t.Fatalf("A's stale results deleted B's jobs: %d left", len(left))
		}
		// B releases on shutdown: due at once, attempt uncounted.
		if n, err := s.ReleaseDeliveries(ctx, "B", later); err != nil || n != 3 {
			t.Fatalf("release: %d, %v", n, err)
		}
		back, err := s.ClaimDeliveries(ctx, "C", later, 10, time.Minute, nil)
		if err != nil || len(back) != 3 || back[0].Attempts != 2 {
			t.Fatalf("claim after release: %d jobs, %v", len(back), err)
		}
	})
}

func TestFinishDeliveriesOutcomes(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		gone := remoteFollower(t, s, fx.Forum.ID, "gone.example", "ghost", false)
		act := newActivity(fx, "https://forum.example/a/1", gone,
			storage.Recipient{Inbox: "https://ok.example/inbox"},
			storage.Recipient{Inbox: "https://bad.example/inbox"},
			storage.Recipient{Inbox: "https://retry.example/inbox"},
			storage.Recipient{Inbox: "https://busy.example/inbox"})
		if err := s.EnqueueActivities(ctx, []storage.NewActivity{act}); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		jobs, err := s.ClaimDeliveries(ctx, "w", now, 10, time.Minute, nil)
		if err != nil || len(jobs) != 5 {
			t.Fatalf("claim: %d, %v", len(jobs), err)
		}
		retryAt := now.Add(time.Hour)
		var results []storage.DeliveryResult
		for i := range jobs {
			r := storage.DeliveryResult{Job: &jobs[i], Host: storage.HostAnswered}
			switch jobs[i].Host {
			case "ok.example":
				r.Outcome = storage.DeliverySent
			case "bad.example":
				r.Outcome, r.Error = storage.DeliveryFailed, "remote answered 403"
			case "gone.example":
				r.Outcome = storage.DeliveryGone
			case "retry.example":
				r.Outcome, r.RetryAt, r.Error, r.Host = storage.DeliveryRetry, retryAt, "remote answered 503", storage.HostFailed
			case "busy.example":
				r.Outcome, r.RetryAt, r.Host = storage.DeliveryReleased, now, storage.HostUntried
			}
			results = append(results, r)
		}
		if err := s.FinishDeliveries(ctx, "w", now, results); err != nil {
			t.Fatal(err)
		}
		left, _ := s.PendingDeliveries(ctx, jobs[0].Activity.ID)
		byHost := map[string]storage.Delivery{}
		for _, d := range left {
			byHost[d.Host] = d
		}
		if len(left) != 2 {
			t.Fatalf("left %v, want the retried and the released job", left)
		}
		if r := byHost["retry.example"]; !r.NextAttemptAt.Equal(retryAt.UTC().Truncate(time.Microsecond)) ||
			r.Attempts != 1 || r.LastError != "remote answered 503" || r.LeaseUntil != nil {
			t.Errorf("retried job = %+v", r)
		}
		if r := byHost["busy.example"]; r.Attempts != 0 || r.LeaseUntil != nil {
			t.Errorf("released job = %+v", r)
		}
		if _, err := s.FollowOf(ctx, gone.FollowerID, storage.FollowForum, fx.Forum.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("follower behind a 410 still follows: %v", err)
		}
		if h, err := s.RemoteHostByName(ctx, "retry.example"); err != nil || h.FailingSince == nil || h.Unavailable {
			t.Errorf("failing host = %+v, %v", h, err)
		}
		if h, err := s.RemoteHostByName(ctx, "ok.example"); err != nil || h.LastSuccess == nil || h.FailingSince != nil {
			t.Errorf("answering host = %+v, %v", h, err)
		}
		st, err := s.QueueStats(ctx, now)
		if err != nil || st.Deliveries != 2 || len(st.FailingHosts) != 1 || st.FailingHosts[0].Pending != 1 {
			t.Fatalf("stats = %+v, %v", st, err)
		}
	})
}

// A host failing for two days is parked: its jobs wait, one probe goes
// out every interval, and an answer to the probe resumes the rest.
func TestUnavailableHostIsProbed(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		t0 := enqueue(t, s, fx, "https://forum.example/a/1", "down.example", 3)
		fail := func(now time.Time, jobs []storage.DeliveryJob) {
			t.Helper()
			var rs []storage.DeliveryResult
			for i := range jobs {
				rs = append(rs, storage.DeliveryResult{Job: &jobs[i], Outcome: storage.DeliveryRetry,
					RetryAt: now.Add(time.Minute), Host: storage.HostFailed, Error: "connection refused"})
			}
			if err := s.FinishDeliveries(ctx, "w", now, rs); err != nil {
				t.Fatal(err)
			}
		}
		claim := func(now time.Time) []storage.DeliveryJob {
			t.Helper()
			jobs, err := s.ClaimDeliveries(ctx, "w", now, 10, time.Minute, nil)
			if err != nil {
				t.Fatal(err)
			}
			return jobs
		}
		fail(t0, claim(t0))
		t1 := t0.Add(storage.HostUnavailableAfter + time.Hour)
		fail(t1, claim(t1))
		h, err := s.RemoteHostByName(ctx, "down.example")
		if err != nil || !h.Unavailable || h.NextProbeAt == nil {
			t.Fatalf("host after two days of failures = %+v, %v", h, err)
		}
		// New jobs for the parked host wait too.
		enqueue(t, s, fx, "https://forum.example/a/2", "down.example", 1)
		if jobs := claim(t1.Add(time.Hour)); len(jobs) != 0 {
			t.Fatalf("claimed %d jobs of an unavailable host before its probe", len(jobs))
		}
		probeTime := *h.NextProbeAt
		probe := claim(probeTime)
		if len(probe) != 1 {
			t.Fatalf("probe claimed %d jobs, want 1", len(probe))
		}
		// The probe is answered: the host is back and the rest is due.
		err = s.FinishDeliveries(ctx, "w", probeTime, []storage.DeliveryResult{{Job: &probe[0],
			Outcome: storage.DeliverySent, Host: storage.HostAnswered}})
		if err != nil {
			t.Fatal(err)
		}
		if h, _ := s.RemoteHostByName(ctx, "down.example"); h.Unavailable || h.FailingSince != nil {
			t.Fatalf("host after answered probe = %+v", h)
		}
		if rest := claim(probeTime); len(rest) != 3 {
			t.Fatalf("after recovery claimed %d jobs, want 3", len(rest))
		}
	})
}

// Several processes claiming at once never get the same job. On
// PostgreSQL each Store is its own connection pool, as separate processes
// would be.
func TestConcurrentClaimsAreDisjoint(t *testing.T) {
	storagetest.ForEachDialectShared(t, func(t *testing.T, first *storage.Store, opts storage.Options) {
		ctx := context.Background()
		fx := storagetest.Seed(t, first)
		const total = 600
		now := enqueue(t, first, fx, "https://forum.example/a/1", "many.example", total)

		stores := []*storage.Store{first}
		if storagetest.Postgres(opts) {
			stores = append(stores, storagetest.OpenWith(t, opts), storagetest.OpenWith(t, opts))
		}
		var mu sync.Mutex
		seen := map[storage.ID]int{}
		var wg sync.WaitGroup
		for w := range 6 {
			s := stores[w%len(stores)]
			wg.Go(func() {
				owner := fmt.Sprintf("w%d", w)
				for {
					jobs, err := s.ClaimDeliveries(ctx, owner, now, 25, time.Minute, nil)
					if err != nil {
						t.Error(err)
						return
					}
					if len(jobs) == 0 {
						return
					}
					mu.Lock()
					for _, j := range jobs {
						seen[j.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != total {
			t.Fatalf("claimed %d distinct jobs, want %d", len(seen), total)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("job %s claimed %d times", id, n)
			}
		}
	})
}

func TestInboxQueueRoundTrip(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		body := []byte(`{"type":"Like","actor":"https://remote.example/users/ann"}`)
		id, err := s.EnqueueInbox(ctx, storage.NewInboxItem{ActorID: "https://remote.example/users/ann", KeyID: "https://remote.example/users/ann#main-key", Body: body})
		if err != nil {
			t.Fatal(err)
		}
		second, err := s.EnqueueInbox(ctx, storage.NewInboxItem{Kind: storage.InboxBackfill, ActorID: "https://remote.example/users/ben", Body: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		items, err := s.ClaimInbox(ctx, "w", now, 10, time.Minute)
		if err != nil || len(items) != 2 {
			t.Fatalf("claim: %d items, %v", len(items), err)
		}
		if items[0].ID != id && items[1].ID != id {
			t.Fatalf("claimed %v", items)
		}
		if again, _ := s.ClaimInbox(ctx, "v", now, 10, time.Minute); len(again) != 0 {
			t.Fatalf("leased items claimed again: %d", len(again))
		}
		// The first needs another try, the second is done.
		retryAt := now.Add(time.Second)
		err = s.FinishInbox(ctx, "w", now, []storage.InboxResult{
			{ID: id, RetryAt: retryAt, Error: "actor fetch timed out"},
			{ID: second, Done: true},
		})
		if err != nil {
			t.Fatal(err)
		}
		if early, _ := s.ClaimInbox(ctx, "w", now, 10, time.Minute); len(early) != 0 {
			t.Fatalf("claimed %d items before their retry time", len(early))
		}
		items, err = s.ClaimInbox(ctx, "w", retryAt, 10, time.Minute)
		if err != nil || len(items) != 1 || items[0].ID != id || items[0].Attempts != 2 ||
			items[0].LastError != "actor fetch timed out" || items[0].Body != string(body) {
			t.Fatalf("retry claim = %+v, %v", items, err)
		}
		if err := s.FinishInbox(ctx, "w", retryAt, []storage.InboxResult{{ID: id, Done: true, Error: "unknown object"}}); err != nil {
			t.Fatal(err)
		}
		it, err := s.InboxItemByID(ctx, id)
		if err != nil || it.DoneAt == nil || it.LastError != "unknown object" || it.LeaseUntil != nil {
			t.Fatalf("given-up item = %+v, %v", it, err)
		}
		if st, _ := s.QueueStats(ctx, now); st.InboxPending != 0 {
			t.Fatalf("inbox pending = %d", st.InboxPending)
		}
		if n, err := s.PruneInbox(ctx, retryAt.Add(time.Minute)); err != nil || n != 2 {
			t.Fatalf("prune: %d, %v", n, err)
		}
	})
}
