package web

import (
	"context"
	"net/http"

	"github.com/skein-forum/skein/storage"
)

// deleteAccount is a member deleting their own account from /settings,
// confirmed with their password: their posts become tombstones, their
// profile is wiped and the fediverse is told (Delete{Person}).
func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request) error {
	viewer := s.passwordForm(w, r)
	if viewer == nil {
		return nil
	}
	password := r.PostForm.Get("password")
	if len(password) > 4*maxPasswordLen || storage.CheckPassword(viewer.PasswordHash, password) != nil {
		s.renderSettings(w, r, http.StatusUnprocessableEntity, settingsForm{DisplayName: viewer.DisplayName,
			Bio: bioText(viewer.Bio), Errors: map[string]string{"delete": "That is not your password; the account was not deleted."}})
		return nil
	}
	if err := s.Store.DeleteOwnAccount(r.Context(), viewer.ID); err != nil {
		return err
	}
	s.mediaRemoved()
	s.clearSessionCookie(w)
	r = r.WithContext(context.WithValue(r.Context(), viewerKey{}, (*storage.Account)(nil))) // signed out now
	s.notice(w, r, http.StatusOK, "Account deleted",
		"Your account and your posts are deleted. Servers that had copies of your posts were asked to delete them too.")
	return nil
}
