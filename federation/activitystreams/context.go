package activitystreams

import (
	"encoding/json"
	"strings"
)

// Media types and special ids.
const (
	// ContentType is what every ActivityPub document is served as.
	ContentType = "application/activity+json; charset=utf-8"
	// AcceptHeader is what the node sends when it fetches a document: both
	// forms the spec allows, so strict servers answer either way.
	AcceptHeader = `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
	// Public is the special collection that addresses everyone.
	Public = "https://www.w3.org/ns/activitystreams#Public"
	// Namespace is the ActivityStreams context IRI alone, given to
	// documents that arrive without an @context.
	Namespace = "https://www.w3.org/ns/activitystreams"
)

// ldContext is the @context of every document the node serves:
// ActivityStreams, the security vocabulary (publicKey) and inline
// definitions for the extension terms it uses, so JSON-LD processors and
// plain-JSON readers agree on what each term means.
var ldContext = mustJSON([]any{
	Namespace,
	"https://w3id.org/security/v1",
	map[string]any{
		"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
		"sensitive":                 "as:sensitive",
		"toot":                      "http://joinmastodon.org/ns#",
		"discoverable":              "toot:discoverable",
		"indexable":                 "toot:indexable",
		// FEP-044f quote posts, and the two older spellings Misskey,
		// Akkoma and Fedibird read.
		"quote":          map[string]string{"@id": "https://w3id.org/fep/044f#quote", "@type": "@id"},
		"quoteUrl":       "as:quoteUrl",
		"misskey":        "https://misskey-hub.net/ns#",
		"_misskey_quote": "misskey:_misskey_quote",
		// A thread actor links the collection of its posts (its FEP-7888
		// context) under this term.
		"skein": "https://skein-forum.github.io/ns#",
		"posts": map[string]string{"@id": "skein:posts", "@type": "@id"},
	},
})

// LDContext is the @context of top-level documents. The caller must not
// modify it.
func LDContext() json.RawMessage { return ldContext }

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// IsActivityPubAccept reports whether an Accept header asks for an
// ActivityPub document rather than a web page: application/activity+json,
// or application/ld+json with the ActivityStreams profile.
func IsActivityPubAccept(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.ToLower(strings.TrimSpace(mediaType)) {
		case "application/activity+json":
			return true
		case "application/ld+json":
			// The spec wants the ActivityStreams profile, but some servers
			// send plain application/ld+json; no browser asks for it, so it
			// means an ActivityPub client either way.
			return true
		}
	}
	return false
}
