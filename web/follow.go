package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/skein-forum/skein/storage"
)

type remoteFollowData struct {
	URI    string // the actor to follow, an absolute URL on this node
	Handle string
	Server string
	Error  string
}

// remoteFollow sends a reader to their own server to follow a forum,
// thread or member of this node: Mastodon (and servers copying it) open
// /authorize_interaction?uri=... for the signed-in user there. Without a
// server, or with a bad one, it shows the form again. It offers only what
// a guest may see and this node's fediverse answers for (see followable).
func (s *Server) remoteFollow(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	data := remoteFollowData{URI: q.Get("uri"), Server: q.Get("server")}
	p, ok := s.URLs.Path(data.URI)
	if !ok || data.URI == "" {
		s.errorPage(w, r, http.StatusBadRequest, nothingToFollow)
		return nil
	}
	handle, status, refusal, err := s.followable(r.Context(), p)
	if err != nil {
		return err
	}
	if refusal != "" {
		s.errorPage(w, r, status, refusal)
		return nil
	}
	data.Handle = handle
	status, sent := toRemoteServer(w, r, data.Server, "/authorize_interaction?uri="+url.QueryEscape(data.URI), &data.Error)
	if sent {
		return nil
	}
	s.render(w, r, status, "follow", sitePage(r, "Follow from your server",
		"Follow "+data.Handle+" from your fediverse server.", s.URLs.Abs("/remote-follow?uri="+url.QueryEscape(data.URI)), data))
	return nil
}

// nothingToFollow is what /remote-follow says of an address that names
// no forum, thread or member a guest may see here.
const nothingToFollow = "There is nothing on this forum to follow at that address."

// followable names the actor at site path p (/f/slug, /t/id, /u/handle)
// that may be followed from another server: @slug@host for a forum,
// @t.ID@host for a thread, @handle@host for a member. What the node's
// fediverse does not answer for (see [storage.Standing]) is refused with
// the status its page has and a message: gone (a deleted thread, a
// suspended or deleted member), unknown (a registration awaiting
// approval), or elsewhere (the hidden forum of mirrored threads, a mirror,
// whose actor is on its own server). err is for the database failing.
func (s *Server) followable(ctx context.Context, p string) (handle string, status int, refusal string, err error) {
	kind, name, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	name, _, _ = strings.Cut(name, "/")
	switch kind {
	case "f":
		f, err := s.Store.ForumBySlug(ctx, name)
		if err != nil {
			return notFollowable(err)
		}
		if f.Standing() == storage.ActorElsewhere {
			return "", http.StatusBadRequest, "That forum keeps copies of threads from other servers and has no followers of its own: follow each thread on its own server.", nil
		}
		return standingHandle(s.URLs.Handle(f.Slug), f.Standing())
	case "t":
		id, perr := storage.ParseID(name)
		if perr != nil {
			return notFollowable(storage.ErrNotFound)
		}
		t, err := s.Store.ThreadByID(ctx, id)
		if err != nil {
			return notFollowable(err)
		}
		if t.Standing() == storage.ActorElsewhere {
			return "", http.StatusBadRequest, "That thread is a copy of one on another server: follow it there.", nil
		}
		return standingHandle(s.URLs.Handle(storage.ThreadHandle(t.ID)), t.Standing())
	case "u":
		m, err := s.Store.MemberByHandle(ctx, name)
		if err != nil {
			return notFollowable(err)
		}
		return standingHandle(s.URLs.Handle(m.Handle), m.Standing())
	}
	return "", http.StatusBadRequest, nothingToFollow, nil
}

// standingHandle is followable's answer for an actor of standing st at
// name@host: its handle when it is live, else the status its own page
// answers with (410 for one gone, 404 for the rest).
func standingHandle(acct string, st storage.Standing) (string, int, string, error) {
	switch st {
	case storage.ActorLive:
		return "@" + acct, 0, "", nil
	case storage.ActorGone:
		return "", http.StatusGone, nothingToFollow, nil
	}
	return notFollowable(storage.ErrNotFound)
}

// notFollowable is followable's answer when what was asked for is not
// there for guests: err unless it is only that.
func notFollowable(err error) (string, int, string, error) {
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return "", 0, "", err
	}
	return "", http.StatusNotFound, nothingToFollow, nil
}

var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// toRemoteServer sends the reader to path on the server they typed, when
// they typed one, and reports sent. Otherwise it returns the status of
// the page that asks for it: 422, with [serverNameHelp] in msg, for a
// server name it refuses.
func toRemoteServer(w http.ResponseWriter, r *http.Request, typed, path string, msg *string) (status int, sent bool) {
	if typed == "" {
		return http.StatusOK, false
	}
	host, ok := remoteServer(typed)
	if !ok {
		*msg = serverNameHelp
		return http.StatusUnprocessableEntity, false
	}
	http.Redirect(w, r, "https://"+host+path, http.StatusSeeOther)
	return 0, true
}

// serverNameHelp is shown beside the server field when [remoteServer]
// refuses what was typed.
const serverNameHelp = "Type just the name of your server, like mastodon.social."

// remoteServer reads what a reader typed as their server: a host name with
// an optional port. It forgives a pasted "https://" prefix, a trailing
// slash or a whole "@me@server" address, and refuses anything with a path,
// user info or odd characters, so the redirect can only go to a host.
// When it refuses, the form shows [serverNameHelp].
func remoteServer(typed string) (string, bool) {
	v := strings.ToLower(strings.TrimSpace(typed))
	v = strings.TrimPrefix(v, "https://")
	v = strings.TrimPrefix(v, "http://")
	v = strings.TrimSuffix(v, "/")
	if i := strings.LastIndex(v, "@"); i >= 0 && strings.HasPrefix(v, "@") {
		v = v[i+1:] // @name@server
	}
	if v == "" || len(v) > 253 || strings.ContainsAny(v, "/?#@\\ %") {
		return "", false
	}
	host, port := v, ""
	if h, p, err := net.SplitHostPort(v); err == nil {
		host, port = h, p
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", false
		}
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 && host != "localhost" {
		return "", false
	}
	for _, l := range labels {
		if !hostLabel.MatchString(l) {
			return "", false
		}
	}
	return v, true
}
