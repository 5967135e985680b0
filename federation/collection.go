package federation

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/skein-forum/skein/storage"
)

// PostsPageSize is the number of posts on a page of a thread's collection.
// It equals the web view's page size, so collection page k holds what web
// page k shows.
const PostsPageSize = storage.PostsPerPage

// listPageSize is the page size of the keyset-paged collections (a forum's
// threads, a post's replies, a member's outbox).
const listPageSize = 20

// Collection is an OrderedCollection (or Collection) whose items are
// reached through its pages.
type Collection struct {
	Context      json.RawMessage `json:"@context,omitempty"`
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	TotalItems   *int64          `json:"totalItems,omitempty"`
	AttributedTo string          `json:"attributedTo,omitempty"`
	Audience     string          `json:"audience,omitempty"`
	First        string          `json:"first,omitempty"`
	Last         string          `json:"last,omitempty"`
}

// CollectionPage is one OrderedCollectionPage. OrderedItems is never nil.
type CollectionPage struct {
	Context      json.RawMessage `json:"@context,omitempty"`
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	PartOf       string          `json:"partOf"`
	TotalItems   *int64          `json:"totalItems,omitempty"`
	StartIndex   *int64          `json:"startIndex,omitempty"`
	Prev         string          `json:"prev,omitempty"`
	Next         string          `json:"next,omitempty"`
	OrderedItems []any           `json:"orderedItems"`
}

// Activity is a Create (or, for the delivery code, any activity wrapping
// one object).
type Activity struct {
	Context   json.RawMessage `json:"@context,omitempty"`
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Actor     string          `json:"actor"`
	Published string          `json:"published,omitempty"`
	To        []string        `json:"to"`
	Cc        []string        `json:"cc"`
	Object    any             `json:"object"`
}

// CreateActivity wraps a Note in the Create its author sent. Its id is the
// Note's with a fragment, so it is stable and dereferences to the Note.
func CreateActivity(n *Note) *Activity {
	return &Activity{
		ID:        n.ID + "#create",
		Type:      "Create",
		Actor:     n.AttributedTo,
		Published: n.Published,
		To:        n.To,
		Cc:        n.Cc,
		Object:    n,
	}
}

// pageQuery is a parsed collection query: nothing (the collection itself),
// or page=true with at most one cursor parameter.
type pageQuery struct {
	isPage bool
	key    string // cursor parameter name, "" for the first page
	value  string
}

var errBadCursor = errors.New("bad page cursor")

// parsePageQuery reads a raw query string. It accepts only page=true and one
// of the named cursor parameters, each at most once; anything else is an
// error, never a panic.
func parsePageQuery(raw string, cursors ...string) (pageQuery, error) {
	var q pageQuery
	if raw == "" {
		return q, nil
	}
	if len(raw) > 256 {
		return q, errBadCursor
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, errBadCursor
	}
	for k, v := range vals {
		if len(v) != 1 {
			return q, errBadCursor
		}
		switch {
		case k == "page":
			if v[0] != "true" {
				return q, errBadCursor
			}
			q.isPage = true
		case contains(cursors, k) && q.key == "":
			q.key, q.value = k, v[0]
		default:
			return q, errBadCursor
		}
	}
	if !q.isPage {
		return q, errBadCursor
	}
	return q, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// String is the canonical query: what the node links to and uses as the
// page's id.
func (q pageQuery) String() string {
	if !q.isPage {
		return ""
	}
	if q.key == "" {
		return "page=true"
	}
	return "page=true&" + q.key + "=" + url.QueryEscape(q.value)
}

// parsePostsCursor reads the query of a thread's posts collection:
// "" (the collection) or page=true&from=N, N a post position that starts a
// page (1, 21, 41, ...). Positions are fixed and gapless, so the position
// is the keyset: any page costs one index range.
func parsePostsCursor(raw string) (q pageQuery, from int64, err error) {
	q, err = parsePageQuery(raw, "from")
	if err != nil || !q.isPage {
		return q, 0, err
	}
	if q.key == "" {
		// page=true alone is the first page; links always name from=1.
		q.key, q.value = "from", "1"
	}
	from, err = strconv.ParseInt(q.value, 10, 64)
	if err != nil || from < 1 || from > 1<<50 || strconv.FormatInt(from, 10) != q.value || (from-1)%PostsPageSize != 0 {
		return q, 0, errBadCursor
	}
	return q, from, nil
}

// parseIDCursor reads page=true[&KEY=ID] for the keyset-paged collections.
func parseIDCursor(raw string, keys ...string) (q pageQuery, id storage.ID, err error) {
	q, err = parsePageQuery(raw, keys...)
	if err != nil || q.key == "" {
		return q, 0, err
	}
	id, err = storage.ParseID(q.value)
	if err != nil {
		return q, 0, errBadCursor
	}
	return q, id, nil
}

// canonical redirects a request whose query is valid but not spelled the
// way the node spells it, so a document's id always equals the URL it was
// fetched from. It reports whether it answered.
func canonical(w http.ResponseWriter, r *http.Request, q pageQuery) bool {
	if r.URL.RawQuery == q.String() {
		return false
	}
	target := r.URL.Path
	if c := q.String(); c != "" {
		target += "?" + c
	}
	w.Header().Add("Vary", "Accept")
	http.Redirect(w, r, target, http.StatusFound)
	return true
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, v any, modified time.Time) {
	doc, err := newDocument(v, modified)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeDocument(w, r, http.StatusOK, doc)
}

func count(n int64) *int64 { return &n }

// serveThreadPosts serves /t/{id}/posts: the thread as an
// OrderedCollection of its posts, oldest first, the FEP-7888 context of
// every post in it. Pages embed full Notes (fewer fetches for the
// reader); deleted posts stay in place as Tombstones and remote posts as
// their ids, so positions, pages and totalItems always agree.
func (s *Server) serveThreadPosts(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, from, err := parsePostsCursor(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad page")
		return
	}
	t, err := s.threadFromPath(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if t.DeletedAt != nil {
		s.gone(w, r, s.urls.ThreadPosts(t.ID), "OrderedCollection", *t.DeletedAt)
		return
	}
	if canonical(w, r, q) {
		return
	}
	id := s.urls.ThreadPosts(t.ID)
	total := t.PostCount
	pageURL := func(from int64) string { return id + "?page=true&from=" + strconv.FormatInt(from, 10) }
	if !q.isPage {
		lastFrom := max(0, total-1)/PostsPageSize*PostsPageSize + 1
		s.writeJSON(w, r, &Collection{
			Context:      jsonLDContext,
			ID:           id,
			Type:         "OrderedCollection",
			TotalItems:   &total,
			AttributedTo: s.urls.Thread(t.ID),
			First:        pageURL(1),
			Last:         pageURL(lastFrom),
		}, t.LastPostAt)
		return
	}
	if from > max(total, 1) {
		s.fail(w, r, errNotFound)
		return
	}
	posts, err := s.store.PostsInRange(ctx, t.ID, from, from+PostsPageSize-1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.forum(ctx, t.ForumID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	refs, err := s.remoteRefs(ctx, posts, t)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := &CollectionPage{
		Context:      jsonLDContext,
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
			page.OrderedItems = append(page.OrderedItems, NoteFromPost(s.urls, NoteParts{Post: p, Thread: t, Forum: f, Refs: refs}))
		}
		if m := postModified(p); m.After(modified) {
			modified = m
		}
	}
	s.writeJSON(w, r, page, modified)
}

// serveForumThreads serves /f/{slug}/threads: the forum's live threads as
// an OrderedCollection of thread actor ids, oldest first, keyset-paged by
// thread id (after=ID forwards, before=ID backwards).
func (s *Server) serveForumThreads(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, cursor, err := parseIDCursor(r.URL.RawQuery, "after", "before")
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad page")
		return
	}
	f, err := s.store.ForumBySlug(ctx, r.PathValue("slug"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if canonical(w, r, q) {
		return
	}
	id := s.urls.ForumThreads(f.Slug)
	if !q.isPage {
		s.writeJSON(w, r, &Collection{
			Context:      jsonLDContext,
			ID:           id,
			Type:         "OrderedCollection",
			TotalItems:   count(f.ThreadCount),
			AttributedTo: s.urls.Forum(f.Slug),
			First:        id + "?page=true",
		}, time.Time{})
		return
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
		s.fail(w, r, err)
		return
	}
	page := &CollectionPage{
		Context:      jsonLDContext,
		ID:           id + "?" + q.String(),
		Type:         "OrderedCollectionPage",
		PartOf:       id,
		OrderedItems: make([]any, 0, len(threads)),
	}
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
	s.writeJSON(w, r, page, time.Time{})
}

// servePostReplies serves /p/{id}/replies: the ids of the live posts that
// reply to or quote the post, oldest first, keyset-paged by post id.
func (s *Server) servePostReplies(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, after, err := parseIDCursor(r.URL.RawQuery, "after")
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad page")
		return
	}
	p, ok := s.localPostFromPath(w, r)
	if !ok {
		return
	}
	if canonical(w, r, q) {
		return
	}
	id := s.urls.PostReplies(p.ID)
	if !q.isPage {
		s.writeJSON(w, r, &Collection{Context: jsonLDContext, ID: id, Type: "OrderedCollection",
			AttributedTo: s.urls.Post(p.ID), First: id + "?page=true"}, time.Time{})
		return
	}
	replies, err := s.store.RepliesTo(ctx, p.ID, after, listPageSize+1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	more := len(replies) > listPageSize
	if more {
		replies = replies[:listPageSize]
	}
	page := &CollectionPage{Context: jsonLDContext, ID: id + "?" + q.String(), Type: "OrderedCollectionPage",
		PartOf: id, OrderedItems: make([]any, 0, len(replies))}
	for i := range replies {
		page.OrderedItems = append(page.OrderedItems, postIRI(s.urls, &replies[i]))
	}
	if more {
		page.Next = id + "?page=true&after=" + replies[len(replies)-1].ID.String()
	}
	s.writeJSON(w, r, page, time.Time{})
}

// servePostLikes serves /p/{id}/likes: a count only; who liked what is
// not published.
func (s *Server) servePostLikes(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery != "" {
		writeError(w, http.StatusBadRequest, "bad page")
		return
	}
	p, ok := s.localPostFromPath(w, r)
	if !ok {
		return
	}
	s.writeJSON(w, r, &Collection{Context: jsonLDContext, ID: s.urls.PostLikes(p.ID), Type: "Collection",
		TotalItems: count(p.LikeCount)}, time.Time{})
}

// localPostFromPath loads the live local post named by {id}, answering
// 404 or 410 itself when there is none.
func (s *Server) localPostFromPath(w http.ResponseWriter, r *http.Request) (*storage.Post, bool) {
	id, err := storage.ParseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, errNotFound)
		return nil, false
	}
	p, err := s.store.PostByID(r.Context(), id)
	if err == nil && p.APID != nil {
		err = errNotFound
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if p.IsDeleted() {
		s.gone(w, r, s.urls.Origin()+r.URL.Path, "Collection", *p.DeletedAt)
		return nil, false
	}
	return p, true
}
