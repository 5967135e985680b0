package inbox

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skein-forum/skein/internal/worker"
	"github.com/skein-forum/skein/storage"
)

// Group commit of accepted inbox POSTs. SQLite has one writer and a
// commit costs far more than a row (hundreds of microseconds on ordinary
// disks), so one transaction per POST caps the inboxes at a few thousand
// activities a second. Instead, POSTs that arrive while a commit is
// running wait for the next one and share it; a lone POST is committed at
// once, so an idle node adds no delay.

const maxCommitBatch = 256

type inboxCommit struct {
	once sync.Once
	ch   chan *pendingItem
	// waiting counts accepted POSTs not yet answered because their
	// commit is pending: while there are any, the Worker keeps to
	// one item at a time (see Worker.BusyConcurrency).
	waiting atomic.Int64
}

type pendingItem struct {
	item storage.NewInboxItem
	id   storage.ID // once stored; 0 for a repeat
	err  error
	done chan struct{}
}

// acceptInbox stores one verified POST through the group commit; turn,
// when not nil, is the actor's turn a Create that was not stored
// directly holds (see applyDirect): that Create waits for nothing and
// holds back the actor's next POSTs until it is in the commit's order.
func (in *Inbox) acceptInbox(ctx context.Context, item storage.NewInboxItem, turn *directStore) (bool, error) {
	c := &in.commit
	c.once.Do(func() {
		c.ch = make(chan *pendingItem, maxCommitBatch)
		go in.commitLoop(c.ch)
	})
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	p := &pendingItem{item: item, done: make(chan struct{})}
	if turn != nil {
		// Counted as accepting already (directStore.toQueue).
		defer func() { in.order.endQueued(item.ActorID, p.id) }()
		select {
		case c.ch <- p:
			turn.inQueue()
		case <-ctx.Done():
			turn.inQueue()
			return false, ctx.Err()
		}
		<-p.done
		return p.id != 0, p.err
	}
	if item.Kind == "" || item.Kind == storage.InboxActivity {
		// After the actor's Creates being stored directly (direct.go),
		// and counted as queued until the worker recorded its result.
		if earlier := in.order.startQueued(item.ActorID); earlier != nil {
			select {
			case <-earlier:
			case <-ctx.Done():
				in.order.endQueued(item.ActorID, 0)
				return false, ctx.Err()
			}
		}
		defer func() { in.order.endQueued(item.ActorID, p.id) }()
	}
	select {
	case c.ch <- p:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	// Once queued the item is committed even if the sender hangs up: it
	// may retry, and the activity id keeps that from storing it twice.
	<-p.done
	return p.id != 0, p.err
}

// acceptsWaiting reports whether POSTs to the inboxes wait for a commit.
func (in *Inbox) acceptsWaiting() bool { return in.commit.waiting.Load() > 0 }

// commitLoop writes batches for the life of the process.
func (in *Inbox) commitLoop(ch chan *pendingItem) {
	batch := make([]*pendingItem, 0, maxCommitBatch)
	items := make([]storage.NewInboxItem, 0, maxCommitBatch)
	for first := range ch {
		batch = append(batch[:0], first)
		batch = worker.Gather(batch, ch, maxCommitBatch, nil)
		items = items[:0]
		for _, p := range batch {
			items = append(items, p.item)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ids, err := in.store.AcceptInboxItems(ctx, items)
		cancel()
		for i, p := range batch {
			if err != nil {
				p.err = err
			} else {
				p.id = ids[i]
				if p.id != 0 {
					in.backlog.accepted(1)
				}
			}
			close(p.done)
		}
	}
}
