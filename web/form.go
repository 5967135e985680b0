package web

import (
	"context"
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

// pageAndNext cuts rows, read with one row more than a page (perPage+1)
// to learn whether another follows, to the page, and links the page after
// it: link followed by the key of the page's last row, "" when none
// follows.
func pageAndNext[T any](s *Server, rows []T, perPage int, link string, key func(*T) storage.ID) ([]T, string) {
	if len(rows) <= perPage {
		return rows, ""
	}
	rows = rows[:perPage]
	return rows, s.path(link + key(&rows[perPage-1]).String())
}

// beforePage reads the page of a newest-first list that ?before= asks
// for, with the link to the page after it (see pageAndNext): list reads
// up to n rows older than a key, the newest for 0. A before that is not an
// id is not found.
func beforePage[T any](s *Server, r *http.Request, perPage int, link string,
	list func(ctx context.Context, before storage.ID, n int) ([]T, error), key func(*T) storage.ID) ([]T, string, error) {
	before, ok := beforeParam(r)
	if !ok {
		return nil, "", storage.ErrNotFound
	}
	rows, err := list(r.Context(), before, perPage+1)
	if err != nil {
		return nil, "", err
	}
	rows, next := pageAndNext(s, rows, perPage, link, key)
	return rows, next, nil
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
