package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
)

//go:embed static
var staticFS embed.FS

// staticFiles holds the embedded stylesheet (and any other asset) with a
// content hash, so pages link /static/skein.css?v=HASH and browsers may
// cache it for a year.
type staticFiles struct {
	files map[string]staticFile
}

type staticFile struct {
	body        []byte
	contentType string
	version     string
}

func loadStatic() (*staticFiles, error) {
	out := &staticFiles{files: make(map[string]staticFile)}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("static files: %w", err)
	}
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	for _, e := range entries {
		body, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("static %s: %w", e.Name(), err)
		}
		ct := types[path.Ext(e.Name())]
		if ct == "" {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(body)
		out.files[e.Name()] = staticFile{body: body, contentType: ct, version: hex.EncodeToString(sum[:6])}
	}
	return out, nil
}

// staticPath is the versioned link to an embedded file.
func (s *Server) staticPath(name string) string {
	f, ok := s.static.files[name]
	if !ok {
		return s.path("/static/" + name)
	}
	return s.path("/static/" + name + "?v=" + f.version)
}

func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := s.static.files[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Length", strconv.Itoa(len(f.body)))
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+f.version+`"`)
	if r.Header.Get("If-None-Match") == `"`+f.version+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(f.body)
}
