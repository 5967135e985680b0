package fedtest

import (
	"net/http"

	"github.com/go-fed/httpsig"
)

// Style is the server software a [Server] plays: where its actors live,
// how it publishes their keys, which inboxes it has, how it signs and
// what it requires of requests made to it.
type Style int

const (
	// Mastodon publishes each actor's key inside the actor document
	// (key id ACTOR#main-key), advertises a shared inbox in
	// endpoints.sharedInbox and a featured collection, and signs POSTs
	// over (request-target) host date digest content-type and GETs over
	// (request-target) host date accept, with algorithm="rsa-sha256".
	// It answers unsigned GETs (authorized fetch is off by default).
	Mastodon Style = iota
	// GoToSocial, as a real v0.20.3 behaves (see testdata/gotosocial):
	// the key id is path-style, ACTOR/main-key, and a GET of it serves a
	// key stub (id, type, preferredUsername and publicKey, no inbox)
	// without a signature; the actor document itself, notes and
	// collections need a signed GET; there is no shared inbox (a POST to
	// /inbox is 404); it signs GETs over (request-target) host date and
	// POSTs over (request-target) host date digest, algorithm="hs2019".
	GoToSocial
	// Lemmy keeps persons at /u/NAME and communities, Group actors that
	// Announce every activity their members send them (FEP-1b12), at
	// /c/NAME; keys are ACTOR#main-key and there is a shared inbox. Its
	// signing is not observed here: it signs like GoToSocial.
	Lemmy
)

func (s Style) String() string {
	switch s {
	case Mastodon:
		return "mastodon"
	case GoToSocial:
		return "gotosocial"
	case Lemmy:
		return "lemmy"
	}
	return "unknown"
}

// personPath and groupPath are where the style keeps its actors.
func (s Style) personPath(name string) string {
	if s == Lemmy {
		return "/u/" + name
	}
	return "/users/" + name
}

func (s Style) groupPath(name string) string {
	if s == Lemmy {
		return "/c/" + name
	}
	return "/users/" + name
}

// keyID is the id of an actor's key.
func (s Style) keyID(actorID string) string {
	if s == GoToSocial {
		return actorID + "/main-key"
	}
	return actorID + "#main-key"
}

func (s Style) sharedInbox() bool { return s != GoToSocial }

// signedGETsRequired: documents other than key stubs, WebFinger and
// NodeInfo are served only to signed GETs.
func (s Style) signedGETsRequired() bool { return s == GoToSocial }

// postSigning and getSigning are the headers the style signs and the
// algorithm it names.
func (s Style) postSigning() ([]string, string) {
	if s == Mastodon {
		return []string{httpsig.RequestTarget, "host", "date", "digest", "content-type"}, "rsa-sha256"
	}
	return []string{httpsig.RequestTarget, "host", "date", "digest"}, "hs2019"
}

func (s Style) getSigning() ([]string, string) {
	if s == Mastodon {
		return []string{httpsig.RequestTarget, "host", "date", "accept"}, "rsa-sha256"
	}
	return []string{httpsig.RequestTarget, "host", "date"}, "hs2019"
}

// postContentType is the Content-Type of the activities the style sends.
func (s Style) postContentType() string {
	if s == GoToSocial {
		return `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
	}
	return "application/activity+json"
}

// setClientHeaders sets the headers the style sends with every request
// besides the signed ones.
func (s Style) setClientHeaders(h http.Header, host string) {
	switch s {
	case GoToSocial:
		h.Set("User-Agent", "gotosocial/0.20.3 (+http://"+host+")")
		h.Set("Accept-Charset", "utf-8")
	case Mastodon:
		h.Set("User-Agent", "http.rb/5.2.0 (Mastodon/4.3.0; +http://"+host+"/)")
	default:
		h.Set("User-Agent", "Lemmy/0.19.5; +http://"+host)
	}
}

// accept is the Accept header of the style's GETs of ActivityPub
// documents.
func (s Style) accept() string {
	if s == Mastodon {
		return `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams", text/html;q=0.1`
	}
	return `application/ld+json; profile="https://www.w3.org/ns/activitystreams",application/activity+json`
}

// documentContentType is the Content-Type of the documents it serves.
func (s Style) documentContentType() string {
	if s == Mastodon {
		return "application/activity+json; charset=utf-8"
	}
	return "application/activity+json"
}

// software is the NodeInfo software name and version.
func (s Style) software() (string, string) {
	switch s {
	case GoToSocial:
		return "gotosocial", "0.20.3"
	case Lemmy:
		return "lemmy", "0.19.5"
	}
	return "mastodon", "4.3.0"
}

// Retries reports whether the style's delivery worker tries a POST again
// after an answer of status. GoToSocial retries a 5xx or a 429 and never
// another 4xx (testdata/gotosocial/retries.txt: a 503 was tried again
// after 8, 16 and 32 s, a 401 only once); Mastodon gives up on a 4xx but
// 401, 408 and 429, and on 501 (its delivery worker's rule); Lemmy, not
// observed here, is taken to retry every failure.
func (s Style) Retries(status int) bool {
	if status >= 200 && status < 300 {
		return false
	}
	switch s {
	case GoToSocial:
		return status >= 500 || status == http.StatusTooManyRequests
	case Mastodon:
		if status >= 400 && status < 500 {
			return status == http.StatusUnauthorized || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
		}
		return status != http.StatusNotImplemented
	}
	return true
}
