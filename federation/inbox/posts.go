package inbox

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skein-forum/skein/internal/worker"
	"github.com/skein-forum/skein/storage"
)

// Group commit of the posts the inbox worker stores. Storing a remote
// reply was one transaction of its own (CreatePost), and on SQLite's
// single writer those transactions and their commits were most of what
// the worker spent per activity. Instead, every post an inbox item wants
// to store goes through one loop that stores all the posts waiting at that
// moment in one transaction (storage.CreatePosts); a lone post is stored
// at once, so an idle node adds no delay. The item waits for its post's
// commit before it goes on, so an actor's activities are still applied
// one after the other (a Create is stored before its Update), and while
// it waits it gives its worker slot to another item (see workerSlot):
// the batch grows with the items waiting, not with the slots.

const maxPostBatch = 128

// There is no linger: the loop stores whatever posts are waiting as soon
// as the commit before is done. While the writer is busy the next batch
// grows by itself (the POSTs that arrive meanwhile wait in the channel),
// so batches are large exactly when the writer is the bound, and a writer
// with room to spare never sits idle waiting for more. Measured with
// `skein-load ingest --duration 20s --concurrency 64` (load average 1-2,
// two pairs): a linger of up to 10 ms for a batch a quarter larger than
// the last gave 1,741 and 1,826 applied/s at 682 and 637 µs of node CPU
// an activity; none gave 2,188 and 2,053/s at 633 and 679 µs. The bigger
// batches the linger bought saved no CPU end to end and cost the
// senders' round trips.

type postCommit struct {
	once sync.Once
	ch   chan *pendingPost
	// commits and stored count the batches and their posts, for the
	// benchmarks' posts a commit.
	commits, stored atomic.Int64
}

type pendingPost struct {
	np       storage.NewPost
	activity string // the id of the activity applied directly (direct.go); '' from the worker
	res      storage.PostResult
	err      error
	done     chan struct{}
}

// createPost stores a post through the group commit; it returns what
// storage.CreatePost would, and whether the post is new (not one stored
// before with the same APID).
func (in *Inbox) createPost(ctx context.Context, np storage.NewPost) (*storage.Post, bool, error) {
	return in.commitPost(ctx, np, "")
}

// commitPost is createPost for the post of an activity applied as it
// arrived (direct.go), whose id, unless empty, the queue must not hold
// (see [storage.Store.CreateInboxPosts]): if it does, the error is
// storage.ErrRepeatActivity.
func (in *Inbox) commitPost(ctx context.Context, np storage.NewPost, activity string) (*storage.Post, bool, error) {
	c := &in.posts
	c.once.Do(func() {
		c.ch = make(chan *pendingPost, maxPostBatch)
		go in.postCommitLoop(c.ch)
	})
	// What storing the post computes from the post alone is done here,
	// on the goroutine of the request or item that brings it: the
	// commit loop is the one writer, and everything it does is serial.
	np.Prepare()
	if slot := slotOf(ctx); slot != nil {
		slot.release()
		defer slot.reacquire()
	}
	p := &pendingPost{np: np, activity: activity, done: make(chan struct{})}
	select {
	case c.ch <- p:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	// The commit keeps the order posts were queued in: the actor's next
	// activity may start now (see pipeline.go).
	apID := ""
	if np.APID != nil {
		apID = *np.APID
	}
	postQueued(ctx, apID)
	// Once queued the post is committed or refused even if ctx ends: the
	// item is retried on an error, and the APID keeps the post single.
	<-p.done
	postStored(ctx, apID)
	if p.err != nil {
		return nil, false, p.err
	}
	if p.res.Err != nil {
		return nil, false, p.res.Err
	}
	return p.res.Post, p.res.Created, nil
}

// testHookCommit, set by tests only, runs before each commit of posts.
var testHookCommit atomic.Pointer[func()]

// postCommitLoop stores batches for the life of the process.
func (in *Inbox) postCommitLoop(ch chan *pendingPost) {
	batch := make([]*pendingPost, 0, maxPostBatch)
	nps := make([]storage.NewPost, 0, maxPostBatch)
	acts := make([]string, 0, maxPostBatch)
	for first := range ch {
		batch = worker.Gather(append(batch[:0], first), ch, maxPostBatch, nil)
		nps, acts = nps[:0], acts[:0]
		for _, p := range batch {
			nps = append(nps, p.np)
			acts = append(acts, p.activity)
		}
		if hook := testHookCommit.Load(); hook != nil {
			(*hook)()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := in.store.CreateInboxPosts(ctx, nps, acts)
		cancel()
		in.posts.commits.Add(1)
		in.posts.stored.Add(int64(len(batch)))
		direct := 0
		if err != nil && len(batch) > 1 {
			// One post the database refuses must not fail the others
			// (they would be retried, and given up with it): store
			// each on its own.
			for _, p := range batch {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				one, err := in.store.CreateInboxPosts(ctx, []storage.NewPost{p.np}, []string{p.activity})
				cancel()
				if err != nil {
					p.err = err
				} else {
					p.res = one[0]
					direct += p.storedDirectly()
				}
				close(p.done)
			}
		} else {
			for i, p := range batch {
				if err != nil {
					p.err = err
				} else {
					p.res = res[i]
					direct += p.storedDirectly()
				}
				close(p.done)
			}
		}
		if direct > 0 {
			// The worker wakes the outbox after what it applied; the
			// activities stored directly never reach it.
			in.order.wake()
			in.directRate.add(time.Now(), int64(direct))
		}
	}
}

// storedDirectly is 1 for a post of an activity applied as it arrived
// that is new, 0 otherwise (a repeat, a refusal, or the worker's).
func (p *pendingPost) storedDirectly() int {
	if p.activity != "" && p.res.Err == nil && p.res.Created {
		return 1
	}
	return 0
}

// workerSlot is an Worker's concurrency slot held by the item being
// applied, carried in its context so that waiting for a commit can lend
// it out. While POSTs wait for their commit the item also holds the
// worker's busy gate (gate has BusyConcurrency places), so the worker
// takes less of the CPU the inboxes need to answer.
type workerSlot struct {
	sem, gate chan struct{}
	busy      func() bool
	gated     bool
}

type slotKey struct{}

func withSlot(ctx context.Context, slot *workerSlot) context.Context {
	return context.WithValue(ctx, slotKey{}, slot)
}

func slotOf(ctx context.Context) *workerSlot {
	s, _ := ctx.Value(slotKey{}).(*workerSlot)
	return s
}

// enterGate takes a place at the gate when the inboxes are busy.
func (w *workerSlot) enterGate() {
	if w.gate != nil && w.busy() {
		w.gate <- struct{}{}
		w.gated = true
	}
}

func (w *workerSlot) release() {
	if w.gated {
		<-w.gate
		w.gated = false
	}
	<-w.sem
}

func (w *workerSlot) reacquire() {
	w.sem <- struct{}{}
	w.enterGate()
}
