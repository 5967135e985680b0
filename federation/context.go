package federation

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Media types of ActivityPub documents.
const (
	// ContentType is what every ActivityPub document is served as.
	ContentType = "application/activity+json; charset=utf-8"
	// AcceptHeader is what the node sends when it fetches a document: both
	// forms the spec allows, so strict servers answer either way.
	AcceptHeader = `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
	// Public is the special collection that addresses everyone.
	Public = "https://www.w3.org/ns/activitystreams#Public"
)

// jsonLDContext is the @context of every document the node serves:
// ActivityStreams, the security vocabulary (publicKey) and inline
// definitions for the extension terms it uses, so JSON-LD processors and
// plain-JSON readers agree on what each term means.
var jsonLDContext = mustJSON([]any{
	"https://www.w3.org/ns/activitystreams",
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

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// IsActivityPubAccept reports whether an Accept header asks for an
// ActivityPub document rather than a web page: application/activity+json,
// or application/ld+json with the ActivityStreams profile. The web package
// uses it to hand requests to Documents.
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

// document is a rendered JSON body with what conditional requests need.
type document struct {
	body     []byte
	etag     string
	modified time.Time // zero when unknown
}

// newDocument marshals v. Documents are small and built from plain structs,
// so marshalling never fails on well-formed input; an error means a bug.
func newDocument(v any, modified time.Time) (*document, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Content is HTML: keep "<" and "&" readable rather than \u003c.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	body := bytes.TrimRight(buf.Bytes(), "\n")
	sum := sha256.Sum256(body)
	return &document{
		body:     body,
		etag:     `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`,
		modified: modified.UTC().Truncate(time.Second),
	}, nil
}

// writeDocument answers with an ActivityPub document, or 304 when the
// client's copy is current.
func writeDocument(w http.ResponseWriter, r *http.Request, status int, doc *document) {
	w.Header().Add("Vary", "Accept")
	writeBody(w, r, status, doc, ContentType)
}

// writeBody answers with doc as contentType, or 304.
func writeBody(w http.ResponseWriter, r *http.Request, status int, doc *document, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("ETag", doc.etag)
	if !doc.modified.IsZero() {
		h.Set("Last-Modified", doc.modified.Format(http.TimeFormat))
	}
	if status == http.StatusOK && notModified(r, doc) {
		h.Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(doc.body)
	}
}

// notModified applies RFC 9110's rules: If-None-Match wins over
// If-Modified-Since when both are present.
func notModified(r *http.Request, doc *document) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for tag := range strings.SplitSeq(inm, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == doc.etag {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !doc.modified.IsZero() {
		t, err := http.ParseTime(ims)
		return err == nil && !doc.modified.After(t)
	}
	return false
}

// writeError answers a peer with a short reason and no detail.
func writeError(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Add("Vary", "Accept")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"error": reason})
	_, _ = w.Write(b)
}

// formatTime is the timestamp form every fediverse server parses.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
