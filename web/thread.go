package web

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

type threadData struct {
	Thread   *storage.ThreadInForum
	Posts    []postView
	Page     int64
	LastPage int64
	// Paths of the page links; empty where there is no such page.
	First, Prev, Next, Last string
	Reply                   replyForm
	CanReply                bool // a signed-in member and an open thread
	IsModerator             bool
	Forums                  []storage.Forum // where a moderator may move the thread
	Registration            bool
	Follow                  followBox
	Path                    string // site path of this page, for sign-in's way back
	FeedAtom, FeedRSS       string

	// Members only.
	Following  bool   // the viewer follows the thread on this node
	Muted      bool   // the viewer muted the thread
	UnreadPath string // "jump to first unread", when the member had not read every post
	// Origin links a mirror thread's original on its own server.
	Origin, OriginHost string
}

// postView is a post as one viewer sees it, flattened and formatted in Go:
// the thread page is the hottest page, and plain fields are what
// html/template walks fastest.
type postView struct {
	ID, Anchor, Path string // base-36 id, "p<id>", link to /p/<id>
	Position         int64
	Deleted          bool
	HTML             template.HTML // sanitized when it was written or received
	Warning          string        // the content warning it is collapsed behind, if any
	Posted, PostedAt string        // "26 November 2026", RFC 3339
	Edited, EditedAt string        // empty when never edited
	LikeCount        int64
	Likes            string // "1,307"
	OriginalURL      string // a remote post's own page

	AuthorName, AuthorLink, AuthorHandle, AuthorRep string
	AuthorAvatar                                    string
	AuthorSince                                     string // "Joined 2 May 2025" or "From social.example"

	FirstUnread bool // the first post the member has not seen: a marker goes before it

	Liked     bool
	CanLike   bool   // signed in, not one's own, not deleted
	CanEdit   bool   // one's own post
	CanDelete bool   // one's own, or a moderator
	CanReport bool   // signed in, not one's own
	QuotePath string // set when the reader may quote it into the reply box
	QuoteText string // where the script fetches the quotation without a reload
}

func (s *Server) newPostView(p *storage.Post) postView {
	v := postView{
		ID:        p.ID.String(),
		Position:  p.Position,
		Deleted:   p.IsDeleted(),
		HTML:      template.HTML(p.ViewHTML()),
		Warning:   p.Warning(),
		Posted:    formatDate(p.CreatedAt),
		PostedAt:  formatDateTime(p.CreatedAt),
		LikeCount: p.LikeCount,
		Likes:     thousands(p.LikeCount),
	}
	v.Anchor = "p" + v.ID
	v.Path = s.path("/p/" + v.ID)
	if p.EditedAt != nil {
		v.Edited, v.EditedAt = formatDate(*p.EditedAt), formatDateTime(*p.EditedAt)
	}
	if a := p.Author; a != nil {
		v.AuthorName = a.Name()
		v.AuthorLink = s.authorLink(a)
		v.AuthorHandle = s.fediverseHandle(a)
		v.AuthorRep = thousands(a.Reputation)
		v.AuthorAvatar = a.AvatarURL
		if a.IsLocal() {
			v.AuthorSince = "Joined " + formatDate(a.CreatedAt)
		} else {
			v.AuthorSince = "From " + a.Domain
			v.OriginalURL = p.URL
			if v.OriginalURL == "" && p.APID != nil {
				v.OriginalURL = *p.APID
			}
		}
	}
	return v
}

// replyForm is the reply box: the typed text survives a refused reply.
type replyForm struct {
	Body    string
	Summary string // the content warning
	QuoteID string
	ReplyTo string
	Error   string
}

// thread shows one page of a thread, oldest post first.
func (s *Server) thread(w http.ResponseWriter, r *http.Request) {
	if s.serveActivityPub(w, r) {
		return
	}
	id, ok := parseIDParam(r, "id")
	if !ok {
		s.notFound(w, r)
		return
	}
	if viewerFrom(r) == nil {
		if v, err := s.Store.ThreadVersion(r.Context(), id); err == nil && s.serveCachedGuestPage(w, r, v) {
			return
		}
	}
	pageNum := int64(1)
	if v := r.URL.Query().Get("page"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			s.notFound(w, r)
			return
		}
		pageNum = n
	}
	var form replyForm
	if q := r.URL.Query().Get("quote"); q != "" && viewerFrom(r) != nil {
		form = s.quoteForm(r, id, q)
	}
	s.showThread(w, r, id, pageNum, form, http.StatusOK)
}

// quoteForm pre-fills the reply box with a quotation of post q of thread
// id; a post from elsewhere or a deleted one quotes nothing.
func (s *Server) quoteForm(r *http.Request, threadID storage.ID, q string) replyForm {
	qid, err := storage.ParseID(q)
	if err != nil {
		return replyForm{}
	}
	p, err := s.Store.PostByID(r.Context(), qid)
	if err != nil || p.ThreadID != threadID || p.IsDeleted() {
		return replyForm{}
	}
	return replyForm{Body: quoteSource(p), QuoteID: p.ID.String(), Summary: p.Warning()}
}

// showThread renders a page of a thread with the given reply box; a plain
// visit (no quote, no error) may answer 304.
func (s *Server) showThread(w http.ResponseWriter, r *http.Request, id storage.ID, pageNum int64, form replyForm, status int) {
	ctx := r.Context()
	t, err := s.Store.ThreadWithForum(ctx, id)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if t.DeletedAt != nil {
		s.errorPage(w, r, http.StatusGone, "This thread was deleted.")
		return
	}
	lastPage := max(1, (t.PostCount+storage.PostsPerPage-1)/storage.PostsPerPage)
	if pageNum > lastPage {
		s.notFound(w, r)
		return
	}
	posts, err := s.Store.ThreadPage(ctx, id, pageNum)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	viewer := viewerFrom(r)
	var liked map[storage.ID]bool
	var lastRead int64
	following, muted := false, false
	if viewer != nil && len(posts) > 0 {
		ids := make([]storage.ID, len(posts))
		for i := range posts {
			ids[i] = posts[i].ID
		}
		if liked, err = s.Store.LikedPosts(ctx, viewer.ID, ids); err != nil {
			s.serverError(w, r, err)
			return
		}
		st, err := s.Store.ThreadReaderState(ctx, viewer.ID, id)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		lastRead, following, muted = st.LastPosition, st.Following, st.Muted
		if seen := posts[len(posts)-1].Position; seen > lastRead {
			if err := s.Store.MarkRead(ctx, viewer.ID, id, seen); err != nil {
				s.Log.Error("mark thread read", "thread", id, "err", err) // the page still shows
			}
		}
	}
	data := threadData{
		Thread:       t,
		Posts:        make([]postView, len(posts)),
		Page:         pageNum,
		LastPage:     lastPage,
		Reply:        form,
		CanReply:     viewer != nil && !t.Locked,
		IsModerator:  viewer != nil && viewer.IsModerator(),
		Registration: s.AcceptsRegistrations(),
		Path:         site.ThreadPagePath(t.ID, pageNum),
		FeedAtom:     s.path(site.ThreadPath(t.ID) + "/feed.atom"),
		FeedRSS:      s.path(site.ThreadPath(t.ID) + "/feed.rss"),
		Following:    following,
		Muted:        muted,
	}
	if !t.IsMirror() {
		// A mirror's actor is the remote thread's, on its own server.
		data.Follow = followBox{Handle: "@" + s.URLs.Handle(storage.ThreadHandle(t.ID)), ActorURL: s.URLs.Thread(t.ID)}
	}
	if viewer != nil && lastRead > 0 && lastRead < t.PostCount {
		data.UnreadPath = s.path(site.ThreadPath(t.ID) + "/unread")
	}
	if data.IsModerator {
		if data.Forums, err = s.Store.ListForums(ctx); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	if t.IsMirror() {
		data.Origin, data.OriginHost = s.mirrorOrigin(r, &t.Thread)
	}
	modified := t.LastPostAt
	for i := range posts {
		p := &posts[i]
		v := s.newPostView(p)
		v.Liked = liked[p.ID]
		v.FirstUnread = viewer != nil && lastRead > 0 && p.Position == lastRead+1
		if viewer != nil && !p.IsDeleted() {
			own := p.AuthorID == viewer.ID
			v.CanLike = !own
			v.CanEdit = own
			v.CanDelete = own || viewer.IsModerator()
			v.CanReport = !own
			if data.CanReply {
				v.QuotePath = s.path(site.ThreadPath(id)) + "?page=" + strconv.FormatInt(pageNum, 10) +
					"&quote=" + v.ID + "#reply"
				v.QuoteText = v.Path + "/quote"
			}
		}
		if p.EditedAt != nil && p.EditedAt.After(modified) {
			modified = *p.EditedAt
		}
		data.Posts[i] = v
	}
	if pageNum > 1 {
		data.First = s.path(site.ThreadPagePath(id, 1))
		data.Prev = s.path(site.ThreadPagePath(id, pageNum-1))
	}
	if pageNum < lastPage {
		data.Next = s.path(site.ThreadPagePath(id, pageNum+1))
		data.Last = s.path(site.ThreadPagePath(id, lastPage))
	}
	p := &page{
		Title:     t.Title,
		Canonical: s.URLs.Abs(site.ThreadPagePath(id, pageNum)),
		Alternate: s.URLs.Thread(id),
		OGType:    "article",
		Prev:      data.Prev,
		Next:      data.Next,
		Feeds:     s.feedLinks(t.Title, site.ThreadPath(t.ID)+"/feed.atom"),
		Viewer:    viewer,
		Data:      data,
	}
	if pageNum > 1 {
		p.Title += " (page " + strconv.FormatInt(pageNum, 10) + ")"
	}
	if len(posts) > 0 && pageNum == 1 {
		p.Description = posts[0].Description(200)
	}
	if p.Description == "" {
		p.Description = "A thread in " + t.ForumTitle + " on " + s.SiteName() + "."
	}
	if status == http.StatusOK && form == (replyForm{}) {
		s.renderCached(w, r, "thread", p, modified, t.Version)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "thread", p)
}

// reply adds a post to a thread. Guests are sent to sign in and nothing is
// stored; a refused reply shows the last page again with the typed text.
func (s *Server) reply(w http.ResponseWriter, r *http.Request) {
	id, ok := parseIDParam(r, "id")
	if !ok {
		s.notFound(w, r)
		return
	}
	viewer := s.requireMember(w, r, site.ThreadPath(id))
	if viewer == nil || !s.parseForm(w, r) {
		return
	}
	form := replyForm{Body: r.PostForm.Get("body"), Summary: r.PostForm.Get("summary"),
		QuoteID: r.PostForm.Get("quote_id"), ReplyTo: r.PostForm.Get("reply_to")}
	quoted := s.quotedPost(r.Context(), optionalID(form.QuoteID), id)
	html, mentions := s.postHTML(r.Context(), form.Body, quoted)
	p, err := s.Store.CreatePost(r.Context(), storage.NewPost{
		ThreadID:  id,
		AuthorID:  viewer.ID,
		Source:    form.Body,
		HTML:      html,
		ReplyToID: optionalID(form.ReplyTo),
		QuoteID:   optionalID(form.QuoteID),
		Summary:   quotedWarning(form.Summary, html, quoted),
		Mentions:  mentions,
	})
	switch {
	case errors.Is(err, storage.ErrLocked):
		s.forbidden(w, r, "This thread is locked: it takes no more replies.")
		return
	case errors.Is(err, storage.ErrNotFound):
		s.notFound(w, r)
		return
	case errors.Is(err, storage.ErrInvalid), storage.Unavailable(err):
		status := http.StatusUnprocessableEntity
		if storage.Unavailable(err) {
			s.Log.Warn("reply not saved", "thread", id, "err", err)
			form.Error, status = unavailableMessage, http.StatusServiceUnavailable
			retryLater(w)
		} else {
			form.Error = formError(err)
		}
		t, terr := s.Store.ThreadByID(r.Context(), id)
		if terr != nil {
			s.storeError(w, r, terr)
			return
		}
		last := max(1, (t.PostCount+storage.PostsPerPage-1)/storage.PostsPerPage)
		s.showThread(w, r, id, last, form, status)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, site.PostPermalinkPath(p))
}
