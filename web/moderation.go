package web

import (
	"net/http"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// requireModerator returns the id of the thread a moderator acts on; for
// anyone else it has answered (sign-in redirect, 403 or 404).
func (s *Server) requireModerator(w http.ResponseWriter, r *http.Request) (storage.ID, bool) {
	id, ok := parseIDParam(r, "id")
	if !ok {
		s.notFound(w, r)
		return 0, false
	}
	viewer := s.requireMember(w, r, site.ThreadPath(id))
	if viewer == nil {
		return 0, false
	}
	if !viewer.IsModerator() {
		s.forbidden(w, r, "Only moderators can do that.")
		return 0, false
	}
	return id, s.parseForm(w, r)
}

// pinThread pins (on=1) or unpins (on=0) a thread.
func (s *Server) pinThread(w http.ResponseWriter, r *http.Request) {
	id, ok := s.requireModerator(w, r)
	if !ok {
		return
	}
	if err := s.Store.SetThreadPinned(r.Context(), id, r.PostForm.Get("on") == "1"); err != nil {
		s.storeError(w, r, err)
		return
	}
	s.redirect(w, r, site.ThreadPath(id))
}

// lockThread locks (on=1) or unlocks (on=0) a thread.
func (s *Server) lockThread(w http.ResponseWriter, r *http.Request) {
	id, ok := s.requireModerator(w, r)
	if !ok {
		return
	}
	if err := s.Store.SetThreadLocked(r.Context(), id, r.PostForm.Get("on") == "1"); err != nil {
		s.storeError(w, r, err)
		return
	}
	s.redirect(w, r, site.ThreadPath(id))
}

// deleteThread removes a thread and goes back to its forum.
func (s *Server) deleteThread(w http.ResponseWriter, r *http.Request) {
	id, ok := s.requireModerator(w, r)
	if !ok {
		return
	}
	t, err := s.Store.ThreadWithForum(r.Context(), id)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if err := s.Store.DeleteThread(r.Context(), id); err != nil {
		s.storeError(w, r, err)
		return
	}
	s.redirect(w, r, site.ForumPath(t.ForumSlug))
}
