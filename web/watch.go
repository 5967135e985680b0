package web

import (
	"net/http"
	"strconv"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// Watching from this node: following a forum, muting a thread, and the
// setting that follows the threads a member posts in.

// followForum follows (on=1) or unfollows a forum for the member.
func (s *Server) followForum(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, err := s.Store.ForumBySlug(ctx, r.PathValue("slug"))
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	viewer := s.requireMember(w, r, site.ForumPath(f.Slug))
	if viewer == nil || !s.parseForm(w, r) {
		return
	}
	if r.PostForm.Get("on") == "1" {
		_, err = s.Store.AddFollow(ctx, viewer.ID, storage.FollowForum, f.ID, nil, true)
	} else {
		_, err = s.Store.RemoveFollow(ctx, viewer.ID, storage.FollowForum, f.ID)
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, site.ForumPath(f.Slug))
}

// muteThread mutes (on=1) or unmutes a thread for the member.
func (s *Server) muteThread(w http.ResponseWriter, r *http.Request) {
	id, ok := parseIDParam(r, "id")
	if !ok {
		s.notFound(w, r)
		return
	}
	viewer := s.requireMember(w, r, site.ThreadPath(id))
	if viewer == nil || !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	t, err := s.Store.ThreadByID(ctx, id)
	if err != nil || t.DeletedAt != nil {
		s.storeError(w, r, errorOr(err, storage.ErrNotFound))
		return
	}
	if err := s.Store.MuteThread(ctx, viewer.ID, id, r.PostForm.Get("on") == "1"); err != nil {
		s.serverError(w, r, err)
		return
	}
	back := site.ThreadPath(id)
	if n, err := strconv.ParseInt(r.PostForm.Get("page"), 10, 64); err == nil && n > 1 {
		back = site.ThreadPagePath(id, n)
	}
	s.redirect(w, r, back)
}

// saveWatching turns following the threads one posts in on or off.
func (s *Server) saveWatching(w http.ResponseWriter, r *http.Request) {
	viewer := s.requireMember(w, r, "/settings")
	if viewer == nil || !s.parseForm(w, r) {
		return
	}
	if err := s.Store.SetAutoWatch(r.Context(), viewer.ID, r.PostForm.Get("auto_watch") == "on"); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/settings?done=watching")
}
