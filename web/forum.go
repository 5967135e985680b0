package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

const threadsPerPage = 30

type forumData struct {
	Forum   *storage.Forum
	Pinned  []threadRow
	Threads []threadRow
	Next    string // path of the next (older) page, "" on the last
	IsFirst bool
	// The numbered pager (see pageLinks); empty on ?before= pages.
	Page, LastPage int64
	Prev           string
	Pages          []pageLink
	PagePath       string
	Follow         followBox
	// Following: the signed-in member follows the forum here, and hears
	// of its new threads.
	Following bool
}

// followBox is the "follow from your server" form of a forum or thread.
type followBox struct {
	Handle   string // @name@host
	ActorURL string
}

// forum lists a forum's threads: pinned first (on the first page), then
// by latest activity, in numbered pages (?page=N); ?before= (keyset) pages
// of older links still work.
func (s *Server) forum(w http.ResponseWriter, r *http.Request) error {
	if s.serveActivityPub(w, r) {
		return nil
	}
	ctx := r.Context()
	if viewerFrom(r) == nil {
		if v, err := s.Store.ForumVersion(ctx, r.PathValue("slug")); err == nil && s.serveCachedGuestPage(w, r, v) {
			return nil
		}
	}
	f, err := s.Store.ForumBySlug(ctx, r.PathValue("slug"))
	if err != nil {
		return err
	}
	var before storage.ID
	if v := r.URL.Query().Get("before"); v != "" {
		if before, err = storage.ParseID(v); err != nil {
			s.notFound(w, r)
			return nil
		}
	}
	pageNum := int64(1)
	if v := r.URL.Query().Get("page"); v != "" && before == 0 {
		if pageNum, err = strconv.ParseInt(v, 10, 64); err != nil || pageNum < 1 || pageNum > 100_000 {
			s.notFound(w, r)
			return nil
		}
	}
	data := forumData{Forum: f, IsFirst: before == 0 && pageNum == 1}
	if !f.Hidden {
		// The hidden forum of mirrored threads has no fediverse actor.
		data.Follow = followBox{Handle: "@" + s.URLs.Handle(f.Slug), ActorURL: s.URLs.Forum(f.Slug)}
	}
	if v := viewerFrom(r); v != nil {
		_, ferr := s.Store.FollowOf(ctx, v.ID, storage.FollowForum, f.ID)
		if ferr != nil && !errors.Is(ferr, storage.ErrNotFound) {
			return ferr
		}
		data.Following = ferr == nil
	}
	var pinned, threads []storage.Thread
	if data.IsFirst {
		if pinned, err = s.Store.ListPinnedThreads(ctx, f.ID); err != nil {
			return err
		}
	}
	if before != 0 {
		threads, err = s.Store.ListThreads(ctx, f.ID, before, threadsPerPage+1)
	} else {
		threads, err = s.Store.ListThreadsPage(ctx, f.ID, int((pageNum-1)*threadsPerPage), threadsPerPage+1)
	}
	if err != nil {
		return err
	}
	if data.Pinned, err = s.threadRows(r, pinned); err != nil {
		return err
	}
	if data.Threads, err = s.threadRows(r, threads); err != nil {
		return err
	}
	p := &page{
		Title:       f.Title,
		Description: f.Description,
		Canonical:   s.URLs.Forum(f.Slug),
		Alternate:   s.URLs.Forum(f.Slug),
		OGType:      "website",
		Feeds:       s.feedLinks(f.Title, site.ForumPath(f.Slug)+"/feed.atom"),
		Viewer:      viewerFrom(r),
	}
	more := len(data.Threads) > threadsPerPage
	if more {
		data.Threads = data.Threads[:threadsPerPage]
	}
	forumPage := func(n int64) string {
		if n == 1 {
			return s.path(site.ForumPath(f.Slug))
		}
		return s.path(site.ForumPath(f.Slug) + "?page=" + strconv.FormatInt(n, 10))
	}
	switch {
	case before != 0:
		if more {
			data.Next = s.path(site.ForumPath(f.Slug) + "?before=" + data.Threads[threadsPerPage-1].LastPostID.String())
		}
		p.Canonical += "?before=" + before.String()
		p.Prev = s.path(site.ForumPath(f.Slug))
	default:
		// The thread count bounds the pages: silenced authors' threads,
		// left out of the list, may leave the last page short.
		data.Page, data.LastPage = pageNum, max(1, (f.ThreadCount+threadsPerPage-1)/threadsPerPage)
		if more {
			data.LastPage = max(data.LastPage, pageNum+1)
			data.Next = forumPage(pageNum + 1)
		}
		if pageNum > 1 {
			data.Prev, p.Prev = forumPage(pageNum-1), forumPage(pageNum-1)
			p.Canonical += "?page=" + strconv.FormatInt(pageNum, 10)
		}
		data.Pages = pageLinks(pageNum, data.LastPage, forumPage)
		data.PagePath = s.path(site.ForumPath(f.Slug))
	}
	p.Next = data.Next
	if p.Description == "" {
		p.Description = "Threads in " + f.Title + " on " + s.SiteName() + "."
	}
	p.Data = data
	var modified time.Time
	if f.LastPostAt != nil {
		modified = *f.LastPostAt
	}
	s.renderCached(w, r, "forum", p, modified, f.Version)
	return nil
}

type threadForm struct {
	Forum       *storage.Forum
	Title, Body string
	Summary     string // the content warning
	Error       string
	Token       string        // as in replyForm
	Preview     template.HTML // the rendered opening post, after Preview
	Media       []attachmentField
}

func threadFormFrom(f *storage.Forum, v url.Values) threadForm {
	return threadForm{Forum: f, Title: v.Get("title"), Body: v.Get("body"), Summary: v.Get("summary"), Token: v.Get("form_token")}
}

// newThreadForm shows the "start a thread" form to members, with the
// text of a form that could not be posted when ?draft= names it.
func (s *Server) newThreadForm(w http.ResponseWriter, r *http.Request) error {
	f, err := s.Store.ForumBySlug(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	if s.requireMember(w, r, site.ForumPath(f.Slug)+"/new") == nil {
		return nil
	}
	form := threadForm{Forum: f}
	token, fields, msg, done := s.keptForm(w, r, site.ForumPath(f.Slug)+"/new")
	if done {
		return nil
	}
	if token != "" {
		form = threadFormFrom(f, fields)
		form.Token, form.Error = token, msg
		form.Media, _ = s.composerMedia(r, viewerFrom(r), fields, nil)
	}
	s.renderThreadForm(w, r, http.StatusOK, form)
	return nil
}

func (s *Server) renderThreadForm(w http.ResponseWriter, r *http.Request, status int, form threadForm) {
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "newthread", sitePage(r, "Start a thread in "+form.Forum.Title,
		"Start a thread in "+form.Forum.Title+".", s.URLs.Forum(form.Forum.Slug)+"/new", form))
}

// createThread starts a thread. As with replies, a form that cannot be
// posted is kept and shown again, after signing in if need be.
func (s *Server) createThread(w http.ResponseWriter, r *http.Request) error {
	f, err := s.Store.ForumBySlug(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	if !s.parseComposerForm(w, r) {
		return nil
	}
	viewer := viewerFrom(r)
	formPage := site.ForumPath(f.Slug) + "/new"
	if viewer == nil {
		msg := "You were signed out before your thread was posted. Here it is: send it again."
		if !s.keepForm(w, r, nil, withoutButtons(r.PostForm), formPage, "compose", msg+imagesAgain(r)) {
			s.requireMember(w, r, formPage)
		}
		return nil
	}
	form := threadFormFrom(f, r.PostForm)
	var kept url.Values
	var again bool
	if form.Media, kept, again, form.Error = s.composerImages(r, viewer); again {
		form.Preview = s.previewHTML(r, form.Body)
		s.renderThreadForm(w, r, http.StatusOK, form)
		return nil
	}
	html, mentions := s.postHTML(r.Context(), form.Body, nil)
	t, _, err := s.Store.CreateThread(r.Context(), storage.NewThread{
		ForumID: f.ID, AuthorID: viewer.ID, Title: form.Title, Source: form.Body, HTML: html,
		Summary: form.Summary, Mentions: mentions, Media: attachItems(form.Media), FormToken: form.Token,
	})
	if err != nil {
		return withForm(err, func(status int, msg string) error {
			if status == http.StatusUnprocessableEntity && s.keepForm(w, r, viewer, kept, formPage, "compose", msg) {
				return nil
			}
			form.Error = msg
			s.renderThreadForm(w, r, status, form)
			return nil
		})
	}
	s.redirect(w, r, site.ThreadPath(t.ID))
	return nil
}
