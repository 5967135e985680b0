package inbox

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/skein-forum/skein/storage"
)

// Short-lived memory of the lookups every remote reply repeats. A busy
// thread receives its replies from the same few servers, naming the same
// posts, and each lookup was a read of the database (on SQLite, a read
// after the worker's own writes re-reads its pages from the file). What
// is kept is only what cannot change, or whose change the worker may
// see a few seconds late without storing anything wrong:
//   - the thread a post is in, for 5 s (a post never moves; a reply to a
//     post deleted a moment ago is stored as its reply, as it would have
//     been a moment earlier);
//   - a thread's id, mirror id and owner, for 10 min: they never change
//     (whether it is deleted or locked is checked again where the post
//     is stored);
//   - the account of a Create's signer, for 30 s: the worker reads its
//     id, id IRI and host, which never change; a suspension is read from
//     the policy snapshot every time (see refuseSuspended), and an Update
//     of the actor applied here forgets it;
//   - a member's id by handle, for 5 s.

// lookupMax bounds each memory: a full one starts over, which is cheap
// and keeps hostile input from growing it.
const lookupMax = 10000

// recent remembers values by key for ttl.
type recent[K comparable, V any] struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[K]recentEntry[V]
}

type recentEntry[V any] struct {
	v     V
	until time.Time
}

func (c *recent[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.After(e.until) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *recent[K, V]) put(k K, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= lookupMax {
		c.m = make(map[K]recentEntry[V])
	}
	c.m[k] = recentEntry[V]{v: v, until: now.Add(c.ttl)}
}

func (c *recent[K, V]) forget(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

// newLookups returns empty memories with the times above.
func newLookups() lookups {
	return lookups{postThreads: recent[storage.ID, storage.ID]{ttl: 5 * time.Second},
		threads: recent[storage.ID, threadFacts]{ttl: 10 * time.Minute},
		signers: recent[string, storage.Account]{ttl: 30 * time.Second},
		members: recent[string, storage.ID]{ttl: 5 * time.Second}}
}

// lookups are the inbox's memories.
type lookups struct {
	postThreads recent[storage.ID, storage.ID]  // live local post -> its thread
	threads     recent[storage.ID, threadFacts] // thread -> what never changes of it
	signers     recent[string, storage.Account] // a Create's signer, by id IRI
	members     recent[string, storage.ID]      // member handle -> account id
}

// threadFacts is what never changes of a thread.
type threadFacts struct {
	id            storage.ID
	apID          *string
	remoteActorID *storage.ID
}

// livePostThread is [storage.Store.LivePostThread], remembered.
func (in *Inbox) livePostThread(ctx context.Context, id storage.ID) (storage.ID, error) {
	now := time.Now()
	if t, ok := in.recent.postThreads.get(id, now); ok {
		return t, nil
	}
	t, err := in.store.LivePostThread(ctx, id)
	if err == nil {
		in.recent.postThreads.put(id, t, now)
	}
	return t, err
}

// threadFacts is the thread with id as far as what never changes of it
// goes: its id, mirror id and owner. Everything else of the
// returned thread is zero: a caller that needs more reads the thread.
func (in *Inbox) threadFacts(ctx context.Context, id storage.ID) (*storage.Thread, error) {
	now := time.Now()
	f, ok := in.recent.threads.get(id, now)
	if !ok {
		t, err := in.store.ThreadByID(ctx, id)
		if err != nil {
			return nil, err
		}
		f = threadFacts{id: t.ID, apID: t.APID, remoteActorID: t.RemoteActorID}
		in.recent.threads.put(id, f, now)
	}
	return &storage.Thread{ID: f.id, APID: f.apID, RemoteActorID: f.remoteActorID}, nil
}

// createSigner is the account of a Create's signer: [federation.Server.ResolveActor],
// remembered. A copy is returned: callers may not share one.
func (in *Inbox) createSigner(ctx context.Context, apID string) (*storage.Account, error) {
	now := time.Now()
	if acc, ok := in.recent.signers.get(apID, now); ok {
		return &acc, nil
	}
	acc, err := in.fed.ResolveActor(ctx, apID)
	if err != nil {
		return nil, err
	}
	// A suspended or silenced actor is not remembered: when a moderator
	// lifts the measure, the actor's next Create must be taken at once,
	// and the policy snapshot that refuseSuspended also reads only knows
	// of measures taken, not of measures lifted.
	if !acc.Suspended && !acc.Silenced {
		in.recent.signers.put(apID, *acc, now)
	}
	return acc, nil
}

// memberID is the id of the member with handle, remembered when found.
func (in *Inbox) memberID(ctx context.Context, handle string) (storage.ID, error) {
	now := time.Now()
	handle = strings.ToLower(handle)
	if id, ok := in.recent.members.get(handle, now); ok {
		return id, nil
	}
	m, err := in.store.MemberByHandle(ctx, handle)
	if err != nil {
		return 0, err
	}
	in.recent.members.put(handle, m.ID, now)
	return m.ID, nil
}

// parsedDocs hands the documents the inboxes decoded to the worker, by
// body, so that an activity applied in the same process is not parsed a
// second time from its stored body. Keyed by the body itself, a
// document can only be that body's. It is a shortcut only: the worker
// decodes the body whenever a document is not here (a retry, another
// process, a full table). The POST that added a document takes it away
// again unless its item was stored.
type parsedDocs struct {
	mu sync.Mutex
	m  map[string]*parsedDoc
}

type parsedDoc struct {
	doc map[string]any
	at  time.Time
}

// maxParsedDocs bounds the documents kept: about 10-20 KB each, and
// the queue holds about half a second of work (see backlog.go).
const maxParsedDocs = 1024

// put keeps doc, the decoding of body, unless one is kept for body
// already, and returns what to pass to drop should its item not be
// stored (nil when nothing was kept).
func (p *parsedDocs) put(body string, doc map[string]any, now time.Time) *parsedDoc {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = make(map[string]*parsedDoc)
	}
	if _, ok := p.m[body]; ok {
		return nil
	}
	if len(p.m) >= maxParsedDocs {
		// Documents of items another process applied, or that failed
		// to be stored in a way drop missed, are never taken.
		for k, d := range p.m {
			if now.Sub(d.at) > time.Minute {
				delete(p.m, k)
			}
		}
		if len(p.m) >= maxParsedDocs {
			return nil
		}
	}
	d := &parsedDoc{doc: doc, at: now}
	p.m[body] = d
	return d
}

// drop forgets d, which put returned for body, if it is still kept.
func (p *parsedDocs) drop(body string, d *parsedDoc) {
	if d == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m[body] == d {
		delete(p.m, body)
	}
}

// take returns and forgets the document kept for body, or nil.
func (p *parsedDocs) take(body string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.m[body]
	if d == nil {
		return nil
	}
	delete(p.m, body)
	return d.doc
}
