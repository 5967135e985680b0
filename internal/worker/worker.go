// Package worker holds the loop shapes the node's queue workers
// (delivery, inbox, outbox, mail) share: the wake-up call a worker waits
// on, the loop that claims until the queue looks drained and then waits,
// and the gathering of results into batches so they are written in one
// transaction.
package worker

import (
	"context"
	"time"
)

// Signal is a wake-up call a worker waits on (<-s). Notify never blocks,
// and the calls made before the worker looks count as one: the worker
// reads the whole queue when it wakes, not one item per call.
type Signal chan struct{}

// NewSignal returns a Signal no one has notified yet.
func NewSignal() Signal { return make(Signal, 1) }

// Notify wakes the worker waiting on s, or the next one to wait.
func (s Signal) Notify() {
	select {
	case s <- struct{}{}:
	default:
	}
}

// Loop calls pass until ctx ends. A pass that says there is more (it
// claimed a full batch) is followed by the next at once; otherwise the
// next waits for wake, the next tick of every, or the end of ctx, so an
// idle queue costs one pass per tick and a notified one is read within
// a moment.
func Loop(ctx context.Context, every time.Duration, wake <-chan struct{}, pass func(context.Context) (more bool)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for ctx.Err() == nil {
		if pass(ctx) {
			continue
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-tick.C:
		}
	}
}

// Batches hands what arrives on results to flush in batches until
// results is closed: after the first value it waits up to delay for more
// (at most limit in all), so a busy worker writes one transaction per
// batch and an idle one writes each result within delay. flush must not
// keep the slice: it is reused for the next batch.
func Batches[T any](results <-chan T, delay time.Duration, limit int, flush func([]T)) {
	var batch []T
	for r := range results {
		timer := time.NewTimer(delay)
		batch = Gather(append(batch[:0], r), results, limit, timer.C)
		timer.Stop()
		flush(batch)
	}
}

// Gather adds what waits on ch to batch, up to limit items. With
// lingered set it also waits for more until lingered fires; without, a
// lone item on an idle node goes at once. It returns early when ch is
// closed.
func Gather[T any](batch []T, ch <-chan T, limit int, lingered <-chan time.Time) []T {
	for len(batch) < limit {
		select {
		case p, ok := <-ch:
			if !ok {
				return batch
			}
			batch = append(batch, p)
			continue
		default:
		}
		if lingered == nil {
			return batch
		}
		select {
		case p, ok := <-ch:
			if !ok {
				return batch
			}
			batch = append(batch, p)
		case <-lingered:
			return batch
		}
	}
	return batch
}
