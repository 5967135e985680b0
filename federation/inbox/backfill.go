package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// Backfill (FEP-f228 style): a remote reply may itself have replies from
// servers that never write to us. When a Note lands in a thread here and
// has a replies collection, a job on the inbox queue fetches that
// collection (signed GETs) and stores what it finds, which may have
// replies of its own. The work is bounded three ways: depth (replies of
// replies of replies), pages and items per collection, and fetches per
// thread per hour. Mirrors also fill in from their thread's context
// ([Inbox.runContextWalk]), through the same queue and budget.

const (
	maxBackfillDepth = 3
	maxBackfillPages = 5
	maxBackfillItems = 100 // per collection and per thread per window
	backfillWindow   = time.Hour
)

// backfillJob is the body of an inbox item of kind
// [storage.InboxBackfill].
type backfillJob struct {
	Collection string     `json:"collection"`
	Thread     storage.ID `json:"thread"`
	Depth      int        `json:"depth"`
}

// backfillBudget counts fetches per thread, so one busy or hostile thread
// cannot keep the workers fetching. Replies collections and a mirror's
// context ([Inbox.runContextWalk]) have a window each; the budget also
// remembers when each mirror's context was last walked.
type backfillBudget struct {
	mu       sync.Mutex
	m        map[storage.ID]*budgetWindow // replies collections
	contexts map[storage.ID]*budgetWindow // a mirror's context
	walked   map[storage.ID]time.Time     // when a mirror's context walk last started
}

type budgetWindow struct {
	start time.Time
	used  int
}

// take reserves n fetches of replies collections for a thread; false
// when its window is spent.
func (b *backfillBudget) take(thread storage.ID, n int, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return takeFrom(&b.m, thread, n, maxBackfillItems, now)
}

// takeContext reserves n fetches of a mirror's context walk.
func (b *backfillBudget) takeContext(thread storage.ID, n int, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return takeFrom(&b.contexts, thread, n, maxContextFetches, now)
}

// takeFrom reserves n of limit fetches in thread's window of m. The map
// is bounded: past 10000 threads it starts over.
func takeFrom(m *map[storage.ID]*budgetWindow, thread storage.ID, n, limit int, now time.Time) bool {
	if *m == nil || len(*m) > 10000 {
		*m = make(map[storage.ID]*budgetWindow)
	}
	w := (*m)[thread]
	if w == nil || now.Sub(w.start) > backfillWindow {
		w = &budgetWindow{start: now}
		(*m)[thread] = w
	}
	if w.used+n > limit {
		return false
	}
	w.used += n
	return true
}

// startWalk reports whether a walk of a mirror's context may start now,
// and whether it is a re-walk (the context was walked before, by this
// process). A walk starts at most once per contextRewalkAfter.
func (b *backfillBudget) startWalk(thread storage.ID, now time.Time) (start, again bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.walked == nil || len(b.walked) > 10000 {
		b.walked = make(map[storage.ID]time.Time)
	}
	last, ok := b.walked[thread]
	if ok && now.Sub(last) < contextRewalkAfter {
		return false, false
	}
	b.walked[thread] = now
	return true, ok
}

// freshNote is how recently a Note delivered to an inbox may have been
// published for its replies not to be fetched: a reply that arrives
// moments after it was written has no replies yet, and fetching its empty
// collection cost a signed GET (an RSA signature here, a request there)
// for every reply a busy thread received. Replies made later reach the
// thread the way the Note did, or through the backfill of a Note found
// later. Notes found by backfill itself are not affected.
const freshNote = 10 * time.Minute

// queueBackfill asks for the replies of a Note just stored, when it has a
// replies collection on its own server, depth allows and the Note is not
// fresh from a delivery (see freshNote). A Note of a mirror's own thread
// also asks for a walk of the mirror's context ([Inbox.queueContextWalk]).
func (in *Inbox) queueBackfill(ctx context.Context, thread storage.ID, note *as.RemoteNote, depth int) {
	in.queueContextWalk(ctx, thread, note)
	coll := note.Replies.ID
	if depth > maxBackfillDepth || coll == "" || !as.SameHost(coll, as.HostOf(note.ID)) {
		return
	}
	if depth == 1 && !note.Published.IsZero() && in.fed.Now().Sub(note.Published) < freshNote {
		return
	}
	if err := in.queueJob(ctx, storage.InboxBackfill, backfillJob{Collection: coll, Thread: thread, Depth: depth}); err != nil {
		in.log.Warn("queue backfill", "collection", coll, "err", err)
	}
}

// queueJob queues a job of the node's own (kind, with job as its body)
// on the inbox queue. It goes through the inboxes' group commit: one
// transaction for the jobs of many Notes, not one each.
func (in *Inbox) queueJob(ctx context.Context, kind string, job any) error {
	body, err := json.Marshal(job)
	if err == nil {
		_, err = in.acceptInbox(ctx, storage.NewInboxItem{Kind: kind, ActorID: in.urls.InstanceActor(), Body: body}, nil)
	}
	if err == nil {
		in.Notify()
	}
	return err
}

// runBackfill fetches one replies collection and stores its Notes.
func (in *Inbox) runBackfill(ctx context.Context, body []byte) error {
	var job backfillJob
	if err := json.Unmarshal(body, &job); err != nil {
		return ignore("bad backfill job: %v", err)
	}
	host, err := in.fed.CheckRemote(job.Collection)
	if err != nil {
		return err
	}
	if !in.backfill.take(job.Thread, 1, in.fed.Now()) {
		return ignore("backfill budget of thread %s spent", job.Thread)
	}
	page, final, err := in.fed.FetchObject(ctx, job.Collection)
	if err != nil {
		return err
	}
	if !as.SameHost(final, host) {
		return ignore("collection %s served from %s", job.Collection, final)
	}
	// Mastodon embeds the first page; others link it.
	if first, ok := page["first"]; ok {
		if page, err = in.collectionPage(ctx, first, host, job.Thread, in.backfill.take); err != nil {
			return err
		}
	}
	seen := 0
	for pages := 0; page != nil && pages < maxBackfillPages && seen < maxBackfillItems; pages++ {
		for _, item := range as.Items(page) {
			if seen == maxBackfillItems {
				break
			}
			seen++
			in.backfillItem(ctx, job, host, item)
		}
		next, ok := page["next"]
		if !ok {
			break
		}
		if page, err = in.collectionPage(ctx, next, host, job.Thread, in.backfill.take); err != nil {
			return nil // what was stored stays; the rest is lost, not retried
		}
	}
	return nil
}

// collectionPage is a page given inline or by id, on host; fetching one
// spends a fetch of the walk's budget (take: replies or context).
func (in *Inbox) collectionPage(ctx context.Context, v any, host string, thread storage.ID,
	take func(thread storage.ID, n int, now time.Time) bool) (map[string]any, error) {
	switch p := v.(type) {
	case map[string]any:
		return p, nil
	case string:
		if !as.SameHost(p, host) {
			return nil, ignore("page %s on another host", p)
		}
		if !take(thread, 1, in.fed.Now()) {
			return nil, ignore("fetch budget of thread %s spent", thread)
		}
		m, final, err := in.fed.FetchObject(ctx, p)
		if err != nil {
			return nil, err
		}
		if !as.SameHost(final, host) {
			return nil, ignore("page %s served from %s", p, final)
		}
		return m, nil
	}
	return nil, nil
}

// backfillItem stores one reply found in a collection on host. An
// embedded Note from that host is taken as served; anything else is
// fetched from its own server.
func (in *Inbox) backfillItem(ctx context.Context, job backfillJob, host string, item any) {
	var note *as.RemoteNote
	var err error
	if m, ok := item.(map[string]any); ok && as.SameHost(as.ID(m), host) && as.SameHost(as.ID(m["attributedTo"]), host) {
		if _, err := in.store.PostByAPID(ctx, as.ID(m)); err == nil {
			return
		}
		note, err = as.ReadNote(m)
	} else {
		id := as.ID(item)
		if id == "" || !in.backfill.take(job.Thread, 1, in.fed.Now()) {
			return
		}
		note, err = in.fetchNote(ctx, id)
	}
	if err == nil {
		_, err = in.storeNote(ctx, note, job.Depth, nil)
	}
	if err != nil && !errors.Is(err, errStored) {
		in.log.Debug("backfill item skipped", "collection", job.Collection, "err", err)
	}
}
