package federation

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/httpcache"
)

// document is a rendered JSON body with what conditional requests need.
type document = httpcache.Response

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
		Body:     body,
		ETag:     `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`,
		Modified: modified.UTC().Truncate(time.Second),
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
	h.Set("ETag", doc.ETag)
	if !doc.Modified.IsZero() {
		h.Set("Last-Modified", doc.Modified.Format(http.TimeFormat))
	}
	if status == http.StatusOK && httpcache.NotModified(r, doc.ETag, doc.Modified) {
		h.Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(doc.Body)
	}
}

// writeError answers a peer with a short reason and no detail.
func writeError(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Add("Vary", "Accept")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"error": reason})
	_, _ = w.Write(b)
}
