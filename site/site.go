// Package site knows the node's public addresses: every URL that web
// pages link to and every ActivityPub id is built here, from the one base
// URL the admin configured, so the forum and the fediverse always agree on
// where a thing lives.
package site

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/skein-forum/skein/storage"
)

// URLs builds absolute URLs under the node's base URL.
type URLs struct {
	base string // scheme://host[:port][/prefix], no trailing slash
	host string // host[:port], as WebFinger's acct: uses it
}

// New parses the base URL ("http://localhost:8080", "https://forum.example").
func New(base string) (*URLs, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("base url %q: %w", base, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("base url %q: want http(s)://host[:port][/path]", base)
	}
	return &URLs{base: strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), host: u.Host}, nil
}

// MustNew is New for tests and constants.
func MustNew(base string) *URLs {
	u, err := New(base)
	if err != nil {
		panic(err)
	}
	return u
}

// Base is the base URL without a trailing slash.
func (u *URLs) Base() string { return u.base }

// Host is the host with its port, if any: the HOST of acct:NAME@HOST.
func (u *URLs) Host() string { return u.host }

// Secure reports whether the node is served over https (cookies then get
// the Secure flag).
func (u *URLs) Secure() bool { return strings.HasPrefix(u.base, "https://") }

// Abs makes a site path absolute.
func (u *URLs) Abs(path string) string { return u.base + path }

// Path strips the base, returning the site path of an absolute URL on
// this node, or ok=false when the URL points elsewhere.
func (u *URLs) Path(abs string) (string, bool) {
	rest, ok := strings.CutPrefix(abs, u.base)
	if !ok || (rest != "" && rest[0] != '/') {
		return "", false
	}
	if rest == "" {
		rest = "/"
	}
	return rest, true
}

// Site paths. Pages and ActivityPub documents share them: the same URL
// answers HTML to browsers and JSON to fediverse servers.

func MemberPath(handle string) string      { return "/u/" + handle }
func ForumPath(slug string) string         { return "/f/" + slug }
func ThreadPath(id storage.ID) string      { return "/t/" + id.String() }
func PostPath(id storage.ID) string        { return "/p/" + id.String() }
func MediaPath(key string) string          { return "/media/" + key }
func ThreadPostsPath(id storage.ID) string { return ThreadPath(id) + "/posts" }

// ThreadPagePath is page n of a thread's web view; page 1 has no query.
func ThreadPagePath(id storage.ID, page int64) string {
	if page <= 1 {
		return ThreadPath(id)
	}
	return ThreadPath(id) + "?page=" + strconv.FormatInt(page, 10)
}

// PostAnchor is the fragment id of a post on its thread page.
func PostAnchor(id storage.ID) string { return "p" + id.String() }

// PostPermalinkPath is the page and anchor where a post is shown.
func PostPermalinkPath(p *storage.Post) string {
	return ThreadPagePath(p.ThreadID, p.Page()) + "#" + PostAnchor(p.ID)
}

// Absolute URLs of the same things; these are the ActivityPub ids.

func (u *URLs) Member(handle string) string      { return u.base + MemberPath(handle) }
func (u *URLs) Forum(slug string) string         { return u.base + ForumPath(slug) }
func (u *URLs) Thread(id storage.ID) string      { return u.base + ThreadPath(id) }
func (u *URLs) Post(id storage.ID) string        { return u.base + PostPath(id) }
func (u *URLs) Media(key string) string          { return u.base + MediaPath(key) }
func (u *URLs) ThreadPosts(id storage.ID) string { return u.base + ThreadPostsPath(id) }

// InstanceActor is the node's own Application actor (FEP-2677).
func (u *URLs) InstanceActor() string { return u.base + "/actor" }

// SharedInbox takes activities for every local actor.
func (u *URLs) SharedInbox() string { return u.base + "/inbox" }

// KeyID is the id of an actor's public key: ACTOR#main-key.
func KeyID(actorID string) string { return actorID + "#main-key" }

// Handle forms the fediverse address of a local actor, without "@":
// name@host.
func (u *URLs) Handle(name string) string { return name + "@" + u.host }
