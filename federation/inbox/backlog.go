package inbox

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Backpressure. Accepting a POST costs a fraction of applying it, so a
// node that takes every POST it can answer queues work faster than it
// applies it: the queue, and the time from a 202 to the post on the
// page, grow for as long as senders push. Instead, while the activities
// accepted and not yet applied are more than DefaultMaxBacklog of the
// worker's work, a POST waits before its body is read, up to
// admissionWait, for the worker to make room, and is answered 503 with
// Retry-After if none comes; senders retry (Mastodon, GoToSocial and
// Misskey all retry a 5xx), so nothing is lost, and what was accepted
// is on the page within about DefaultMaxBacklog. Waiting first matters:
// a Retry-After is whole seconds, longer than the queue's work, and
// senders all sent away at once would leave the worker idle.
//
// The count is this process's view: accepted POSTs add to it, items the
// worker finishes take from it, and the worker sets it from the database
// every backlogSync (items of other processes, or left from before a
// restart). Without a worker that synced recently the inbox never turns
// anyone away.

// DefaultMaxBacklog is how much of the worker's work may wait in the
// queue before the inbox answers 503.
const DefaultMaxBacklog = 500 * time.Millisecond

// minBacklog is the fewest waiting activities that turn senders away,
// whatever the rate: a burst from one busy server is taken whole, and a
// node just started, which has not measured its rate yet, takes its
// first few hundred.
const minBacklog = 256

// backlogSync is how often the worker measures its rate; every
// backlogCount of those it also reads the queue's length from the
// database (a count that reads every waiting item's row).
const (
	backlogSync  = 500 * time.Millisecond
	backlogCount = 10
)

// admissionWait is how long a POST waits for room in a full queue, and
// maxWaiting how many may wait at once; the rest are answered 503 at
// once.
const (
	admissionWait = 2 * time.Second
	maxWaiting    = 256
)

type backlog struct {
	max     time.Duration // DefaultMaxBacklog, or Config.MaxBacklog
	pending atomic.Int64  // activities accepted and not yet finished
	limit   atomic.Int64  // pending beyond which POSTs are refused; 0 off
	synced  atomic.Int64  // unix nanoseconds of the worker's last sync
	waiting atomic.Int64  // POSTs waiting for room
	room    chan struct{} // a token for each activity finished while POSTs wait

	mu      sync.Mutex
	applied int64     // finished since the window began
	low     int64     // the fewest pending seen in the window
	began   time.Time // the window's start
	rate    float64   // activities applied a second, while there was work
}

// accepted counts n activities queued.
func (b *backlog) accepted(n int64) { b.pending.Add(n) }

// finished counts n activities the worker is done with.
func (b *backlog) finished(n int64) {
	// The count may go below zero for items queued before the last read
	// of the database; readers clamp it, and the next sync corrects it.
	// Storing 0 here instead could erase a concurrent accepted.
	b.pending.Add(-n)
	for range min(n, b.waiting.Load()) {
		select {
		case b.room <- struct{}{}:
		default:
		}
	}
	b.mu.Lock()
	b.applied += n
	b.low = min(b.low, max(b.pending.Load(), 0))
	b.mu.Unlock()
}

// full reports whether a POST arriving at now should be turned away.
func (b *backlog) full(now time.Time) bool {
	limit := b.limit.Load()
	if limit == 0 || now.UnixNano()-b.synced.Load() > int64(4*backlogSync) {
		return false
	}
	return b.pending.Load() >= limit
}

// admit reports whether a POST may be taken: at once while the queue
// has room, or once the worker has made some within admissionWait.
func (b *backlog) admit(ctx context.Context) bool {
	if !b.full(time.Now()) {
		return true
	}
	if b.waiting.Add(1) > maxWaiting {
		b.waiting.Add(-1)
		return false
	}
	defer b.waiting.Add(-1)
	deadline := time.NewTimer(admissionWait)
	defer deadline.Stop()
	for {
		select {
		case <-b.room:
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		}
		if !b.full(time.Now()) {
			return true
		}
	}
}

// sync closes a measuring window at now: queued is the number of
// activities waiting in the database, or -1 to keep the count the inbox
// and the worker keep between reads. The rate is what the worker
// applied in the window when it never ran out of work (then it is what
// the worker can do), and at least that otherwise.
func (b *backlog) sync(now time.Time, queued int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if el := now.Sub(b.began); !b.began.IsZero() && el > 0 {
		measured := float64(b.applied) / el.Seconds()
		if b.low > 0 && b.rate > 0 {
			b.rate = 0.5*b.rate + 0.5*measured
		} else {
			b.rate = max(b.rate, measured)
		}
	}
	b.began, b.applied = now, 0
	if queued >= 0 {
		b.pending.Store(queued)
	}
	b.low = max(b.pending.Load(), 0)
	if b.max > 0 {
		b.limit.Store(max(minBacklog, int64(math.Round(b.rate*b.max.Seconds()))))
	}
	b.synced.Store(now.UnixNano())
}
