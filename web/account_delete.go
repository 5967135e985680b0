package web

import (
	"context"
	"net/http"

	"github.com/skein-forum/skein/storage"
)

// deleteAccount is a member deleting their own account from /settings,
// confirmed with their password: their posts become tombstones, their
// profile is wiped and the fediverse is told (Delete{Person}).
func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request) {
	viewer := s.requireMember(w, r, "/settings")
	if viewer == nil || !s.parseForm(w, r) {
		return
	}
	if !s.ipLimit.allow(s.clientIP(r)) {
		s.tooManyAttempts(w, r)
		return
	}
	password := r.PostForm.Get("password")
	if len(password) > 4*maxPasswordLen || storage.CheckPassword(viewer.PasswordHash, password) != nil {
		s.renderSettings(w, r, http.StatusUnprocessableEntity, settingsForm{DisplayName: viewer.DisplayName,
			Bio: bioText(viewer.Bio), Errors: map[string]string{"delete": "That is not your password; the account was not deleted."}})
		return
	}
	if err := s.Store.DeleteOwnAccount(r.Context(), viewer.ID); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.mediaRemoved()
	s.clearSessionCookie(w)
	r = r.WithContext(context.WithValue(r.Context(), viewerKey{}, (*storage.Account)(nil))) // signed out now
	s.notice(w, r, http.StatusOK, "Account deleted",
		"Your account and your posts are deleted. Servers that had copies of your posts were asked to delete them too.")
}
