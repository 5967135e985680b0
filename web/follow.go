package web

import (
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
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
// server, or with a bad one, it shows the form again.
func (s *Server) remoteFollow(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	data := remoteFollowData{URI: q.Get("uri"), Server: q.Get("server")}
	p, ok := s.URLs.Path(data.URI)
	if !ok || data.URI == "" || !(strings.HasPrefix(p, "/f/") || strings.HasPrefix(p, "/t/") || strings.HasPrefix(p, "/u/")) {
		s.errorPage(w, r, http.StatusBadRequest, "There is nothing on this forum to follow at that address.")
		return nil
	}
	data.Handle = s.handleForPath(p)
	status, sent := toRemoteServer(w, r, data.Server, "/authorize_interaction?uri="+url.QueryEscape(data.URI), &data.Error)
	if sent {
		return nil
	}
	s.render(w, r, status, "follow", sitePage(r, "Follow from your server",
		"Follow "+data.Handle+" from your fediverse server.", s.URLs.Abs("/remote-follow?uri="+url.QueryEscape(data.URI)), data))
	return nil
}

// handleForPath names the actor at a site path: @slug@host for a forum,
// @t.ID@host for a thread, @handle@host for a member.
func (s *Server) handleForPath(p string) string {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
	if len(parts) < 2 {
		return ""
	}
	switch parts[0] {
	case "t":
		return "@" + s.URLs.Handle("t."+parts[1])
	default:
		return "@" + s.URLs.Handle(parts[1])
	}
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
