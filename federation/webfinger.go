package federation

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// JRD is a WebFinger answer (RFC 7033).
type JRD struct {
	Subject string    `json:"subject"`
	Aliases []string  `json:"aliases"`
	Links   []JRDLink `json:"links"`
}

// JRDLink is one link of a JRD.
type JRDLink struct {
	Rel  string `json:"rel"`
	Type string `json:"type,omitempty"`
	Href string `json:"href,omitempty"`
}

// serveWebFinger answers /.well-known/webfinger?resource=acct:NAME@HOST
// (or the https id of an actor) for members, forums, threads and the
// instance actor. Members and forums share one namespace, so a name has at
// most one answer; thread names are "t.<id>", which neither may take.
// The subject is exactly the resource asked for, as Mastodon checks. An
// actor whose document answers 404 or 410 answers the same here.
func (s *Server) serveWebFinger(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	resource := r.URL.Query().Get("resource")
	if resource == "" || len(resource) > 512 {
		return &refusal{http.StatusBadRequest, "resource required"}
	}
	actorID, err := s.lookupResource(r.Context(), resource)
	if err != nil {
		return err
	}
	jrd := &JRD{
		Subject: resource,
		Aliases: []string{actorID},
		Links: []JRDLink{
			{Rel: "self", Type: "application/activity+json", Href: actorID},
			{Rel: "http://webfinger.net/rel/profile-page", Type: "text/html", Href: actorID},
		},
	}
	doc, err := newDocument(jrd, time.Time{})
	if err != nil {
		return err
	}
	writeBody(w, r, http.StatusOK, doc, "application/jrd+json; charset=utf-8")
	return nil
}

// lookupResource maps a WebFinger resource to a local actor id.
func (s *Server) lookupResource(ctx context.Context, resource string) (string, error) {
	if strings.HasPrefix(resource, "https://") || strings.HasPrefix(resource, "http://") {
		return s.lookupActorURL(ctx, resource)
	}
	acct := strings.TrimPrefix(strings.TrimPrefix(resource, "acct:"), "@")
	at := strings.LastIndexByte(acct, '@')
	if at <= 0 || !strings.EqualFold(acct[at+1:], s.urls.Host()) {
		return "", errNotFound
	}
	return s.lookupName(ctx, strings.ToLower(acct[:at]))
}

// lookupName maps a local actor name (a preferredUsername) to its id.
func (s *Server) lookupName(ctx context.Context, name string) (string, error) {
	if name == site.InstanceActorName {
		return s.urls.InstanceActor(), nil
	}
	if id, ok := storage.ParseThreadHandle(name); ok {
		t, err := s.store.ThreadByID(ctx, id)
		if err != nil {
			return "", err
		}
		return s.urls.Thread(t.ID), webFingerStanding(t.Standing())
	}
	kind, _, err := s.store.LocalName(ctx, name)
	if err != nil {
		return "", err
	}
	switch kind {
	case "member":
		a, err := s.store.MemberByHandle(ctx, name)
		if err != nil {
			return "", err
		}
		return s.urls.Member(a.Handle), webFingerStanding(a.Standing())
	case "forum":
		f, err := s.store.ForumBySlug(ctx, name)
		if err != nil {
			return "", err
		}
		return s.urls.Forum(name), webFingerStanding(f.Standing())
	}
	return "", errNotFound
}

// errWebFingerGone answers WebFinger for an actor whose document answers
// 410: Mastodon takes a 410 here as the account gone and drops its copy,
// as it does on the document itself.
var errWebFingerGone = &refusal{http.StatusGone, "gone"}

// webFingerStanding is WebFinger's answer for an actor of standing st,
// the same status its document answers with (see [storage.Standing]):
// nil for a live one.
func webFingerStanding(st storage.Standing) error {
	switch st {
	case storage.ActorLive:
		return nil
	case storage.ActorGone:
		return errWebFingerGone
	}
	return errNotFound
}

// lookupActorURL accepts the id of a local actor as a resource.
func (s *Server) lookupActorURL(ctx context.Context, resource string) (string, error) {
	path, ok := s.urls.Path(resource)
	if !ok {
		return "", errNotFound
	}
	if path == "/actor" {
		return s.urls.InstanceActor(), nil
	}
	prefix, name, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", errNotFound
	}
	switch prefix {
	case "u", "f":
		kind, _, err := s.store.LocalName(ctx, name)
		if err != nil {
			return "", err
		}
		if (prefix == "u") != (kind == "member") {
			return "", errNotFound
		}
		return s.lookupName(ctx, name)
	case "t":
		return s.lookupName(ctx, "t."+name)
	}
	return "", errNotFound
}

// errNoWebFinger marks a WebFinger answer without an ActivityPub link.
var errNoWebFinger = errors.New("webfinger: no activitypub link")
