package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skein-forum/skein/federation"
	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/delivery"
	"github.com/skein-forum/skein/internal/worker"
	"github.com/skein-forum/skein/storage"
)

// Worker applies queued inbox activities until its context ends.
// Fill the exported fields and call Run once; zero values get defaults.
//
// It claims items in batches and applies them with bounded concurrency.
// The items of one actor are applied in the order they arrived, one
// after the other, by one process at a time ([storage.Store.ClaimInbox]
// claims no actor's activity while another of theirs is leased), so a
// Create is stored before the Update or Delete that follows it; a Delete
// or Undo that still comes first leaves a tombstone (storage.Tombstone). An error that retrying cannot fix (a refused or
// pointless activity) marks the item done with the reason; any other
// (a remote server not answering, a busy database) is retried with
// backoff, at most MaxAttempts times.
type Worker struct {
	Inbox *Inbox
	Log   *slog.Logger

	Owner       string // lease owner, unique per process; default host-pid-random
	Concurrency int    // items applied at once; default 8
	// BusyConcurrency is how many items are applied at once while POSTs
	// to the inboxes wait for their commit: accepting is what remote
	// servers wait for, applying can trail. Default 1; at least
	// Concurrency turns the gate off.
	BusyConcurrency int
	Batch           int              // items per claim; default 128
	Lease           time.Duration    // how long a claim holds its items; default 5 min
	Timeout         time.Duration    // one item, fetches included; default 1 min
	PollInterval    time.Duration    // how often to look for due items without a wake-up; default 2 s
	MaxAttempts     int              // tries before an item is given up; default 8
	RetryBase       time.Duration    // first retry delay before jitter; default 30 s
	RetryMax        time.Duration    // longest retry delay; default 1 h
	KeepDone        time.Duration    // how long done items are kept; default 24 h
	Clock           func() time.Time // default time.Now
	// Applied, if set, is called after each batch of results is
	// recorded: what the activities wrote (outbox events, notifications)
	// waits for the workers it wakes.
	Applied func()

	setupOnce sync.Once
	room      worker.Signal
	gate      chan struct{} // BusyConcurrency places; nil when off
	held      atomic.Int64
	counters  inboxCounters
}

type inboxCounters struct {
	done, retried, failed atomic.Int64
}

// Counters are totals since the worker started, for metrics.
type Counters struct {
	Done    int64 // applied, or ignored as pointless, here or by the POST that brought it (direct.go)
	Retried int64 // failed and rescheduled
	Failed  int64 // given up after MaxAttempts
}

// Counters returns the totals so far.
func (w *Worker) Counters() Counters {
	return Counters{Done: w.counters.done.Load() + w.Inbox.directDone.Load(), Retried: w.counters.retried.Load(), Failed: w.counters.failed.Load()}
}

func (w *Worker) setup() {
	w.setupOnce.Do(func() {
		if w.Log == nil {
			w.Log = slog.New(slog.DiscardHandler)
		}
		if w.Owner == "" {
			w.Owner = storage.LeaseOwner("inbox")
		}
		w.Concurrency = orDefault(w.Concurrency, 8)
		w.BusyConcurrency = orDefault(w.BusyConcurrency, 1)
		if w.BusyConcurrency < w.Concurrency {
			w.gate = make(chan struct{}, w.BusyConcurrency)
		}
		w.Batch = orDefault(w.Batch, 128)
		w.Lease = orDefault(w.Lease, 5*time.Minute)
		w.Timeout = orDefault(w.Timeout, time.Minute)
		w.PollInterval = orDefault(w.PollInterval, 2*time.Second)
		w.MaxAttempts = orDefault(w.MaxAttempts, 8)
		w.RetryBase = orDefault(w.RetryBase, 30*time.Second)
		w.RetryMax = orDefault(w.RetryMax, time.Hour)
		w.KeepDone = orDefault(w.KeepDone, 24*time.Hour)
		if w.Clock == nil {
			w.Clock = time.Now
		}
		w.room = worker.NewSignal()
	})
}

func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Notify wakes the worker to claim at once. Inboxes do it themselves after
// queueing; it never blocks.
func (w *Worker) Notify() { w.Inbox.Notify() }

// Run claims and applies items until ctx ends, then lets the items in
// hand finish (each is bounded by Timeout), records them and gives back
// what it never started.
func (w *Worker) Run(ctx context.Context) error {
	w.setup()
	if w.Inbox == nil {
		return fmt.Errorf("inbox worker: Server is required")
	}
	store := w.Inbox.store
	// Before the first claim: what is queued now is what an actor's
	// Creates may not pass (direct.go).
	if !w.Inbox.order.off {
		pending, err := store.PendingInboxActivities(ctx, w.Clock())
		if err != nil {
			return fmt.Errorf("inbox worker: %w", err)
		}
		w.Inbox.order.seed(pending, w.Applied)
	}
	results := make(chan storage.InboxResult, w.Batch)
	flushed := make(chan struct{})
	go func() {
		w.finishLoop(context.WithoutCancel(ctx), results)
		close(flushed)
	}()
	workCtx := context.WithoutCancel(ctx)
	var syncing sync.WaitGroup
	syncing.Go(func() { w.syncBacklog(ctx) })
	defer syncing.Wait()
	sem := make(chan struct{}, w.Concurrency)
	var inflight sync.WaitGroup
	tick := time.NewTicker(w.PollInterval)
	defer tick.Stop()
	maxHeld := int64(max(2*w.Concurrency, w.Batch))
	lastPrune := time.Time{}
	for ctx.Err() == nil {
		room := int(maxHeld - w.held.Load())
		drained := true
		if room >= min(w.Batch, int(maxHeld))/2 {
			limit := min(w.Batch, room)
			items, err := store.ClaimInbox(ctx, w.Owner, w.Clock(), limit, w.Lease)
			if err != nil && ctx.Err() == nil {
				w.Log.Error("claim inbox items", "err", err)
			}
			w.dispatch(ctx, workCtx, items, sem, results, &inflight)
			drained = err != nil || len(items) < limit
		}
		if now := w.Clock(); now.Sub(lastPrune) > time.Hour {
			lastPrune = now
			if n, err := store.PruneInbox(ctx, now.Add(-w.KeepDone)); err != nil && ctx.Err() == nil {
				w.Log.Warn("prune inbox", "err", err)
			} else if n > 0 {
				w.Log.Debug("pruned inbox items", "items", n)
			}
			if _, err := store.PruneTombstones(ctx, now.Add(-storage.TombstoneRetention)); err != nil && ctx.Err() == nil {
				w.Log.Warn("prune tombstones", "err", err)
			}
			if _, err := store.PruneKeyRefetches(ctx, now.Add(-federation.KeyRefetchGap)); err != nil && ctx.Err() == nil {
				w.Log.Warn("prune key refetches", "err", err)
			}
		}
		if !drained && int(maxHeld-w.held.Load()) >= min(w.Batch, int(maxHeld))/2 {
			continue
		}
		select {
		case <-ctx.Done():
		case <-w.Inbox.wake:
		case <-tick.C:
		case <-w.room:
		}
	}
	inflight.Wait()
	close(results)
	<-flushed
	relCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := store.ReleaseInbox(relCtx, w.Owner, w.Clock()); err != nil {
		return fmt.Errorf("inbox worker shutdown: %w", err)
	}
	return nil
}

// syncBacklog measures the worker's rate and reads the queue's length
// for the inbox's backpressure (see backlog.go) until ctx ends.
func (w *Worker) syncBacklog(ctx context.Context) {
	tick := time.NewTicker(backlogSync)
	defer tick.Stop()
	for i := 0; ; i++ {
		// The backlog's windows are real time, whatever Clock says.
		if i%backlogCount != 0 {
			w.Inbox.backlog.sync(time.Now(), -1)
		} else if n, err := w.Inbox.store.InboxDue(ctx, w.Clock()); err == nil {
			w.Inbox.backlog.sync(time.Now(), n+w.held.Load())
		} else if ctx.Err() == nil {
			w.Log.Warn("count due inbox items", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// dispatch starts one goroutine per actor in the batch, which applies
// its actor's items in order, each taking a slot of sem. Items not yet
// started when ctx ends go back to the queue unattempted.
//
// An actor's items overlap only where order cannot show: the next item
// starts once the one before has queued its post for the group commit
// (see pipeline.go), so an actor's consecutive Creates share a commit
// instead of one each; an item of any other type, or a Create naming a
// Note still on its way to the database, first waits until every item
// before it is finished. Results are recorded in the actor's order, so
// an item is never marked done before one that came before it.
func (w *Worker) dispatch(ctx, workCtx context.Context, items []storage.InboxItem, sem chan struct{},
	results chan<- storage.InboxResult, inflight *sync.WaitGroup) {
	var order []string
	groups := map[string][]*storage.InboxItem{}
	for i := range items {
		it := &items[i]
		if _, ok := groups[it.ActorID]; !ok {
			order = append(order, it.ActorID)
		}
		groups[it.ActorID] = append(groups[it.ActorID], it)
	}
	w.held.Add(int64(len(items)))
	for _, actor := range order {
		group := groups[actor]
		inflight.Go(func() {
			pipe := &actorPipe{}
			var earlier <-chan struct{} // closed once the items before have finished
			for _, it := range group {
				step := pipe.step(earlier)
				inflight.Go(func() {
					r, ok := w.applyOne(ctx, workCtx, sem, it, step)
					step.handOff()
					step.finish()
					if ok {
						if r.Done && it.Kind == storage.InboxActivity {
							w.Inbox.backlog.finished(1)
						}
						results <- r
					}
					w.held.Add(-1)
					w.room.Notify()
					step.close()
				})
				<-step.next
				earlier = step.finished
			}
		})
	}
}

// applyOne waits for a slot and applies one item. ok is false when the
// worker stopped first: the item stays leased, and Run's ReleaseInbox
// gives it back with the attempt uncounted.
func (w *Worker) applyOne(ctx, workCtx context.Context, sem chan struct{}, it *storage.InboxItem, step *pipeStep) (r storage.InboxResult, ok bool) {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return r, false
	}
	slot := &workerSlot{sem: sem, gate: w.gate, busy: w.Inbox.acceptsWaiting}
	slot.enterGate()
	defer slot.release()
	if ctx.Err() != nil {
		return r, false
	}
	itemCtx, cancel := context.WithTimeout(withStep(withSlot(workCtx, slot), step), w.Timeout)
	defer cancel()
	err := w.safeProcess(itemCtx, it)
	return w.result(it, err), true
}

// safeProcess applies an item; a panic on hostile input is an error for
// that item, not the end of the process.
func (w *Worker) safeProcess(ctx context.Context, it *storage.InboxItem) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = ignore("panic: %v", r)
		}
	}()
	return w.Inbox.process(ctx, it)
}

// result turns an item's outcome into what FinishInbox records.
func (w *Worker) result(it *storage.InboxItem, err error) storage.InboxResult {
	switch {
	case err == nil:
		w.counters.done.Add(1)
		return storage.InboxResult{ID: it.ID, Done: true}
	case isPermanent(err):
		w.counters.done.Add(1)
		w.Inbox.fed.Refusals().Log(context.Background(), slog.LevelInfo, "inbox activity not applied",
			strings.ToLower(as.HostOf(it.ActorID)), dropReason(err),
			slog.String("actor", it.ActorID), slog.String("item", it.ID.String()), slog.Any("err", err))
		return storage.InboxResult{ID: it.ID, Done: true, Error: err.Error()}
	case it.Attempts >= w.MaxAttempts:
		w.counters.failed.Add(1)
		w.Log.Warn("inbox activity given up", "actor", it.ActorID, "item", it.ID, "attempts", it.Attempts, "err", err)
		return storage.InboxResult{ID: it.ID, Done: true, Error: fmt.Sprintf("gave up after %d attempts: %v", it.Attempts, err)}
	}
	w.counters.retried.Add(1)
	w.Log.Debug("inbox activity will be retried", "actor", it.ActorID, "item", it.ID, "attempts", it.Attempts, "err", err)
	return storage.InboxResult{ID: it.ID, Error: err.Error(),
		RetryAt: w.Clock().Add(delivery.Backoff(it.Attempts, w.RetryBase, w.RetryMax))}
}

// finishLoop records results in batches, as the delivery worker does.
func (w *Worker) finishLoop(ctx context.Context, results <-chan storage.InboxResult) {
	const flushDelay = 20 * time.Millisecond
	worker.Batches(results, flushDelay, 500, func(batch []storage.InboxResult) { w.flush(ctx, batch) })
}

// flush records one batch, retrying a failing database a few times.
func (w *Worker) flush(ctx context.Context, batch []storage.InboxResult) {
	for try := 1; ; try++ {
		err := w.Inbox.store.FinishInbox(ctx, w.Owner, w.Clock(), batch)
		if err == nil {
			// The actors' next Creates may now be stored as they
			// arrive (direct.go).
			w.Inbox.order.recorded(batch)
			// The leases just ended may have held back later
			// activities of the same actors: claim them now.
			w.Inbox.Notify()
			if w.Applied != nil {
				w.Applied()
			}
			return
		}
		if try == 5 {
			// The leases run out and the items are applied again;
			// every apply is idempotent.
			w.Log.Error("record inbox results", "items", len(batch), "err", err)
			return
		}
		time.Sleep(time.Duration(try) * 100 * time.Millisecond)
	}
}
