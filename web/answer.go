package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/skein-forum/skein/storage"
)

// handler is a page or form handler that returns what went wrong instead
// of answering it: [Server.answer] is the one place errors become
// responses. A handler that has already answered (a sign-in redirect, a
// page of its own) returns nil.
type handler func(w http.ResponseWriter, r *http.Request) error

// answering adapts h to net/http, answering its error.
func (s *Server) answering(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.answer(w, r, err)
		}
	}
}

// adminOnly lets only a signed-in administrator through to h; anyone
// else, guests included, gets 403.
func (s *Server) adminOnly(h handler) handler {
	return s.only((*storage.Account).IsAdmin, "This page is for the forum's administrators.", h)
}

// staffOnly lets only a signed-in moderator or administrator through to
// h; anyone else, guests included, gets 403.
func (s *Server) staffOnly(h handler) handler {
	return s.only((*storage.Account).IsModerator,
		"This page is for the forum's moderators. Sign in with a moderator's account to see it.", h)
}

// only lets through to h the signed-in accounts that may, and answers
// anyone else 403 with refusal. What it lets through is never cached.
func (s *Server) only(may func(*storage.Account) bool, refusal string, h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if v := viewerFrom(r); v == nil || !may(v) {
			s.forbidden(w, r, refusal)
			return nil
		}
		w.Header().Set("Cache-Control", "no-store")
		return h(w, r)
	}
}

// refusedForm is a store error paired with the form it answers.
type refusedForm struct {
	err  error
	show func(status int, message string) error
}

func (e *refusedForm) Error() string { return e.err.Error() }
func (e *refusedForm) Unwrap() error { return e.err }

// withForm pairs err (nil stays nil) with the form that shows it: when
// the store refused the input ([storage.Invalid]) the renderer calls show
// with 422 and the store's message, and when the database refused the
// write for the moment with 503 and [unavailableMessage]; show renders
// the form again with the typed text. Any other error is answered as if
// no form were named.
func withForm(err error, show func(status int, message string) error) error {
	if err == nil {
		return nil
	}
	return &refusedForm{err: err, show: show}
}

// answer maps a handler's error to a response: input the store refused
// to the form again (or a 400 page when there is no form), not found to
// 404, a forbidden action to 403 with the store's reason, and anything
// else to a logged server error.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, err error) {
	var (
		form      *refusedForm
		forbidden *storage.Forbidden
	)
	hasForm := errors.As(err, &form)
	refused, isRefused := refusal(err)
	switch {
	case hasForm && isRefused:
		err = form.show(http.StatusUnprocessableEntity, refused)
	case hasForm && storage.Unavailable(err):
		s.Log.Warn("form not saved: the database refused the write", "method", r.Method, "path", r.URL.Path, "err", err)
		retryLater(w)
		err = form.show(http.StatusServiceUnavailable, unavailableMessage)
	case errors.Is(err, storage.ErrNotFound):
		s.notFound(w, r)
		return
	case errors.As(err, &forbidden):
		s.forbidden(w, r, userSentence(forbidden.Msg))
		return
	case isRefused:
		s.errorPage(w, r, http.StatusBadRequest, refused)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
	}
}

// refusal is the message for input that was refused, ok false when err
// is no refusal. An ErrInvalid that is no [storage.Invalid] carries no
// message fit to show, so it gets a general one: bad input is never a
// server error.
func refusal(err error) (msg string, ok bool) {
	var invalid *storage.Invalid
	if errors.As(err, &invalid) {
		return userSentence(invalid.Msg), true
	}
	if errors.Is(err, storage.ErrInvalid) {
		return "That was not accepted. Check what you typed and try again.", true
	}
	return "", false
}

// userSentence turns a store's message ("the title is empty") into a
// sentence to show.
func userSentence(msg string) string {
	if msg == "" {
		return "That did not work."
	}
	return upperFirst(msg) + "."
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
