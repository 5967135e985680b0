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
//   - the thread a post is in (a post never moves; a reply to a post
//     deleted a moment ago is stored as its reply, as it would have been
//     a moment earlier);
//   - a thread's id, kind and owner, which never change (whether it is
//     deleted or locked is checked again where the post is stored);
//   - the account of a Create's signer (the worker reads its id, id
//     IRI and host, which never change; a suspension is read from the
//     policy snapshot every time, see refuseSuspended; an Update of the
//     actor applied here forgets it).

// lookupTTL is how long a lookup is remembered.
const lookupTTL = 5 * time.Second

// lookupMax bounds each memory: a full one starts over, which is cheap
// and keeps hostile input from growing it.
const lookupMax = 10000

// recent remembers values by key for lookupTTL.
type recent[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]recentEntry[V]
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
	c.m[k] = recentEntry[V]{v: v, until: now.Add(lookupTTL)}
}

func (c *recent[K, V]) forget(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
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
	id, forumID   storage.ID
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
// goes: its id, forum, mirror id and owner. Everything else of the
// returned thread is zero: a caller that needs more reads the thread.
func (in *Inbox) threadFacts(ctx context.Context, id storage.ID) (*storage.Thread, error) {
	now := time.Now()
	f, ok := in.recent.threads.get(id, now)
	if !ok {
		t, err := in.store.ThreadByID(ctx, id)
		if err != nil {
			return nil, err
		}
		f = threadFacts{id: t.ID, forumID: t.ForumID, apID: t.APID, remoteActorID: t.RemoteActorID}
		in.recent.threads.put(id, f, now)
	}
	return &storage.Thread{ID: f.id, ForumID: f.forumID, APID: f.apID, RemoteActorID: f.remoteActorID}, nil
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
	in.recent.signers.put(apID, *acc, now)
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
