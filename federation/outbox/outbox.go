package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/skein-forum/skein/federation"
	"github.com/skein-forum/skein/internal/worker"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// Worker processes outbox events until its context ends. Fill the
// exported fields and call Run once. On SQLite one process owns the
// outbox; on PostgreSQL several may run, and CompleteEvent lets only one
// of them complete each event.
type Worker struct {
	// Fed is the federation server of the node whose events these are;
	// required.
	Fed *federation.Server
	// Queued is called after events were turned into delivery jobs: the
	// node wires it to the delivery worker's Notify.
	Queued func()
	Log    *slog.Logger
	// PollInterval is how often pending events are looked for without a
	// Notify; default 200 ms, so a change made by another process (or
	// without a Notify) still leaves within a moment.
	PollInterval time.Duration
	// Batch is how many events one pass reads; default 100.
	Batch int

	setupOnce sync.Once
	store     *storage.Store
	urls      *site.URLs
	wake      worker.Signal
	failures  map[storage.ID]*eventFailure // events whose processing failed, for backoff
	remote    map[storage.ID]bool          // whether an account is remote (see remoteAuthor)
	software  *softwareProber
}

type eventFailure struct {
	attempts int
	next     time.Time
}

// maxEventAttempts bounds how often an event whose activities cannot be
// built (a bug, or data that makes no sense) is tried before it is
// completed with nothing sent, so it never blocks the outbox.
const maxEventAttempts = 8

func (w *Worker) setup() {
	w.setupOnce.Do(func() {
		if w.Log == nil {
			w.Log = slog.Default()
		}
		if w.PollInterval <= 0 {
			w.PollInterval = 200 * time.Millisecond
		}
		if w.Batch <= 0 {
			w.Batch = 100
		}
		w.wake = worker.NewSignal()
		w.failures = map[storage.ID]*eventFailure{}
		w.remote = map[storage.ID]bool{}
		if w.Fed != nil {
			w.store, w.urls = w.Fed.Store(), w.Fed.URLs()
			w.software = newSoftwareProber(w.store, w.Fed.Client(), w.Log)
		}
	})
}

// Notify wakes the worker at once, for instance right after a member
// posted. It never blocks.
func (w *Worker) Notify() {
	w.setup()
	w.wake.Notify()
}

// Run processes events until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	w.setup()
	if w.Fed == nil {
		return errors.New("outbox worker: Fed is required")
	}
	var probes sync.WaitGroup
	probes.Go(func() { w.software.run(ctx) })
	defer probes.Wait()
	worker.Loop(ctx, w.PollInterval, w.wake, func(ctx context.Context) bool {
		n, err := w.ProcessPending(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("outbox", "err", err)
		}
		return n == w.Batch // there may be more
	})
	return nil
}

// ProcessPending processes one batch of pending events, oldest first, and
// returns how many it read. Events that fail are tried again later with a
// backoff; the others do not wait for them.
func (w *Worker) ProcessPending(ctx context.Context) (int, error) {
	w.setup()
	events, err := w.store.PendingEvents(ctx, w.Batch)
	if err != nil {
		return 0, err
	}
	ctx, err = w.withPass(ctx, events)
	if err != nil {
		return 0, err
	}
	queued := false
	now := time.Now()
	var idle []storage.ID // events that send nothing, completed together
	for _, ev := range events {
		if f := w.failures[ev.ID]; f != nil && now.Before(f.next) {
			continue
		}
		sent, err := w.process(ctx, ev, &idle)
		if err != nil {
			if ctx.Err() != nil {
				return len(events), nil
			}
			w.failed(ctx, ev, err)
			continue
		}
		delete(w.failures, ev.ID)
		queued = queued || sent
	}
	if err := w.store.CompleteEvents(ctx, idle); err != nil {
		return len(events), err // they stay pending and are built again
	}
	if queued && w.Queued != nil {
		w.Queued()
	}
	return len(events), nil
}

// process builds and completes one event; it reports whether any job was
// queued. An event that sends nothing is added to idle for the caller to
// complete with others.
func (w *Worker) process(ctx context.Context, ev storage.OutboxEvent, idle *[]storage.ID) (bool, error) {
	if passOf(ctx).isQuiet(ev) && idle != nil {
		*idle = append(*idle, ev.ID)
		return false, nil
	}
	acts, err := w.Activities(ctx, ev)
	if err != nil {
		return false, fmt.Errorf("build %s event %s: %w", ev.Kind, ev.ID, err)
	}
	if len(acts) == 0 && idle != nil {
		*idle = append(*idle, ev.ID)
		return false, nil
	}
	err = w.store.CompleteEvent(ctx, ev.ID, acts)
	if errors.Is(err, storage.ErrEventProcessed) {
		return false, nil // another process did it
	}
	if err != nil {
		return false, err
	}
	return len(acts) > 0, nil
}

// failed records a failure and, once an event has failed too often,
// completes it with nothing sent.
func (w *Worker) failed(ctx context.Context, ev storage.OutboxEvent, err error) {
	f := w.failures[ev.ID]
	if f == nil {
		if len(w.failures) > 10000 {
			clear(w.failures)
		}
		f = &eventFailure{}
		w.failures[ev.ID] = f
	}
	f.attempts++
	if f.attempts >= maxEventAttempts {
		w.Log.Error("outbox event dropped: nothing will be sent for it", "event", ev.ID, "kind", ev.Kind, "err", err)
		if cerr := w.store.CompleteEvent(ctx, ev.ID, nil); cerr == nil || errors.Is(cerr, storage.ErrEventProcessed) {
			delete(w.failures, ev.ID)
		}
		return
	}
	f.next = time.Now().Add(time.Duration(1<<f.attempts) * 100 * time.Millisecond)
	w.Log.Warn("outbox event failed; will retry", "event", ev.ID, "kind", ev.Kind, "attempts", f.attempts, "err", err)
}

// builder builds what one event sends.
type builder func(w *Worker, ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error)

// builders is what each outbox event kind sends, one builder per event
// family in a file of its own. A kind missing here is completed with
// nothing sent, and a test fails for every storage.Event kind that has
// no builder.
var builders = map[string]builder{
	storage.EventThreadCreate:     (*Worker).postCreated,
	storage.EventPostCreate:       (*Worker).postCreated,
	storage.EventPostUpdate:       (*Worker).postUpdated,
	storage.EventPostDelete:       (*Worker).postDeleted,
	storage.EventThreadDelete:     (*Worker).threadDeleted,
	storage.EventThreadMove:       (*Worker).threadMoved,
	storage.EventLikeCreate:       (*Worker).likeChanged,
	storage.EventLikeDelete:       (*Worker).likeChanged,
	storage.EventReportForward:    (*Worker).reportForwarded,
	storage.EventAccountDelete:    (*Worker).accountDeleted,
	storage.EventRemotePostDelete: (*Worker).remotePostDeleted,
}

// Activities builds what an event sends: the activities and their
// recipients. An event with nothing to send (a local-only change, a
// member nobody remote follows) gives none.
func (w *Worker) Activities(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	w.setup()
	build := builders[ev.Kind]
	if build == nil {
		w.Log.Warn("unknown outbox event kind: nothing sent", "event", ev.ID, "kind", ev.Kind)
		return nil, nil
	}
	return build(w, ctx, ev)
}
