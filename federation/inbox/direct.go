package inbox

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// Creates applied as they arrive. Most of what a busy node receives is
// replies to its own threads from authors it knows, and the queue made
// each of them cost four transactions (accept, claim, store, finish),
// each with its commit. Such a Create is instead stored by the POST
// itself, through the posts' group commit (storage.Store.CreateInboxPosts):
// the 202 is sent once that commit is over, so the activity is as durable
// as a queued one. The activity itself is not written anywhere: its
// Note's id, the post's APID, keeps a retry from storing it twice, and
// the commit refuses an activity whose id the queue holds (one refused
// there before, a locked thread, must not be applied by its replay).
//
// Only what needs nothing the queue gives is applied so: a Create of a
// public Note by its own author, carried in full, answering a post or
// thread here that is not a mirror, from an actor whose account is in
// memory (no fetch on the request's path) and who has no activity
// queued or leased ahead of it. Anything else, and anything this path
// would refuse, goes to the queue as before, where the worker applies
// or refuses it as it always did.
//
// Order: an actor's activities are still applied in the order they
// arrived. A direct Create waits for nothing, since the actor has
// nothing queued before it; a POST of that actor bound for the queue
// while a direct Create is being stored waits for that store before its
// own commit (actorOrder). The worker keeps an actor's queued items
// counted until their results are recorded, so after a crash what is
// left to apply is still a tail of each actor's activities.
//
// On SQLite only: one process owns the queue, so this process's count
// of what is queued is the whole truth. On PostgreSQL every Create goes
// through the queue.

// actorOrder counts, per actor, the activities bound for the queue or in
// it and the Creates being stored directly.
type actorOrder struct {
	off     bool // PostgreSQL: nothing is counted, nothing stored directly
	mu      sync.Mutex
	on      bool   // once the worker counted what was queued before (seed)
	applied func() // the worker's Applied: what stored posts wake
	actors  map[string]*actorTurn
	items   map[storage.ID]string // queued item -> its actor
}

type actorTurn struct {
	accepting int           // POSTs on their way to the queue
	queued    int           // items in the queue, results not recorded
	direct    int           // Creates being stored directly
	stored    chan struct{} // closed when direct falls to 0
}

func (o *actorOrder) turn(actor string) *actorTurn {
	if o.actors == nil {
		o.actors = make(map[string]*actorTurn)
		o.items = make(map[storage.ID]string)
	}
	t := o.actors[actor]
	if t == nil {
		t = &actorTurn{}
		o.actors[actor] = t
	}
	return t
}

// tidy forgets an actor with nothing in flight.
func (o *actorOrder) tidy(actor string, t *actorTurn) {
	if t.accepting == 0 && t.queued == 0 && t.direct == 0 {
		delete(o.actors, actor)
	}
}

// seed starts direct stores, counting the activities queued before; the
// worker calls it before its first claim.
func (o *actorOrder) seed(pending []storage.PendingInboxActivity, applied func()) {
	if o.off {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range pending {
		o.queuedLocked(p.ActorID, p.ID)
	}
	o.applied, o.on = applied, true
}

// startDirect reports whether a Create of actor may be stored directly
// now; if so, the store must end with the directStore's done or, when it
// falls back to the queue, toQueue.
func (o *actorOrder) startDirect(actor string) (*directStore, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.on {
		return nil, false
	}
	t := o.turn(actor)
	if t.accepting > 0 || t.queued > 0 {
		o.tidy(actor, t)
		return nil, false
	}
	if t.direct == 0 {
		t.stored = make(chan struct{})
	}
	t.direct++
	return &directStore{o: o, actor: actor, t: t}, true
}

// directStore is a Create of actor counted as being stored directly.
type directStore struct {
	o     *actorOrder
	actor string
	t     *actorTurn
}

// done ends a direct store that stored the Create (or a repeat of it).
func (d *directStore) done() {
	d.o.mu.Lock()
	defer d.o.mu.Unlock()
	d.endLocked()
}

func (d *directStore) endLocked() {
	if d.t.direct--; d.t.direct == 0 {
		close(d.t.stored)
	}
	d.o.tidy(d.actor, d.t)
}

// toQueue hands a Create that will not be stored directly to the queue
// without letting go of the actor's turn: it is counted as accepting
// (what the actor sends next takes the queue too) while it still holds
// back the POSTs waiting for the direct stores, until acceptInbox has
// put it in the commit's order (inQueue). Letting go first would let a
// later Update of the actor be queued, and applied, ahead of the Create.
func (d *directStore) toQueue() {
	d.o.mu.Lock()
	defer d.o.mu.Unlock()
	d.t.accepting++
}

// inQueue ends the direct count of a Create handed to the queue, once
// it is in the commit's order or given up.
func (d *directStore) inQueue() { d.done() }

// startQueued counts a POST of actor on its way to the queue and
// returns what it must wait for first: the actor's direct stores in
// flight (nil when there are none).
func (o *actorOrder) startQueued(actor string) <-chan struct{} {
	if o.off {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.turn(actor)
	t.accepting++
	if t.direct > 0 {
		return t.stored
	}
	return nil
}

// endQueued ends startQueued: id is the item stored, 0 for none.
func (o *actorOrder) endQueued(actor string, id storage.ID) {
	if o.off {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.turn(actor)
	t.accepting--
	if id != 0 {
		o.queuedLocked(actor, id)
	}
	o.tidy(actor, t)
}

func (o *actorOrder) queuedLocked(actor string, id storage.ID) {
	t := o.turn(actor)
	if _, ok := o.items[id]; !ok {
		o.items[id] = actor
		t.queued++
	}
}

// recorded forgets queued items whose results are recorded: done, or
// waiting for a retry, which the actor's later activities may pass.
func (o *actorOrder) recorded(results []storage.InboxResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range results {
		actor, ok := o.items[r.ID]
		if !ok {
			continue
		}
		delete(o.items, r.ID)
		t := o.actors[actor]
		t.queued--
		o.tidy(actor, t)
	}
}

// wake tells the worker's listeners that stored posts wrote events.
func (o *actorOrder) wake() {
	o.mu.Lock()
	applied := o.applied
	o.mu.Unlock()
	if applied != nil {
		applied()
	}
}

// testHookQueueing, set by tests only, runs when an activity is about
// to be queued (a Create that was not stored directly holding its
// actor's turn).
var testHookQueueing atomic.Pointer[func(*as.Envelope)]

// applyDirect stores a verified Create as it arrives when it can (see
// above), and reports whether it did. When not, the caller queues it,
// passing turn to acceptInbox when it is not nil: the actor's turn,
// still held (directStore.toQueue).
func (in *Inbox) applyDirect(ctx context.Context, env *as.Envelope, body []byte) (stored bool, turn *directStore) {
	if env.Type != "Create" || bytes.IndexByte(body, 0) >= 0 {
		return false, nil // a NUL is refused by the queue's insert with a reason
	}
	d, ok := in.order.startDirect(env.Actor)
	if !ok {
		return false, nil
	}
	if !in.storeDirect(ctx, env) {
		d.toQueue()
		return false, d
	}
	d.done()
	return true, nil
}

// storeDirect is applyDirect once the actor's turn is taken.
func (in *Inbox) storeDirect(ctx context.Context, env *as.Envelope) bool {
	note, signer, ok := in.directNote(ctx, env)
	if !ok {
		return false
	}
	// What it answers or quotes first, if that is on its way
	// (notesInFlight); then, until its commit is over, what answers or
	// quotes it waits for it. In this order no two can wait for each
	// other.
	if in.storing.wait(ctx, note.InReplyTo, note.Quote) != nil {
		return false
	}
	in.storing.add(note.ID)
	defer in.storing.remove(note.ID)
	t, replyTo, err := in.threadOfNote(ctx, note)
	if err != nil || t == nil || t.IsMirror() {
		return false
	}
	np, err := in.placedPost(ctx, note, t, replyTo, signer)
	if err != nil {
		return false
	}
	// POSTs waiting for this commit count as waiting for the inboxes'
	// own (see Worker.BusyConcurrency).
	in.commit.waiting.Add(1)
	_, created, err := in.commitPost(ctx, np, env.ID)
	in.commit.waiting.Add(-1)
	if errors.Is(err, storage.ErrRepeatActivity) || (err == nil && !created) {
		// Applied or refused before (its id is queued, or its Note is
		// a post already): answered as the queue answers a repeat, and
		// not counted done again.
		return true
	}
	if err != nil {
		return false
	}
	in.directDone.Add(1)
	in.queueBackfill(context.WithoutCancel(ctx), t.ID, note, 1)
	return true
}

// notesInFlight are the Notes being stored directly, by id, until their
// commit is over. A reply to one of them that arrives meanwhile, stored
// directly or by the worker, would not find its parent in the database
// and be placed under the thread, or not at all: it waits for that
// commit instead. (The worker's own posts on their way are its pipe's
// to track: see waitEarlierFor.)
type notesInFlight struct {
	mu      sync.Mutex
	n       map[string]int           // stores in flight by Note id
	stored  map[string]chan struct{} // closed when n falls to 0; made for a waiter only
	waiters int                      // for tests: how many wait now
}

func (f *notesInFlight) add(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = make(map[string]int)
	}
	f.n[id]++
}

func (f *notesInFlight) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[id]--; f.n[id] > 0 {
		return
	}
	delete(f.n, id)
	if ch, ok := f.stored[id]; ok {
		close(ch)
		delete(f.stored, id)
	}
}

// pending reports whether a Note ids names is being stored directly.
func (f *notesInFlight) pending(ids ...string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if id != "" && f.n[id] > 0 {
			return true
		}
	}
	return false
}

// wait waits until no Note ids names is being stored directly.
func (f *notesInFlight) wait(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if id == "" {
			continue
		}
		f.mu.Lock()
		var ch chan struct{}
		if f.n[id] > 0 {
			if ch = f.stored[id]; ch == nil {
				if f.stored == nil {
					f.stored = make(map[string]chan struct{})
				}
				ch = make(chan struct{})
				f.stored[id] = ch
			}
			f.waiters++
		}
		f.mu.Unlock()
		if ch == nil {
			continue
		}
		var err error
		select {
		case <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		}
		f.mu.Lock()
		f.waiters--
		f.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// waitStoring is notesInFlight.wait for the worker, which lends its slot
// meanwhile, as waitEarlier does.
func (in *Inbox) waitStoring(ctx context.Context, ids ...string) error {
	if !in.storing.pending(ids...) {
		return nil
	}
	if slot := slotOf(ctx); slot != nil {
		slot.release()
		defer slot.reacquire()
	}
	return in.storing.wait(ctx, ids...)
}

// directNote is the Note of a Create that applyDirect may store, and its
// author, the signer; ok is false when the worker must see to it.
func (in *Inbox) directNote(ctx context.Context, env *as.Envelope) (*as.RemoteNote, *storage.Account, bool) {
	act, err := as.ReadActivity(env.Doc)
	if err != nil || act.Actor != env.Actor || act.Object.Raw == nil || !as.IsNoteType(act.Object.Type) {
		return nil, nil, false
	}
	acc, ok := in.recent.signers.get(act.Actor, time.Now())
	if !ok {
		return nil, nil, false // resolving it may mean a fetch: the worker's
	}
	signer := &acc
	if in.refuseSuspended(ctx, act, signer) != nil {
		return nil, nil, false
	}
	note, err := as.ReadNote(act.Object.Raw)
	if err != nil || !carriedNoteTrusted(note, signer, true) || !note.Public() {
		return nil, nil, false
	}
	return note, signer, true
}
