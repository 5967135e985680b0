package web

import (
	"bytes"
	"net/http"
	"time"

	"github.com/skein-forum/skein/httpcache"
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
// page at the given version; it reports whether it did. A kept page holds
// no composer token slot (see keepForGuests), so it is written as it is
// kept: no scan, no copy.
func (s *Server) serveCachedGuestPage(w http.ResponseWriter, r *http.Request, version int64) bool {
	if viewerFrom(r) != nil {
		return false
	}
	p := s.guestCache.Get(r.URL.RequestURI(), version, time.Now())
	if p == nil {
		return false
	}
	if !writeValidators(w, r, p.ETag, p.Modified, false) {
		writeBody(w, http.StatusOK, p.Body)
	}
	return true
}

// keepForGuests keeps a guest's page in the guest page cache under
// version, unless it holds a composer: each answer must carry a token of
// its own, so such a page is rendered every time (guests' pages show no
// composer today), and a kept page is served without being looked at.
func (s *Server) keepForGuests(r *http.Request, version int64, page []byte, etag string, modified time.Time) {
	if nextSlot(page) >= 0 {
		return
	}
	s.guestCache.Put(r.URL.RequestURI(), version, &httpcache.Response{Body: bytes.Clone(page), ETag: etag, Modified: modified}, time.Now())
}
