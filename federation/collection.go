package federation

import (
	"context"
	"net/http"
	"strconv"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/httpcache"
	"github.com/skein-forum/skein/storage"
)

// PostsPageSize is the number of posts on a page of a thread's collection.
// It equals the web view's page size, so collection page k holds what web
// page k shows.
const PostsPageSize = storage.PostsPerPage

// listPageSize is the page size of the keyset-paged collections (a forum's
// threads, a post's replies, a member's outbox).
const listPageSize = 20

// writeJSON answers with v as a document.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, v any, modified time.Time) error {
	doc, err := newDocument(v, modified)
	if err != nil {
		return err
	}
	writeDocument(w, r, http.StatusOK, doc)
	return nil
}

// writeCached is writeJSON that keeps the document in cache c under key,
// built at version.
func writeCached[K comparable](w http.ResponseWriter, r *http.Request, c *httpcache.Cache[K], key K, version int64, v any, modified time.Time) error {
	doc, err := newDocument(v, modified)
	if err != nil {
		return err
	}
	c.Put(key, version, doc, time.Time{})
	writeDocument(w, r, http.StatusOK, doc)
	return nil
}

func count(n int64) *int64 { return &n }

// countedCollection is a collection that gives its size, and the link to
// its first page when first is not empty.
func countedCollection(id, typ string, n int64, first string) *as.Collection {
	return &as.Collection{Context: as.LDContext(), ID: id, Type: typ, TotalItems: &n, First: first}
}

// newPage is the page of the keyset-paged collection id that q asks for,
// with room for n items.
func newPage(id string, q pageQuery, n int) *as.CollectionPage {
	return &as.CollectionPage{Context: as.LDContext(), ID: id + "?" + q.String(), Type: "OrderedCollectionPage",
		PartOf: id, OrderedItems: make([]any, 0, n)}
}

// serveThreadPosts serves /t/{id}/posts: the thread as an
// OrderedCollection of its posts, oldest first, the FEP-7888 context of
// every post in it. Pages embed full Notes (fewer fetches for the
// reader); deleted posts stay in place as Tombstones and remote posts as
// their ids, so positions, pages and totalItems always agree.
func (s *Server) serveThreadPosts(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, from, err := parsePostsCursor(r.URL.RawQuery)
	if err != nil {
		return errBadPage
	}
	if s.serveCachedPage(w, r, q, from) {
		return nil
	}
	t, err := s.liveThread(r, s.urls.ThreadPosts, "OrderedCollection")
	if err != nil {
		return err
	}
	if canonical(w, r, q) {
		return nil
	}
	id := s.urls.ThreadPosts(t.ID)
	total := t.PostCount
	pageURL := func(from int64) string { return id + "?page=true&from=" + strconv.FormatInt(from, 10) }
	if !q.isPage {
		lastFrom := max(0, total-1)/PostsPageSize*PostsPageSize + 1
		return writeCached(w, r, s.pages, pageKey{t.ID, 0}, t.Version, &as.Collection{
			Context:      as.LDContext(),
			ID:           id,
			Type:         "OrderedCollection",
			TotalItems:   &total,
			AttributedTo: s.urls.Thread(t.ID),
			First:        pageURL(1),
			Last:         pageURL(lastFrom),
		}, t.LastPostAt)
	}
	if from > max(total, 1) {
		return errNotFound
	}
	posts, err := s.store.PostsInRange(ctx, t.ID, from, from+PostsPageSize-1)
	if err != nil {
		return err
	}
	f, err := s.Forum(ctx, t.ForumID)
	if err != nil {
		return err
	}
	refs, err := s.RemoteRefs(ctx, posts, t)
	if err != nil {
		return err
	}
	ptrs := make([]*storage.Post, len(posts))
	for i := range posts {
		ptrs[i] = &posts[i]
	}
	media, err := s.PostMedia(ctx, ptrs...)
	if err != nil {
		return err
	}
	page := &as.CollectionPage{
		Context:      as.LDContext(),
		ID:           pageURL(from),
		Type:         "OrderedCollectionPage",
		PartOf:       id,
		TotalItems:   &total,
		StartIndex:   count(from - 1),
		OrderedItems: make([]any, 0, len(posts)),
	}
	if from > 1 {
		page.Prev = pageURL(from - PostsPageSize)
	}
	if from+PostsPageSize <= total {
		page.Next = pageURL(from + PostsPageSize)
	}
	var modified time.Time
	for i := range posts {
		p := &posts[i]
		switch {
		case p.IsDeleted():
			page.OrderedItems = append(page.OrderedItems, TombstoneFor(s.urls, p))
		case p.APID != nil:
			page.OrderedItems = append(page.OrderedItems, *p.APID)
		default:
			mentions, err := s.NoteMentions(ctx, p, t, refs)
			if err != nil {
				return err
			}
			page.OrderedItems = append(page.OrderedItems, NoteFromPost(s.urls, NoteParts{Post: p, Thread: t, Forum: f, Refs: refs, Mentions: mentions, Media: media[p.ID]}))
		}
		if m := postModified(p); m.After(modified) {
			modified = m
		}
	}
	return writeCached(w, r, s.pages, pageKey{t.ID, from}, t.Version, page, modified)
}

// serveCachedPage answers a request for a thread's posts collection or
// one of its pages from the page cache when the cached copy was built at
// the thread's current version ([Server.PageCacheStats] has the figures). It reports whether it
// answered; requests that ask for other values than the canonical ones go the long way.
func (s *Server) serveCachedPage(w http.ResponseWriter, r *http.Request, q pageQuery, from int64) bool {
	if s.pages == nil || !sameQuery(r.URL.RawQuery, q) {
		return false
	}
	id, err := storage.ParseID(r.PathValue("id"))
	if err != nil {
		return false
	}
	key := pageKey{id, 0}
	if q.isPage {
		key.from = from
	}
	v, err := s.store.ThreadVersion(r.Context(), id)
	if err != nil {
		return false
	}
	doc := s.pages.Get(key, v, time.Time{})
	if doc == nil {
		return false
	}
	writeDocument(w, r, http.StatusOK, doc)
	return true
}

// serveForumThreads serves /f/{slug}/threads: the forum's live threads as
// an OrderedCollection of thread actor ids, oldest first, keyset-paged by
// thread id (after=ID forwards, before=ID backwards).
func (s *Server) serveForumThreads(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, cursor, err := parseIDCursor(r.URL.RawQuery, "after", "before")
	if err != nil {
		return errBadPage
	}
	f, err := s.forumActor(ctx, r.PathValue("slug"))
	if err != nil {
		return err
	}
	if canonical(w, r, q) {
		return nil
	}
	id := s.urls.ForumThreads(f.Slug)
	if !q.isPage {
		return s.writeJSON(w, r, &as.Collection{
			Context:      as.LDContext(),
			ID:           id,
			Type:         "OrderedCollection",
			TotalItems:   count(f.ThreadCount),
			AttributedTo: s.urls.Forum(f.Slug),
			First:        id + "?page=true",
		}, time.Time{})
	}
	var threads []storage.Thread
	var more bool // whether there are threads beyond the page in its direction
	if q.key == "before" {
		threads, err = s.store.ListThreadsByIDBefore(ctx, f.ID, cursor, listPageSize+1)
		if more = len(threads) > listPageSize; more {
			threads = threads[1:]
		}
	} else {
		threads, err = s.store.ListThreadsByID(ctx, f.ID, cursor, listPageSize+1)
		if more = len(threads) > listPageSize; more {
			threads = threads[:listPageSize]
		}
	}
	if err != nil {
		return err
	}
	page := newPage(id, q, len(threads))
	for _, t := range threads {
		page.OrderedItems = append(page.OrderedItems, s.urls.Thread(t.ID))
	}
	if n := len(threads); n > 0 {
		forward := q.key != "before"
		if (forward && more) || !forward {
			page.Next = id + "?page=true&after=" + threads[n-1].ID.String()
		}
		if (!forward && more) || (forward && q.key == "after") {
			page.Prev = id + "?page=true&before=" + threads[0].ID.String()
		}
	}
	return s.writeJSON(w, r, page, time.Time{})
}

// servePostLikes serves /p/{id}/likes: a count only; who liked what is
// not published.
func (s *Server) servePostLikes(w http.ResponseWriter, r *http.Request) error {
	p, err := s.livePostFromPath(r)
	if err != nil {
		return err
	}
	return s.writeJSON(w, r, countedCollection(s.urls.PostLikes(p.ID), "Collection", p.LikeCount, ""), time.Time{})
}

// forumActor loads the forum named slug that is an actor: the hidden
// forum holds mirrors of remote threads, which their own servers
// announce, so it has nothing to offer a follower and is no actor.
func (s *Server) forumActor(ctx context.Context, slug string) (*storage.Forum, error) {
	f, err := s.store.ForumBySlug(ctx, slug)
	if err == nil && f.Standing() != storage.ActorLive {
		err = errNotFound
	}
	return f, err
}

// localPost loads the local post, deleted or not, whose public id is
// name; errNotFound for a remote post, which lives at its own id.
func (s *Server) localPost(ctx context.Context, name string) (*storage.Post, error) {
	id, err := storage.ParseID(name)
	if err != nil {
		return nil, errNotFound
	}
	p, err := s.store.PostByID(ctx, id)
	if err == nil && p.APID != nil {
		err = errNotFound
	}
	return p, err
}

// livePostFromPath loads the live local post named by {id}: not found
// when there is none, a [goneError] when it is deleted.
func (s *Server) livePostFromPath(r *http.Request) (*storage.Post, error) {
	p, err := s.localPost(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if p.IsDeleted() {
		return nil, &goneError{id: s.urls.Origin() + r.URL.Path, formerType: "Collection", deleted: *p.DeletedAt}
	}
	return p, nil
}
