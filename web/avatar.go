package web

import (
	"errors"
	"net/http"

	"github.com/skein-forum/skein/media"
	"github.com/skein-forum/skein/storage"
)

// saveAvatar sets the member's picture from an uploaded image (cut to a
// square), or takes it away ("remove"). The old file goes with it.
func (s *Server) saveAvatar(w http.ResponseWriter, r *http.Request) error {
	viewer := s.requireMember(w, r, "/settings")
	if viewer == nil || !s.parseComposerForm(w, r) {
		return nil
	}
	if s.media == nil {
		s.errorPage(w, r, http.StatusNotFound, "This forum does not take pictures.")
		return nil
	}
	if r.PostForm.Get("remove") != "" {
		if err := s.Store.ClearAvatar(r.Context(), viewer.ID); err != nil {
			return err
		}
		s.mediaRemoved()
		s.redirect(w, r, "/settings#avatar")
		return nil
	}
	var fail string
	if r.MultipartForm == nil || len(r.MultipartForm.File["avatar"]) == 0 || r.MultipartForm.File["avatar"][0].Filename == "" {
		fail = "Choose an image first."
	} else if !allow(s.uploadLimit, viewer.ID.String()) {
		fail = tooManyUploads.Message
	} else {
		f, err := r.MultipartForm.File["avatar"][0].Open()
		if err == nil {
			_, err = s.media.SetAvatar(r.Context(), viewer.ID, f)
			f.Close()
		}
		var refused *media.Refusal
		switch {
		case errors.As(err, &refused):
			fail = refused.Message
		case storage.Unavailable(err):
			retryLater(w)
			fail = "The picture could not be saved just now. Try again in a moment."
		case err != nil:
			return err
		}
	}
	if fail != "" {
		s.renderSettings(w, r, http.StatusUnprocessableEntity, settingsForm{DisplayName: viewer.DisplayName,
			Bio: bioText(viewer.Bio), Errors: map[string]string{"avatar": fail}})
		return nil
	}
	s.mediaRemoved() // the previous picture's file
	s.redirect(w, r, "/settings#avatar")
	return nil
}
