package web

import (
	"errors"
	"net/http"

	"github.com/skein-forum/skein/storage"
)

// maxFormBytes bounds every form body: the longest post a member may
// write (storage.MaxBodyLen characters of up to four bytes, each byte
// percent-encoded in three), plus room for the other fields.
const maxFormBytes = 12*storage.MaxBodyLen + 64<<10

// parseForm reads a bounded form body. On failure it has answered (413
// for an oversized body, 400 otherwise) and returns false.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.errorPage(w, r, http.StatusRequestEntityTooLarge,
				"That was more text than a post can hold. Go back, shorten it and send it again.")
			return false
		}
		s.errorPage(w, r, http.StatusBadRequest, "The form could not be read. Go back and try again.")
		return false
	}
	return true
}

// unavailableMessage is shown beside a form whose text the database
// refused for the moment (busy, disk full): nothing was saved, and the
// member's text is on the form again to send once more.
const unavailableMessage = "The forum could not save this just now: its database is busy. Nothing was posted; your text is below. Send it again in a moment."

// retryLater marks a form answered 503 because the database refused the
// write for the moment.
func retryLater(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "30")
}

// parseIDParam reads an id from the URL path; a malformed one is a 404.
func parseIDParam(r *http.Request, name string) (storage.ID, bool) {
	id, err := storage.ParseID(r.PathValue(name))
	return id, err == nil
}

// optionalID reads an optional id form value; junk reads as none.
func optionalID(v string) *storage.ID {
	if v == "" {
		return nil
	}
	id, err := storage.ParseID(v)
	if err != nil {
		return nil
	}
	return &id
}

// beforeParam reads the ?before= id a keyset-paged list goes on from: 0
// for the first page; ok false when it is not an id.
func beforeParam(r *http.Request) (before storage.ID, ok bool) {
	v := r.URL.Query().Get("before")
	if v == "" {
		return 0, true
	}
	id, err := storage.ParseID(v)
	return id, err == nil
}
