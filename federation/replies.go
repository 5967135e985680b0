package federation

import (
	"context"
	"net/http"
	"strconv"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// A post's replies collection lists the Notes that name the post as
// inReplyTo, in thread order, PostsPageSize to a page. Its first page is
// embedded in the Note itself, as Mastodon does: GoToSocial walks a
// conversation down only through an embedded first page, and everyone
// else saves a fetch.

// repliesOf is a Note's replies collection with first embedded. Without a
// first page loaded it embeds an empty one whose next is the real first
// page: true whatever the post's replies are, for the Notes built without
// a query (collection pages, outboxes).
func repliesOf(u *site.URLs, id storage.ID, first *as.CollectionPage) *as.CollectionLink {
	coll := u.PostReplies(id)
	if first == nil {
		first = &as.CollectionPage{Type: "OrderedCollectionPage", PartOf: coll, Next: coll + "?page=true", OrderedItems: []any{}}
	}
	return &as.CollectionLink{ID: coll, Type: "OrderedCollection", First: first}
}

// RepliesPage builds the page of post p's replies that follows thread
// position after; 0 gives the first page, which [NoteFromPost] embeds
// through [NoteParts].Replies. t is the post's thread. Local replies are
// their Notes' ids, remote ones their own ids.
func (s *Server) RepliesPage(ctx context.Context, p *storage.Post, t *storage.Thread, after int64) (*as.CollectionPage, error) {
	from := after
	if !t.IsMirror() {
		// A local thread's positions are fixed, and whatever answers a
		// post was written after it: the scan starts at the post.
		from = max(from, p.Position)
	}
	opens := t.FirstPostID != nil && *t.FirstPostID == p.ID
	replies, err := s.store.RepliesOf(ctx, p, opens, from, PostsPageSize+1)
	if err != nil {
		return nil, err
	}
	coll := s.urls.PostReplies(p.ID)
	q := pageQuery{isPage: true}
	if after > 0 {
		q.key, q.value = "after", strconv.FormatInt(after, 10)
	}
	page := &as.CollectionPage{ID: coll + "?" + q.String(), Type: "OrderedCollectionPage", PartOf: coll,
		OrderedItems: make([]any, 0, min(len(replies), PostsPageSize))}
	if len(replies) > PostsPageSize {
		replies = replies[:PostsPageSize]
		page.Next = coll + "?page=true&after=" + strconv.FormatInt(replies[len(replies)-1].Position, 10)
	}
	for i := range replies {
		page.OrderedItems = append(page.OrderedItems, postIRI(s.urls, &replies[i]))
	}
	return page, nil
}

// servePostReplies serves /p/{id}/replies, the collection, and its pages
// (page=true, then after=POSITION).
func (s *Server) servePostReplies(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, after, err := parsePositionCursor(r.URL.RawQuery, "after")
	if err != nil {
		return errBadPage
	}
	p, err := s.livePostFromPath(r)
	if err != nil {
		return err
	}
	if canonical(w, r, q) {
		return nil
	}
	id := s.urls.PostReplies(p.ID)
	if !q.isPage {
		return s.writeJSON(w, r, &as.Collection{Context: as.LDContext(), ID: id, Type: "OrderedCollection",
			AttributedTo: s.urls.Post(p.ID), First: id + "?page=true"}, time.Time{})
	}
	t, err := s.store.ThreadByID(ctx, p.ThreadID)
	if err != nil {
		return err
	}
	page, err := s.RepliesPage(ctx, p, t, after)
	if err != nil {
		return err
	}
	page.Context = as.LDContext()
	return s.writeJSON(w, r, page, time.Time{})
}

// servePost serves /p/{id}, a local post's Note, from the Note cache when
// the cached copy was built at the thread's current version. The Note
// embeds the first page of its replies, and every reply bumps the
// version of the thread it is in, which is always the post's own.
func (s *Server) servePost(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := s.localPost(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	id := p.ID
	// The version is read before NoteByID reads the post again, so a
	// change committed meanwhile makes the cached Note newer than its
	// version, never older.
	version, err := s.store.ThreadVersion(ctx, p.ThreadID)
	if err != nil {
		return err
	}
	if doc := s.notes.Get(id, version, time.Time{}); doc != nil {
		writeDocument(w, r, http.StatusOK, doc)
		return nil
	}
	note, ts, err := s.NoteByID(ctx, id)
	if err != nil {
		return err
	}
	if ts != nil {
		ts.Context = as.LDContext()
		doc, err := newDocument(ts, time.Time{})
		if err != nil {
			return err
		}
		writeDocument(w, r, http.StatusGone, doc)
		return nil
	}
	note.Context = as.LDContext()
	// Last-Modified only while the Note shows no reply: a reply deleted
	// from its first page changes it and leaves no time behind. The
	// ETag covers every change.
	var modified time.Time
	if first, _ := note.Replies.First.(*as.CollectionPage); first != nil && len(first.OrderedItems) == 0 {
		stamp := note.Published
		if note.Updated != "" {
			stamp = note.Updated
		}
		modified, _ = time.Parse(time.RFC3339, stamp)
	}
	return writeCached(w, r, s.notes, id, version, note, modified)
}
