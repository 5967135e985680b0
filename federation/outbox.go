package federation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/skein-forum/skein/storage"
)

// The outbox: every local change that federates leaves an outbox event,
// written by storage in the change's own transaction. The OutboxWorker
// turns each event into the activities it implies and one delivery job
// per target inbox, and marks the event processed, all in a second single
// transaction (storage.CompleteEvent). Nothing is lost to a crash at any
// point: before the first commit there is no change and no event; between
// the two the event is still pending and is processed after the restart;
// after the second every job is in the queue, which the delivery worker
// carries out at least once. The queue is therefore always complete for
// every committed change, which is what issue 4 asks of "the same
// transaction".
//
// Who gets what (issue 4; the builders are in outbox_activities.go, the
// audiences in outbox_recipients.go):
//
//   - the member's remote followers, the remote authors a post replies to
//     or quotes, and the remote actors it mentions get Create{Note},
//     Update{Note} and Delete{Tombstone} from the member;
//   - the thread's remote followers get Announce{Note} from the thread
//     actor for every new post, local or remote, and the member's Update
//     and Delete;
//   - the forum's remote followers get Announce{Note} of each new thread's
//     first post only, and its Update and Delete;
//   - forum followers running group software (Lemmy, NodeBB, PieFed, Mbin)
//     get Announce{activity} from the forum of every Create, Update and
//     Delete in the forum (FEP-1b12);
//   - in a mirror thread, the remote thread actor gets the member's
//     activities too;
//   - a member's Like of a remote post goes to its author (and the
//     mirror's thread actor), Undo{Like} likewise;
//   - a remote author's own Update or Delete of its reply in a local
//     thread is announced, as received, by the thread to its followers
//     and by the forum to its group peers (outbox_forward.go);
//   - moderation events (report.forward, account.delete, thread.move) are
//     built in moderation.go, which lists who gets them.
//
// Activity ids (all under the node, never reused; the activities table
// holds each once):
//
//	NOTE#create                      Create{Note} (also in the member's outbox collection)
//	NOTE#update-EVENT                Update{Note}
//	NOTE#delete-EVENT                Delete{Tombstone}
//	ACTOR#announce-EVENT             Announce by a thread or forum actor
//	ACTOR#announce-EVENT-activity    FEP-1b12 Announce{activity} by a forum
//	MEMBER#like-EVENT                Like (EVENT is the like.create event)
//	MEMBER#undo-EVENT                Undo{Like}
//	MEMBER#follow-ID, MEMBER#undo-follow-ID   Follow of a remote actor, its Undo
//
// where EVENT is the base-36 id of the outbox event that caused it.

// OutboxWorker processes outbox events until its context ends. Fill the
// exported fields and call Run once. On SQLite one process owns the
// outbox; on PostgreSQL several may run, and CompleteEvent lets only one
// of them complete each event.
type OutboxWorker struct {
	Server *Server
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
	wake      chan struct{}
	failures  map[storage.ID]*eventFailure // events whose processing failed, for backoff
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

func (w *OutboxWorker) setup() {
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
		w.wake = make(chan struct{}, 1)
		w.failures = map[storage.ID]*eventFailure{}
		w.software = newSoftwareProber(w.Server, w.Log)
	})
}

// Notify wakes the worker at once, for instance right after a member
// posted. It never blocks.
func (w *OutboxWorker) Notify() {
	w.setup()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run processes events until ctx ends.
func (w *OutboxWorker) Run(ctx context.Context) error {
	w.setup()
	if w.Server == nil {
		return errors.New("outbox worker: Server is required")
	}
	var probes sync.WaitGroup
	probes.Go(func() { w.software.run(ctx) })
	defer probes.Wait()
	tick := time.NewTicker(w.PollInterval)
	defer tick.Stop()
	for ctx.Err() == nil {
		n, err := w.ProcessPending(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("outbox", "err", err)
		}
		if n == w.Batch {
			continue // there may be more
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-tick.C:
		}
	}
	return nil
}

// ProcessPending processes one batch of pending events, oldest first, and
// returns how many it read. Events that fail are tried again later with a
// backoff; the others do not wait for them.
func (w *OutboxWorker) ProcessPending(ctx context.Context) (int, error) {
	w.setup()
	events, err := w.Server.store.PendingEvents(ctx, w.Batch)
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
	if err := w.Server.store.CompleteEvents(ctx, idle); err != nil {
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
func (w *OutboxWorker) process(ctx context.Context, ev storage.OutboxEvent, idle *[]storage.ID) (bool, error) {
	acts, err := w.Activities(ctx, ev)
	if err != nil {
		return false, fmt.Errorf("build %s event %s: %w", ev.Kind, ev.ID, err)
	}
	if len(acts) == 0 && idle != nil {
		*idle = append(*idle, ev.ID)
		return false, nil
	}
	err = w.Server.store.CompleteEvent(ctx, ev.ID, acts)
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
func (w *OutboxWorker) failed(ctx context.Context, ev storage.OutboxEvent, err error) {
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
		if cerr := w.Server.store.CompleteEvent(ctx, ev.ID, nil); cerr == nil || errors.Is(cerr, storage.ErrEventProcessed) {
			delete(w.failures, ev.ID)
		}
		return
	}
	f.next = time.Now().Add(time.Duration(1<<f.attempts) * 100 * time.Millisecond)
	w.Log.Warn("outbox event failed; will retry", "event", ev.ID, "kind", ev.Kind, "attempts", f.attempts, "err", err)
}

// Activities builds what an event sends: the activities and their
// recipients. An event with nothing to send (a local-only change, a
// member nobody remote follows) gives none.
func (w *OutboxWorker) Activities(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	w.setup()
	switch ev.Kind {
	case storage.EventThreadCreate, storage.EventPostCreate:
		return w.postCreated(ctx, ev)
	case storage.EventPostUpdate:
		return w.postUpdated(ctx, ev)
	case storage.EventPostDelete:
		return w.postDeleted(ctx, ev)
	case storage.EventThreadDelete:
		return w.threadDeleted(ctx, ev)
	case storage.EventLikeCreate, storage.EventLikeDelete:
		return w.likeChanged(ctx, ev)
	case storage.EventReportForward: // moderation.go
		return w.reportForwarded(ctx, ev)
	case storage.EventAccountDelete:
		return w.accountDeleted(ctx, ev)
	case storage.EventThreadMove:
		return w.threadMoved(ctx, ev)
	case storage.EventRemotePostDelete:
		// The post's own server speaks for it; the thread forwards the
		// author's own Delete to its followers (outbox_forward.go).
		return w.forwardRemoteActivity(ctx, ev, "Delete")
	}
	w.Log.Warn("unknown outbox event kind: nothing sent", "event", ev.ID, "kind", ev.Kind)
	return nil, nil
}
