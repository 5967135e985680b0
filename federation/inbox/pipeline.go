package inbox

import (
	"context"
	"sync"
)

// An actor's activities are applied in the order they arrived, but
// waiting for each post's commit before the next activity starts made a
// busy actor cost a commit per post: a server sending its replies from a
// few accounts filled each group commit with a post per account. So the
// next item of an actor starts as soon as the one before has queued its
// post for the group commit (the commit loop stores posts in the order
// they were queued), and only what could see the difference waits for
// everything before it to finish:
//   - any activity but a Create (an Update, Delete, Undo, Like, Announce
//     or Follow may be about what came before), and the node's own jobs;
//   - a Create of a Note whose id, inReplyTo or quote is a post an earlier
//     item queued and the commit has not stored yet.
//
// An item's result is recorded only once every item before it finished,
// so the queue never marks an activity done ahead of one that preceded
// it: after a crash, what is left to apply is a tail of each actor's
// activities, as before.

// actorPipe is the state one actor's items share within a batch.
type actorPipe struct {
	mu sync.Mutex
	// inFlight counts the posts queued for commit by this actor's items
	// and not stored yet, by ActivityPub id.
	inFlight map[string]int
}

// pipeStep is one item's place in its actor's pipe.
type pipeStep struct {
	pipe     *actorPipe
	earlier  <-chan struct{} // closed once every earlier item finished; nil for the first
	next     chan struct{}   // closed once the next item may start
	finished chan struct{}   // closed once this item and every earlier one finished
	handed   sync.Once
}

// step adds the next item to the pipe, after the items whose end
// closes earlier (nil for the first item).
func (p *actorPipe) step(earlier <-chan struct{}) *pipeStep {
	return &pipeStep{pipe: p, earlier: earlier, next: make(chan struct{}), finished: make(chan struct{})}
}

// handOff lets the next item start; later calls do nothing.
func (s *pipeStep) handOff() { s.handed.Do(func() { close(s.next) }) }

// finish waits until every earlier item finished.
func (s *pipeStep) finish() {
	if s.earlier != nil {
		<-s.earlier
	}
}

// close marks this item, and with it every earlier one, finished.
func (s *pipeStep) close() { close(s.finished) }

type stepKey struct{}

func withStep(ctx context.Context, s *pipeStep) context.Context {
	if s == nil {
		return ctx
	}
	return context.WithValue(ctx, stepKey{}, s)
}

func stepOf(ctx context.Context) *pipeStep {
	s, _ := ctx.Value(stepKey{}).(*pipeStep)
	return s
}

// postQueued records that the item applying under ctx queued the post of
// Note apID for commit, and lets the actor's next item start.
func postQueued(ctx context.Context, apID string) {
	s := stepOf(ctx)
	if s == nil {
		return
	}
	if apID != "" {
		s.pipe.mu.Lock()
		if s.pipe.inFlight == nil {
			s.pipe.inFlight = make(map[string]int)
		}
		s.pipe.inFlight[apID]++
		s.pipe.mu.Unlock()
	}
	s.handOff()
}

// postStored undoes postQueued once the commit is over, stored or not.
func postStored(ctx context.Context, apID string) {
	s := stepOf(ctx)
	if s == nil || apID == "" {
		return
	}
	s.pipe.mu.Lock()
	if s.pipe.inFlight[apID]--; s.pipe.inFlight[apID] <= 0 {
		delete(s.pipe.inFlight, apID)
	}
	s.pipe.mu.Unlock()
}

// waitEarlier waits until every earlier item of the actor finished,
// lending the item's worker slot meanwhile: the earlier items may need
// one to finish.
func waitEarlier(ctx context.Context) error {
	s := stepOf(ctx)
	if s == nil || s.earlier == nil {
		return nil
	}
	select {
	case <-s.earlier:
		return nil
	default:
	}
	if slot := slotOf(ctx); slot != nil {
		slot.release()
		defer slot.reacquire()
	}
	select {
	case <-s.earlier:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitEarlierFor is waitEarlier when one of the Notes ids names is still
// on its way to the database from an earlier item.
func waitEarlierFor(ctx context.Context, ids ...string) error {
	s := stepOf(ctx)
	if s == nil || s.earlier == nil {
		return nil
	}
	s.pipe.mu.Lock()
	pending := false
	for _, id := range ids {
		if id != "" && s.pipe.inFlight[id] > 0 {
			pending = true
		}
	}
	s.pipe.mu.Unlock()
	if !pending {
		return nil
	}
	return waitEarlier(ctx)
}
