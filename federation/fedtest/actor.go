package fedtest

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"time"
)

// Actor is an actor of a [Server]: a Person unless made with
// [Server.Group], signing with its server's key unless given another.
type Actor struct {
	Server *Server
	Name   string
	ID     string
	Type   string // Person, Group, Service or Application
	Key    *rsa.PrivateKey
}

// KeyID is the id of the actor's key, in its server's style.
func (a *Actor) KeyID() string {
	if a.Type == "Application" {
		// Instance actors of every style here keep Mastodon's form.
		return a.ID + "#main-key"
	}
	return a.Server.style.keyID(a.ID)
}

// Inbox is the actor's personal inbox.
func (a *Actor) Inbox() string { return a.ID + "/inbox" }

// SharedInbox is the server's shared inbox, or "" for a style without one.
func (a *Actor) SharedInbox() string { return a.Server.SharedInbox() }

// Followers is the actor's followers collection.
func (a *Actor) Followers() string { return a.ID + "/followers" }

// Handle is NAME@HOST, the actor's WebFinger address without "acct:".
func (a *Actor) Handle() string { return a.Name + "@" + a.Server.Host }

// PublicKeyPEM is the actor's public key as its documents publish it.
func (a *Actor) PublicKeyPEM() string { return PublicKeyPEM(a.Key) }

// InboxPath is the path of the actor's personal inbox on its server.
func (a *Actor) InboxPath() string { return strings.TrimPrefix(a.Inbox(), a.Server.URL) }

func (a *Actor) publicKey() map[string]any {
	return map[string]any{"id": a.KeyID(), "owner": a.ID, "publicKeyPem": a.PublicKeyPEM()}
}

// Document is the actor document its server serves, a fresh copy a test
// may change (and serve with [Server.Handle]).
func (a *Actor) Document() map[string]any {
	s := a.Server
	doc := map[string]any{
		"id":                a.ID,
		"type":              a.Type,
		"preferredUsername": a.Name,
		"name":              displayName(a.Name),
		"summary":           "<p>A remote " + strings.ToLower(a.Type) + " played by fedtest.</p>",
		"inbox":             a.Inbox(),
		"outbox":            a.ID + "/outbox",
		"followers":         a.Followers(),
		"following":         a.ID + "/following",
		"publicKey":         a.publicKey(),
		"published":         "2024-01-01T00:00:00Z",

		"manuallyApprovesFollowers": false,
	}
	if s.style != Lemmy {
		doc["url"] = s.URL + "/@" + a.Name
		doc["featured"] = a.ID + "/collections/featured"
		doc["tag"] = []any{}
	}
	switch s.style {
	case Mastodon:
		doc["@context"] = mastodonActorContext()
		doc["featuredTags"] = a.ID + "/collections/tags"
		doc["discoverable"] = true
		doc["indexable"] = false
		doc["memorial"] = false
		doc["attachment"] = []any{}
	case GoToSocial:
		// As captured in testdata/gotosocial/actor.json: the username as
		// the name when none is set, no summary, no endpoints.
		doc["@context"] = []any{"https://gotosocial.org/ns", "https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams",
			map[string]any{"discoverable": "toot:discoverable", "featured": map[string]any{"@id": "toot:featured", "@type": "@id"},
				"manuallyApprovesFollowers": "as:manuallyApprovesFollowers", "toot": "http://joinmastodon.org/ns#"}}
		doc["name"] = a.Name
		delete(doc, "summary")
		doc["discoverable"] = false
		doc["hidesCcPublicFromUnauthedWeb"] = true
		doc["hidesToPublicFromUnauthedWeb"] = false
	case Lemmy:
		doc["@context"] = []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"}
		if a.Type == "Group" {
			doc["attributedTo"] = a.ID + "/moderators"
			doc["featured"] = a.ID + "/featured"
			doc["postingRestrictedToMods"] = false
		}
	}
	if s.hasSharedInbox() {
		doc["endpoints"] = map[string]any{"sharedInbox": s.SharedInbox()}
	}
	if a.Type == "Application" || a.Type == "Service" {
		delete(doc, "featured")
		delete(doc, "featuredTags")
		doc["manuallyApprovesFollowers"] = true
	}
	return doc
}

// KeyStub is what a GoToSocial-style server serves at a key id: the
// owner's id, type and name and the key, but no inbox or anything else.
func (a *Actor) KeyStub() map[string]any {
	return map[string]any{
		"@context":          []any{"https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams"},
		"id":                a.ID,
		"type":              a.Type,
		"preferredUsername": a.Name,
		"publicKey":         a.publicKey(),
	}
}

func mastodonActorContext() []any {
	return []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1",
		map[string]any{
			"manuallyApprovesFollowers": "as:manuallyApprovesFollowers", "toot": "http://joinmastodon.org/ns#",
			"featured":     map[string]any{"@id": "toot:featured", "@type": "@id"},
			"featuredTags": map[string]any{"@id": "toot:featuredTags", "@type": "@id"},
			"discoverable": "toot:discoverable", "indexable": "toot:indexable", "memorial": "toot:memorial",
			"schema": "http://schema.org#", "PropertyValue": "schema:PropertyValue", "value": "schema:value",
		}}
}

func displayName(name string) string {
	if name == "" {
		return ""
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// Signing is how the actor signs a request of the given method, in its
// server's style.
func (a *Actor) Signing(method string) Signing {
	headers, alg := a.Server.style.postSigning()
	if method == http.MethodGet || method == http.MethodHead {
		headers, alg = a.Server.style.getSigning()
	}
	return Signing{KeyID: a.KeyID(), Key: a.Key, Headers: headers, Algorithm: alg}
}

// NewPost returns a POST of body to url, signed by the actor as its style
// signs, ready to send (or to change first, for a forgery).
func (a *Actor) NewPost(url string, body []byte) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", a.Server.style.postContentType())
	a.Server.style.setClientHeaders(req.Header, a.Server.Host)
	if err := Sign(req, body, a.Signing(http.MethodPost)); err != nil {
		return nil, err
	}
	return req, nil
}

// Marshal is the JSON of an activity the actor sends: a map gets the
// ActivityStreams @context and the actor as "actor" unless it has them.
func (a *Actor) Marshal(activity any) ([]byte, error) {
	if m, ok := activity.(map[string]any); ok {
		if _, ok := m["@context"]; !ok {
			m["@context"] = "https://www.w3.org/ns/activitystreams"
		}
		if _, ok := m["actor"]; !ok {
			m["actor"] = a.ID
		}
	}
	return json.Marshal(activity)
}

// Post signs activity (see [Actor.Marshal]) and POSTs it to inbox; it
// returns the status and the start of the answer's body.
func (a *Actor) Post(ctx context.Context, inbox string, activity any) (int, string, error) {
	body, err := a.Marshal(activity)
	if err != nil {
		return 0, "", err
	}
	req, err := a.NewPost(inbox, body)
	if err != nil {
		return 0, "", err
	}
	return a.Server.do(req.WithContext(ctx))
}

// Get GETs url signed by the actor, as its style fetches documents; it
// returns the status and the body (at most 1 MiB).
func (a *Actor) Get(ctx context.Context, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", a.Server.style.accept())
	a.Server.style.setClientHeaders(req.Header, a.Server.Host)
	if err := Sign(req, nil, a.Signing(http.MethodGet)); err != nil {
		return 0, nil, err
	}
	resp, err := a.Server.client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// Announce has a group announce activity, embedded whole, to inbox, as a
// Lemmy community (FEP-1b12) shares what a member sent it.
func (a *Actor) Announce(ctx context.Context, inbox string, activity map[string]any) (int, string, error) {
	inner := make(map[string]any, len(activity))
	for k, v := range activity {
		if k != "@context" {
			inner[k] = v
		}
	}
	id, _ := activity["id"].(string)
	return a.Post(ctx, inbox, map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       a.Server.URL + "/activities/announce/" + announceID(id),
		"type":     "Announce",
		"actor":    a.ID,
		"to":       []any{Public},
		"cc":       []any{a.Followers()},
		"object":   inner,
	})
}

// Public is the ActivityStreams public collection.
const Public = "https://www.w3.org/ns/activitystreams#Public"

// Received is what arrived and was accepted at the actor's personal inbox,
// of type typ ("" for any).
func (a *Actor) Received(typ string) []Delivery {
	return a.Server.Received(a.InboxPath(), typ)
}

// announceID derives the id of a group's Announce from the announced
// activity's, so announcing the same activity twice repeats the id.
func announceID(activityID string) string {
	h := fnv.New64a()
	h.Write([]byte(activityID))
	return fmt.Sprintf("%016x", h.Sum64())
}

// Deliver POSTs activity to inbox as the style's delivery worker does:
// while the answer is one the style retries ([Style.Retries]), it waits
// and tries again, signing afresh, up to attempts tries in all; the waits
// double from wait (GoToSocial's were 8, 16 and 32 s; a test passes
// something short). It returns the status of every try; a try that got
// no answer counts as [Unanswered], and is retried.
func (a *Actor) Deliver(ctx context.Context, inbox string, activity any, attempts int, wait time.Duration) ([]int, error) {
	var got []int
	for try := range attempts {
		if try > 0 {
			select {
			case <-time.After(wait << (try - 1)):
			case <-ctx.Done():
				return got, ctx.Err()
			}
		}
		code, _, err := a.Post(ctx, inbox, activity)
		if err != nil {
			if ctx.Err() != nil {
				return got, ctx.Err()
			}
			code = Unanswered
		}
		got = append(got, code)
		if code != Unanswered && !a.Server.style.Retries(code) {
			break
		}
	}
	return got, nil
}
