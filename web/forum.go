package web

import (
	"errors"
	"net/http"
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
	Follow  followBox
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
// by latest activity, keyset-paged with ?before=.
func (s *Server) forum(w http.ResponseWriter, r *http.Request) {
	if s.serveActivityPub(w, r) {
		return
	}
	ctx := r.Context()
	if viewerFrom(r) == nil {
		if v, err := s.Store.ForumVersion(ctx, r.PathValue("slug")); err == nil && s.serveCachedGuestPage(w, r, v) {
			return
		}
	}
	f, err := s.Store.ForumBySlug(ctx, r.PathValue("slug"))
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	var before storage.ID
	if v := r.URL.Query().Get("before"); v != "" {
		if before, err = storage.ParseID(v); err != nil {
			s.notFound(w, r)
			return
		}
	}
	data := forumData{Forum: f, IsFirst: before == 0}
	if !f.Hidden {
		// The hidden forum of mirrored threads has no fediverse actor.
		data.Follow = followBox{Handle: "@" + s.URLs.Handle(f.Slug), ActorURL: s.URLs.Forum(f.Slug)}
	}
	if v := viewerFrom(r); v != nil {
		_, ferr := s.Store.FollowOf(ctx, v.ID, storage.FollowForum, f.ID)
		if ferr != nil && !errors.Is(ferr, storage.ErrNotFound) {
			s.serverError(w, r, ferr)
			return
		}
		data.Following = ferr == nil
	}
	var pinned, threads []storage.Thread
	if before == 0 {
		if pinned, err = s.Store.ListPinnedThreads(ctx, f.ID); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	if threads, err = s.Store.ListThreads(ctx, f.ID, before, threadsPerPage+1); err != nil {
		s.serverError(w, r, err)
		return
	}
	if data.Pinned, err = s.threadRows(r, pinned); err != nil {
		s.serverError(w, r, err)
		return
	}
	if data.Threads, err = s.threadRows(r, threads); err != nil {
		s.serverError(w, r, err)
		return
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
	if len(data.Threads) > threadsPerPage {
		data.Threads = data.Threads[:threadsPerPage]
		data.Next = s.path(site.ForumPath(f.Slug) + "?before=" + data.Threads[threadsPerPage-1].LastPostID.String())
		p.Next = data.Next
	}
	if before != 0 {
		p.Canonical += "?before=" + before.String()
		p.Prev = s.path(site.ForumPath(f.Slug))
	}
	if p.Description == "" {
		p.Description = "Threads in " + f.Title + " on " + s.SiteName() + "."
	}
	p.Data = data
	var modified time.Time
	if f.LastPostAt != nil {
		modified = *f.LastPostAt
	}
	s.renderCached(w, r, "forum", p, modified, f.Version)
}

type threadForm struct {
	Forum       *storage.Forum
	Title, Body string
	Summary     string // the content warning
	Error       string
}

// newThreadForm shows the "start a thread" form to members.
func (s *Server) newThreadForm(w http.ResponseWriter, r *http.Request) {
	f, err := s.Store.ForumBySlug(r.Context(), r.PathValue("slug"))
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if s.requireMember(w, r, site.ForumPath(f.Slug)+"/new") == nil {
		return
	}
	s.renderThreadForm(w, r, http.StatusOK, threadForm{Forum: f})
}

func (s *Server) renderThreadForm(w http.ResponseWriter, r *http.Request, status int, form threadForm) {
	s.render(w, r, status, "newthread", &page{
		Title:       "Start a thread in " + form.Forum.Title,
		Description: "Start a thread in " + form.Forum.Title + ".",
		Canonical:   s.URLs.Forum(form.Forum.Slug) + "/new",
		OGType:      "website",
		Viewer:      viewerFrom(r),
		Data:        form,
	})
}

// createThread starts a thread; a refused form comes back with the typed
// text.
func (s *Server) createThread(w http.ResponseWriter, r *http.Request) {
	f, err := s.Store.ForumBySlug(r.Context(), r.PathValue("slug"))
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	viewer := s.requireMember(w, r, site.ForumPath(f.Slug)+"/new")
	if viewer == nil || !s.parseForm(w, r) {
		return
	}
	form := threadForm{Forum: f, Title: r.PostForm.Get("title"), Body: r.PostForm.Get("body"), Summary: r.PostForm.Get("summary")}
	html, mentions := s.postHTML(r.Context(), form.Body, nil)
	t, _, err := s.Store.CreateThread(r.Context(), storage.NewThread{
		ForumID: f.ID, AuthorID: viewer.ID, Title: form.Title, Source: form.Body, HTML: html,
		Summary: form.Summary, Mentions: mentions,
	})
	switch {
	case errors.Is(err, storage.ErrInvalid):
		form.Error = formError(err)
		s.renderThreadForm(w, r, http.StatusUnprocessableEntity, form)
		return
	case storage.Unavailable(err):
		s.Log.Warn("thread not saved", "forum", f.Slug, "err", err)
		form.Error = unavailableMessage
		retryLater(w)
		s.renderThreadForm(w, r, http.StatusServiceUnavailable, form)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, site.ThreadPath(t.ID))
}
