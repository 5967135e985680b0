package federation

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
)

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
	writeBody(w, r, status, doc, as.ContentType)
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
