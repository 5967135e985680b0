package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

type threadData struct {
	Thread *storage.ThreadInForum
	// The rendered title and tools, posts, pager, and what follows the
	// posts (see renderPosts and threadSection).
	Head, Posts, Pager, Tail template.HTML
	Page                     int64
	LastPage                 int64
	// Paths of the page links; empty where there is no such page.
	First, Prev, Next, Last string
	Pages                   []pageLink // numbered: the first, a window around this one, the last
	PagePath                string     // where "jump to page" sends its number
	Reply                   replyForm
	CanReply                bool // a signed-in member and an open thread
	IsModerator             bool
	Forums                  []storage.Forum // where a moderator may move the thread
	Registration            bool
	Follow                  followBox
	Path                    string // site path of this page, for sign-in's way back
	FeedAtom, FeedRSS       string

	// Members only.
	Member     bool   // a member is reading
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
	Posted, PostedAt string        // "26 November 2026, 14:05 UTC", RFC 3339
	Edited, EditedAt string        // empty when never edited
	LikeCount        int64
	Likes            string // "1,307"
	OriginalURL      string // a remote post's own page

	AuthorName, AuthorLink, AuthorHandle, AuthorRep string
	AuthorAvatar                                    string
	AuthorSince                                     string // "Joined 2 May 2025" or "From social.example"
	AuthorRole                                      string // "Admin", "Moderator" or empty
	ByOP                                            bool   // the thread's starter wrote it

	Media []mediaView // its images

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
		Posted:    formatWhen(p.CreatedAt),
		PostedAt:  formatDateTime(p.CreatedAt),
		LikeCount: p.LikeCount,
		Likes:     thousands(p.LikeCount),
	}
	v.Anchor = "p" + v.ID
	v.Path = s.path("/p/" + v.ID)
	if p.EditedAt != nil {
		v.Edited, v.EditedAt = formatWhen(*p.EditedAt), formatDateTime(*p.EditedAt)
	}
	if a := p.Author; a != nil {
		v.AuthorName = a.Name()
		v.AuthorLink = s.authorLink(a)
		v.AuthorHandle = s.fediverseHandle(a)
		v.AuthorRep = thousands(a.Reputation)
		v.AuthorAvatar = a.AvatarURL
		switch {
		case a.IsLocal() && a.IsAdmin():
			v.AuthorRole = "Admin"
		case a.IsLocal() && a.IsModerator():
			v.AuthorRole = "Moderator"
		}
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
	// Token is the form's one-time token when the form is shown again
	// (kept, or previewed); empty gives the page a fresh one.
	Token   string
	Preview template.HTML // the rendered post, after Preview
	Media   []attachmentField
}

// empty reports whether the reply box is as a plain visit shows it.
func (f *replyForm) empty() bool {
	return f.Body == "" && f.Summary == "" && f.QuoteID == "" && f.ReplyTo == "" && f.Error == "" &&
		f.Token == "" && f.Preview == "" && len(f.Media) == 0
}

// thread shows one page of a thread, oldest post first.
func (s *Server) thread(w http.ResponseWriter, r *http.Request) error {
	if s.serveActivityPub(w, r) {
		return nil
	}
	id, ok := parseIDParam(r, "id")
	if !ok {
		return storage.ErrNotFound
	}
	if viewerFrom(r) == nil {
		if v, err := s.Store.ThreadVersion(r.Context(), id); err == nil && s.serveCachedGuestPage(w, r, v) {
			return nil
		}
	}
	pageNum := int64(1)
	if v := r.URL.Query().Get("page"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			s.notFound(w, r)
			return nil
		}
		pageNum = n
	}
	var form replyForm
	if q := r.URL.Query().Get("quote"); q != "" && viewerFrom(r) != nil {
		form = s.quoteForm(r, id, q)
	}
	if token, fields, msg, done := s.keptForm(w, r, site.ThreadPath(id)+"/reply"); done {
		return nil
	} else if token != "" {
		form = replyFormFrom(fields)
		form.Token, form.Error = token, msg
		form.Media, _ = s.composerMedia(r, viewerFrom(r), fields, nil)
		if r.URL.Query().Get("page") == "" {
			pageNum = 0
		}
	}
	s.showThread(w, r, id, pageNum, form, http.StatusOK)
	return nil
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

// showThread renders a page of a thread with the given reply box (page 0
// is the last); a plain visit (no quote, no error) may answer 304.
func (s *Server) showThread(w http.ResponseWriter, r *http.Request, id storage.ID, pageNum int64, form replyForm, status int) {
	ctx := r.Context()
	t := s.liveThread(w, r, id)
	if t == nil {
		return
	}
	lastPage := max(1, (t.PostCount+storage.PostsPerPage-1)/storage.PostsPerPage)
	if pageNum == 0 {
		pageNum = lastPage
	}
	if pageNum > lastPage {
		s.notFound(w, r)
		return
	}
	posts, err := s.threadPageOf(ctx, t, pageNum)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	viewer := viewerFrom(r)
	var liked map[storage.ID]bool
	var lastRead int64
	following, muted := false, false
	if viewer != nil && len(posts.posts) > 0 {
		if liked, err = s.Store.LikedOnPage(ctx, viewer.ID, id, pageNum); err != nil {
			s.serverError(w, r, err)
			return
		}
		st, err := s.Store.ThreadReaderState(ctx, viewer.ID, id)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		lastRead, following, muted = st.LastPosition, st.Following, st.Muted
		if seen := posts.posts[len(posts.posts)-1].post.Position; seen > lastRead {
			if err := s.Store.MarkRead(ctx, viewer.ID, id, seen); err != nil {
				s.Log.Error("mark thread read", "thread", id, "err", err) // the page still shows
			}
		}
	}
	data := threadData{
		Thread:       t,
		Page:         pageNum,
		LastPage:     lastPage,
		Reply:        form,
		CanReply:     viewer != nil && !t.Locked,
		IsModerator:  viewer != nil && viewer.IsModerator(),
		Registration: s.AcceptsRegistrations(),
		Path:         site.ThreadPagePath(t.ID, pageNum),
		FeedAtom:     s.path(site.ThreadPath(t.ID) + "/feed.atom"),
		FeedRSS:      s.path(site.ThreadPath(t.ID) + "/feed.rss"),
		Member:       viewer != nil,
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
	controls := make([]postControls, len(posts.posts))
	for i := range posts.posts {
		p := &posts.posts[i].post
		c := &controls[i]
		if viewer != nil && lastRead > 0 && p.Position == lastRead+1 {
			*c |= firstUnread
		}
		if viewer == nil || p.IsDeleted() {
			continue
		}
		own := p.AuthorID == viewer.ID
		if own {
			*c |= controlEdit | controlDelete
		} else {
			*c |= controlLike | controlReport
			if viewer.IsModerator() {
				*c |= controlDelete
			}
			if liked[p.ID] {
				*c |= controlLiked
			}
		}
		if data.CanReply {
			*c |= controlQuote
		}
	}
	if data.Posts, err = s.renderPosts(posts, controls, viewer); err != nil {
		s.serverError(w, r, err)
		return
	}
	modified := t.LastPostAt
	if posts.edited.After(modified) {
		modified = posts.edited
	}
	if pageNum > 1 {
		data.First = s.path(site.ThreadPagePath(id, 1))
		data.Prev = s.path(site.ThreadPagePath(id, pageNum-1))
	}
	if pageNum < lastPage {
		data.Next = s.path(site.ThreadPagePath(id, pageNum+1))
		data.Last = s.path(site.ThreadPagePath(id, lastPage))
	}
	data.Pages = pageLinks(pageNum, lastPage, func(n int64) string { return s.path(site.ThreadPagePath(id, n)) })
	data.PagePath = s.path(site.ThreadPath(id))
	tail := "tail-guest"
	if viewer != nil {
		tail = "tail-member"
	}
	if !form.empty() {
		tail = "" // the reader's own text: rendered for them alone
	}
	head := "head-guest"
	if viewer != nil {
		head = fmt.Sprintf("head-member-%t-%t-%t", data.Following, data.Muted, data.UnreadPath != "")
	}
	if data.Head, err = s.threadSection(posts, head, "threadhead", &data); err == nil {
		if data.Pager, err = s.threadSection(posts, "pager", "pager", &data); err == nil {
			data.Tail, err = s.threadSection(posts, tail, "threadtail", &data)
		}
	}
	if err != nil {
		s.serverError(w, r, err)
		return
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
	p.Description = posts.description
	if p.Description == "" {
		p.Description = "A thread in " + t.ForumTitle + " on " + s.SiteName() + "."
	}
	if status == http.StatusOK && form.empty() {
		s.renderCached(w, r, "thread", p, modified, t.Version)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "thread", p)
}

// pageLink is one numbered link of a pager; Gap stands for pages left
// out between two links.
type pageLink struct {
	Num     int64
	Path    string
	Current bool
	Gap     bool
}

// pagerWindow is how many pages either side of the current one are
// linked by number.
const pagerWindow = 2

// pageLinks numbers a pager: the first page, a window around page, the
// last, with gaps marked where pages are left out.
func pageLinks(page, last int64, path func(int64) string) []pageLink {
	if last < 2 {
		return nil
	}
	var out []pageLink
	add := func(n int64) {
		if k := len(out); k > 0 && out[k-1].Num < n-1 {
			out = append(out, pageLink{Gap: true, Num: n - 1})
		}
		out = append(out, pageLink{Num: n, Path: path(n), Current: n == page})
	}
	add(1)
	for n := max(2, page-pagerWindow); n <= min(last-1, page+pagerWindow); n++ {
		add(n)
	}
	add(last)
	return out
}

// liveThread loads thread id with its forum; for a thread that is not
// there or was deleted it has answered and returns nil.
func (s *Server) liveThread(w http.ResponseWriter, r *http.Request, id storage.ID) *storage.ThreadInForum {
	t, err := s.Store.ThreadWithForum(r.Context(), id)
	if err != nil {
		s.answer(w, r, err)
		return nil
	}
	if t.DeletedAt != nil {
		s.errorPage(w, r, http.StatusGone, "This thread was deleted.")
		return nil
	}
	return t
}

// replyFormFrom reads a reply box's fields.
func replyFormFrom(f url.Values) replyForm {
	return replyForm{Body: f.Get("body"), Summary: f.Get("summary"), QuoteID: f.Get("quote_id"),
		ReplyTo: f.Get("reply_to"), Token: f.Get("form_token")}
}

// replyAgain redirects a GET of the reply form's address (a reload after
// an error answered in place) to the thread's reply box.
func (s *Server) replyAgain(w http.ResponseWriter, r *http.Request) error {
	id, ok := parseIDParam(r, "id")
	if !ok {
		return storage.ErrNotFound
	}
	http.Redirect(w, r, s.path(site.ThreadPath(id))+"#reply", http.StatusSeeOther)
	return nil
}

// reply adds a post to a thread. A reply that cannot be posted (the
// session ended, the thread was locked meanwhile, the text was refused)
// is kept, and the member lands on the thread's reply box with it, after
// signing in if need be.
func (s *Server) reply(w http.ResponseWriter, r *http.Request) error {
	id, ok := parseIDParam(r, "id")
	if !ok {
		return storage.ErrNotFound
	}
	if !s.parseComposerForm(w, r) {
		return nil
	}
	viewer := viewerFrom(r)
	threadPage := site.ThreadPath(id)
	if viewer == nil {
		msg := "You were signed out before your reply was posted. Here it is: send it again."
		if !s.keepForm(w, r, nil, withoutButtons(r.PostForm), threadPage, "reply", msg+imagesAgain(r)) {
			s.requireMember(w, r, threadPage)
		}
		return nil
	}
	form := replyFormFrom(r.PostForm)
	var kept url.Values
	var again bool
	if form.Media, kept, again, form.Error = s.composerImages(r, viewer); again {
		form.Preview = s.previewHTML(r, form.Body)
		w.Header().Set("Cache-Control", "no-store")
		s.showThread(w, r, id, 0, form, http.StatusOK)
		return nil
	}
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
		Media:     attachItems(form.Media),
		FormToken: form.Token,
	})
	// A reply refused for its text, or because the thread was locked
	// meanwhile, is kept: the member lands on the reply box with it.
	refused := func(status int, msg string) error {
		if status != http.StatusServiceUnavailable && s.keepForm(w, r, viewer, kept, threadPage, "reply", msg) {
			return nil
		}
		form.Error = msg
		s.showThread(w, r, id, 0, form, status)
		return nil
	}
	switch {
	case errors.Is(err, storage.ErrLocked):
		return refused(http.StatusForbidden, lockedMessage)
	case err != nil:
		return withForm(err, refused)
	}
	s.redirect(w, r, site.PostPermalinkPath(p))
	return nil
}

// lockedMessage explains a reply kept because its thread was locked.
const lockedMessage = "This thread was locked while you were writing, so your reply was not posted. Your text is below to copy."
