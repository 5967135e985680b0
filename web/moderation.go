package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// requireModerator returns the id of the thread a moderator acts on and
// the moderator; for anyone else it has answered (sign-in redirect, 403
// or 404). Every action here goes through the store's audited methods.
func (s *Server) requireModerator(w http.ResponseWriter, r *http.Request) (storage.ID, *storage.Account, bool) {
	id, ok := parseIDParam(r, "id")
	if !ok {
		s.notFound(w, r)
		return 0, nil, false
	}
	viewer := s.requireMember(w, r, site.ThreadPath(id))
	if viewer == nil {
		return 0, nil, false
	}
	if !viewer.IsModerator() {
		s.forbidden(w, r, "Only moderators can do that.")
		return 0, nil, false
	}
	return id, viewer, s.parseForm(w, r)
}

// pinThread pins (on=1) or unpins (on=0) a thread.
func (s *Server) pinThread(w http.ResponseWriter, r *http.Request) error {
	return s.switchThread(w, r, s.Store.PinThread)
}

// lockThread locks (on=1) or unlocks (on=0) a thread.
func (s *Server) lockThread(w http.ResponseWriter, r *http.Request) error {
	return s.switchThread(w, r, s.Store.LockThread)
}

// switchThread turns one of a thread's switches on (on=1) or off, as the
// moderator asked, and goes back to the thread.
func (s *Server) switchThread(w http.ResponseWriter, r *http.Request, set func(ctx context.Context, by, id storage.ID, on bool) error) error {
	id, mod, ok := s.requireModerator(w, r)
	if !ok {
		return nil
	}
	if err := set(r.Context(), mod.ID, id, r.PostForm.Get("on") == "1"); err != nil {
		return err
	}
	s.redirect(w, r, site.ThreadPath(id))
	return nil
}

// deleteThread removes a thread and goes back to its forum.
func (s *Server) deleteThread(w http.ResponseWriter, r *http.Request) error {
	id, mod, ok := s.requireModerator(w, r)
	if !ok {
		return nil
	}
	t, err := s.Store.ThreadWithForum(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.Store.RemoveThread(r.Context(), mod.ID, id); err != nil {
		return err
	}
	s.mediaRemoved()
	s.redirect(w, r, site.ForumPath(t.ForumSlug))
	return nil
}

// moveThread moves a thread to the forum named by the form's slug.
func (s *Server) moveThread(w http.ResponseWriter, r *http.Request) error {
	id, mod, ok := s.requireModerator(w, r)
	if !ok {
		return nil
	}
	f, err := s.Store.ForumBySlug(r.Context(), r.PostForm.Get("forum"))
	if errors.Is(err, storage.ErrNotFound) {
		s.errorPage(w, r, http.StatusBadRequest, "There is no such forum.")
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.Store.MoveThread(r.Context(), mod.ID, id, f.ID); err != nil {
		return err
	}
	s.redirect(w, r, site.ThreadPath(id))
	return nil
}
