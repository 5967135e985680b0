package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/skein-forum/skein/storage"
)

const (
	sessionCookie = "skein_session"
	sessionTTL    = 30 * 24 * time.Hour
)

type viewerKey struct{}

// withViewer loads the signed-in member, if any, before the page runs.
// A guest costs nothing: without the cookie there is no query.
func (s *Server) withViewer(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" {
			h(w, r)
			return
		}
		a, err := s.Store.SessionMember(r.Context(), c.Value)
		switch {
		case err == nil:
			r = r.WithContext(context.WithValue(r.Context(), viewerKey{}, a))
		case errors.Is(err, storage.ErrNotFound):
			s.clearSessionCookie(w) // expired or signed out elsewhere
		case r.Context().Err() != nil:
			// The client closed the connection before its session was
			// read: nothing for an admin to act on (see serverError).
			s.Log.Debug("load session: request abandoned", "path", r.URL.Path, "err", err)
		default:
			s.Log.Error("load session", "err", err)
		}
		h(w, r)
	})
}

// viewerFrom returns the signed-in member, or nil for a guest.
func viewerFrom(r *http.Request) *storage.Account {
	a, _ := r.Context().Value(viewerKey{}).(*storage.Account)
	return a
}

func (s *Server) setSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    token,
		Path:     s.path("/"),
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		Secure:   s.URLs.Secure(),
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     s.path("/"),
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   s.URLs.Secure(),
		SameSite: http.SameSiteLaxMode,
	})
}

// requireMember returns the signed-in member, or sends a guest to the
// sign-in page (coming back to back, a site path, afterwards) and
// returns nil.
func (s *Server) requireMember(w http.ResponseWriter, r *http.Request, back string) *storage.Account {
	if v := viewerFrom(r); v != nil {
		return v
	}
	s.redirect(w, r, "/signin?next="+url.QueryEscape(back))
	return nil
}

// memberForm is requireMember for a form: the signed-in member, once the
// form is read; nil when it has answered (sign-in redirect, 400, 413).
func (s *Server) memberForm(w http.ResponseWriter, r *http.Request, back string) *storage.Account {
	viewer := s.requireMember(w, r, back)
	if viewer == nil || !s.parseForm(w, r) {
		return nil
	}
	return viewer
}

// passwordForm is memberForm for the settings forms that check the
// member's password: their client's address gets as many tries as at
// signing in.
func (s *Server) passwordForm(w http.ResponseWriter, r *http.Request) *storage.Account {
	viewer := s.memberForm(w, r, "/settings")
	if viewer == nil {
		return nil
	}
	if !allow(s.ipLimit, s.clientIP(r)) {
		s.tooManyAttempts(w, r)
		return nil
	}
	return viewer
}

// localPath accepts a "next" parameter only when it is a path on this
// site, so sign-in can never bounce a member to another site. It judges
// the path as a browser will read it: browsers drop tabs and newlines
// anywhere in a URL and read a backslash as a slash, so "/<TAB>/evil.example"
// and "/\evil.example" both become "//evil.example", another site. Any
// control character or backslash is refused outright; what remains must
// parse as a bare path.
func localPath(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || len(next) > 2000 {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return next
}
