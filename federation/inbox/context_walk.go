package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// Context backfill of mirrors (FEP-f228, FEP-7888). A mirror starts with
// the first post its group announces after a member followed the remote
// thread; everything said before is in the thread's context, the
// collection every Note of the thread names (a Skein thread's
// /t/{id}/posts; NodeBB's topic; any Collection or OrderedCollection of
// Notes or their ids). When a Note of the mirror's own thread lands, the
// context is walked: page by page, one inbox-queue job per page (signed
// GETs, off every request path), storing the posts it lists and putting
// the mirror in the context's order. A walk starts at most once per
// contextRewalkAfter for a mirror; the first walk (in this process's
// life) goes from the first page on, later ones from the last page back,
// to pick up replies from third servers the group did not announce.
//
// Trust is as for replies collections: an embedded Note is taken as
// served only when it and its author are on the context's host (the
// mirror's group's host); anything else is fetched from its own server.
// Bounds: pages and items per walk, fetches per mirror per hour.

const (
	maxContextPages    = 20
	maxContextItems    = 500
	maxContextFetches  = 300 // per mirror per backfillWindow
	contextRewalkPages = 3
	contextRewalkAfter = 15 * time.Minute
)

// contextJob is one step of a walk: the page to read next and what the
// walk has seen so far. It is the body of an inbox item of kind
// [storage.InboxContextWalk].
type contextJob struct {
	Thread   storage.ID   `json:"thread"`
	Context  string       `json:"context"`
	Page     string       `json:"page,omitempty"`     // "" reads the collection first
	Backward bool         `json:"backward,omitempty"` // a re-walk: from the last page back
	Pages    int          `json:"pages"`
	Items    int          `json:"items"`
	Listed   []storage.ID `json:"listed,omitempty"` // the posts seen, in the context's order
}

// queueContextWalk starts a walk of a mirror's context when note names it
// as its own (a Note of the remote thread, not a third server's reply)
// and none started lately. Contexts of local threads are ours, and a
// remote Note's context that is no mirror here is not ours to walk.
func (in *Inbox) queueContextWalk(ctx context.Context, thread storage.ID, note *as.RemoteNote) {
	if note.Context == "" {
		return
	}
	if _, local := in.urls.Path(note.Context); local {
		return
	}
	t, err := in.store.ThreadByID(ctx, thread)
	if err != nil || !t.IsMirror() || *t.APID != note.Context || t.DeletedAt != nil {
		return
	}
	start, again := in.backfill.startWalk(thread, in.fed.Now())
	if !start {
		return
	}
	in.queueContextJob(ctx, contextJob{Thread: thread, Context: note.Context, Backward: again})
}

func (in *Inbox) queueContextJob(ctx context.Context, job contextJob) {
	if err := in.queueJob(ctx, storage.InboxContextWalk, job); err != nil {
		in.log.Warn("queue context walk", "context", job.Context, "err", err)
	}
}

// runContextWalk reads one page of a mirror's context, stores what it
// lists, orders the mirror and queues the next page.
func (in *Inbox) runContextWalk(ctx context.Context, body []byte) error {
	var job contextJob
	if err := json.Unmarshal(body, &job); err != nil {
		return ignore("bad context job: %v", err)
	}
	t, host, err := in.walkedMirror(ctx, job)
	if err != nil {
		return err
	}
	var page map[string]any
	if job.Page == "" {
		if page, err = in.contextStart(ctx, job, host); err != nil {
			return err
		}
	} else if page, err = in.collectionPage(ctx, job.Page, host, job.Thread, in.backfill.takeContext); err != nil {
		return err
	}
	for page != nil {
		job.Pages++
		listed := in.walkContextPage(ctx, t, host, page, &job)
		if job.Backward {
			job.Listed = append(listed, job.Listed...)
		} else {
			job.Listed = append(job.Listed, listed...)
		}
		if err := in.store.OrderMirror(ctx, t.ID, job.Listed); err != nil {
			in.log.Warn("order mirror", "thread", t.ID, "err", err)
		}
		link := "next"
		if job.Backward {
			link = "prev"
		}
		limit := maxContextPages
		if job.Backward {
			limit = contextRewalkPages
		}
		next := page[link]
		if next == nil || job.Pages >= limit || job.Items >= maxContextItems {
			return nil
		}
		// A linked page is the next job's, so one job never holds a
		// worker for more than a page of fetches; an embedded one is
		// read now.
		if nextURL, ok := next.(string); ok {
			job.Page = nextURL
			in.queueContextJob(ctx, job)
			return nil
		}
		page, _ = next.(map[string]any)
	}
	return nil
}

// walkedMirror checks a job against its mirror: still there, still
// keyed by the context, and the context on the host of the mirror's group
// (a Note may name any URL as its context; only the group's own host
// speaks for its thread).
func (in *Inbox) walkedMirror(ctx context.Context, job contextJob) (*storage.Thread, string, error) {
	t, err := in.store.ThreadByID(ctx, job.Thread)
	if err != nil {
		return nil, "", err
	}
	if !t.IsMirror() || *t.APID != job.Context || t.DeletedAt != nil || t.RemoteActorID == nil {
		return nil, "", ignore("thread %s is no live mirror of %s", job.Thread, job.Context)
	}
	host, err := in.fed.CheckRemote(job.Context)
	if err != nil {
		return nil, "", err
	}
	group, err := in.store.AccountByID(ctx, *t.RemoteActorID)
	if err != nil {
		return nil, "", err
	}
	if !strings.EqualFold(group.Domain, host) {
		return nil, "", ignore("context %s is not on the host of its group %s", job.Context, group.Domain)
	}
	return t, host, nil
}

// contextStart fetches the context collection and returns the page to
// begin with: the first (or, for a re-walk, the last), or the collection
// itself when it carries its items.
func (in *Inbox) contextStart(ctx context.Context, job contextJob, host string) (map[string]any, error) {
	if !in.backfill.takeContext(job.Thread, 1, in.fed.Now()) {
		return nil, ignore("context budget of thread %s spent", job.Thread)
	}
	coll, final, err := in.fed.FetchObject(ctx, job.Context)
	if err != nil {
		return nil, err
	}
	if !as.SameHost(final, host) || as.ID(coll) != job.Context {
		return nil, ignore("context %s served from %s as %q", job.Context, final, as.ID(coll))
	}
	switch typ, _ := coll["type"].(string); typ {
	case "Collection", "OrderedCollection":
	case "CollectionPage", "OrderedCollectionPage":
		return coll, nil
	default:
		return nil, ignore("context %s is a %q, not a collection", job.Context, typ)
	}
	start := coll["first"]
	if last := coll["last"]; job.Backward && last != nil {
		start = last
	}
	if start == nil {
		return coll, nil // items inline, or none
	}
	return in.collectionPage(ctx, start, host, job.Thread, in.backfill.takeContext)
}

// walkContextPage stores the posts a page lists and returns those that
// are in the mirror, in the page's order.
func (in *Inbox) walkContextPage(ctx context.Context, t *storage.Thread, host string, page map[string]any, job *contextJob) []storage.ID {
	var listed []storage.ID
	for _, item := range as.Items(page) {
		if job.Items >= maxContextItems {
			break
		}
		job.Items++
		p, err := in.contextItem(ctx, t, host, item)
		if err != nil {
			if !errors.Is(err, errStored) {
				in.log.Debug("context item skipped", "context", job.Context, "err", err)
			}
			continue
		}
		listed = append(listed, p.ID)
	}
	return listed
}

// contextItem is the mirror's post of one item of its context, stored
// now if it is new.
func (in *Inbox) contextItem(ctx context.Context, t *storage.Thread, host string, item any) (*storage.Post, error) {
	id := as.ID(item)
	if id == "" {
		return nil, ignore("context item without an id")
	}
	m, embedded := item.(map[string]any)
	if embedded {
		if typ, _ := m["type"].(string); typ != "" && !as.IsNoteType(typ) {
			return nil, ignore("context item %s is a %s", id, typ) // a Tombstone, say
		}
	}
	var p *storage.Post
	var err error
	if _, local := in.urls.Path(id); local {
		p, err = in.postByIRI(ctx, id) // a member's reply, in the remote thread too
	} else {
		p, err = in.store.PostByAPID(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			p, err = in.newContextPost(ctx, t, host, id, m)
		}
	}
	if err != nil {
		return nil, err
	}
	if p == nil || p.ThreadID != t.ID {
		return nil, ignore("context item %s is not in mirror %s", id, t.ID)
	}
	return p, nil
}

// newContextPost stores a Note the context lists and this node lacks. An
// embedded Note of the context's host is believed as served; others are
// fetched from their own server.
func (in *Inbox) newContextPost(ctx context.Context, t *storage.Thread, host, id string, m map[string]any) (*storage.Post, error) {
	var note *as.RemoteNote
	var err error
	if m != nil && as.SameHost(id, host) && as.SameHost(as.ID(m["attributedTo"]), host) {
		note, err = as.ReadNote(m)
	} else {
		if !in.backfill.takeContext(t.ID, 1, in.fed.Now()) {
			return nil, ignore("context budget of thread %s spent", t.ID)
		}
		note, err = in.fetchNote(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	if note.ID != id {
		return nil, ignore("context lists %s, the note is %s", id, note.ID)
	}
	// The context's owner says the Note is in its thread; a Note that
	// answers a post of another thread here stays out.
	home, replyTo, err := in.threadOfNote(ctx, note)
	if err != nil {
		return nil, err
	}
	if home != nil && home.ID != t.ID {
		return nil, ignore("note %s belongs to thread %s here", note.ID, home.ID)
	}
	np, err := in.placedPost(ctx, note, t, replyTo, nil)
	if err != nil {
		return nil, err
	}
	p, err := in.store.CreatePost(ctx, np)
	if err != nil {
		return nil, fmt.Errorf("store %s from context: %w", note.ID, err)
	}
	if err := in.lateDelete(ctx, p, note.ID); err != nil {
		return nil, err
	}
	if !as.SameHost(note.ID, host) {
		// A third server's reply may have replies the context's owner
		// never saw: FEP-f228's replies walk covers them.
		in.queueBackfill(ctx, t.ID, note, 1)
	}
	return p, nil
}
