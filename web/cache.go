package web

import (
	"bytes"
	"net/http"
	"time"
)

// The guest page cache keeps the pages guests read most (threads and
// forums): every guest sees the same bytes, so a busy thread is rendered
// once per change instead of once per reader. Signed-in members always
// get a fresh page.
//
// A page is kept with the version of the thread or forum it shows. Storage
// bumps that version in the transaction of every change the page shows
// (a post, an edit, a deletion, a like, pin and lock), whoever makes it: a
// web form, an ActivityPub delivery, another process on the same
// PostgreSQL database. A guest request reads the current version first
// (one primary-key lookup) and is served from the cache only when it
// matches, so a page from before a change is never served.

// guestCacheTTL bounds the one thing versions do not track: figures of
// the people on a page that change elsewhere (an author's reputation
// after a like in another thread, a new display name). Those may lag by
// up to this long; what the thread or forum itself shows never does.
const guestCacheTTL = 30 * time.Second

// guestCacheBytes bounds the pages kept for guests unless
// Config.GuestCacheBytes says otherwise.
const guestCacheBytes = DefaultGuestCacheMB << 20

// DefaultGuestCacheMB is skein serve's --guest-cache default.
const DefaultGuestCacheMB = 64

// serveCachedGuestPage answers a guest from the cache when it holds the
// page at the given version; it reports whether it did. The kept page is
// shared by every guest: it is scanned once for composer slots and written
// as kept when it has none (guests' pages show no composer today); a page
// with one is copied into a pooled buffer and given tokens of its own.
func (s *Server) serveCachedGuestPage(w http.ResponseWriter, r *http.Request, version int64) bool {
	if viewerFrom(r) != nil {
		return false
	}
	p := s.guestCache.Get(r.URL.RequestURI(), version, time.Now())
	if p == nil {
		return false
	}
	if writeValidators(w, r, p.ETag, p.Modified, false) {
		return true
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	writeBody(w, http.StatusOK, copyFillingFormTokens(buf, p.Body))
	return true
}
