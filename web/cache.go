package web

import (
	"net/http"
	"sync"
	"time"
)

// pageCache keeps the pages guests read most (threads and forums): every
// guest sees the same bytes, so a busy thread is rendered once per change
// instead of once per reader. Signed-in members always get a fresh page.
//
// A page is kept with the version of the thread or forum it shows. Storage
// bumps that version in the transaction of every change the page shows
// (a post, an edit, a deletion, a like, pin and lock), whoever makes it: a
// web form, an ActivityPub delivery, another process on the same
// PostgreSQL database. A guest request reads the current version first
// (one primary-key lookup) and is served from the cache only when it
// matches, so a page from before a change is never served.
type pageCache struct {
	mu  sync.Mutex
	m   map[string]*cachedPage
	max int
}

// guestCacheTTL bounds the one thing versions do not track: figures of
// the people on a page that change elsewhere (an author's reputation
// after a like in another thread, a new display name). Those may lag by
// up to this long; what the thread or forum itself shows never does.
const guestCacheTTL = 30 * time.Second

type cachedPage struct {
	body     []byte
	etag     string
	modified time.Time
	version  int64
	expires  time.Time
}

func newPageCache(max int) *pageCache {
	return &pageCache{m: make(map[string]*cachedPage), max: max}
}

// get returns the page cached under key for exactly this version.
func (c *pageCache) get(key string, version int64, now time.Time) *cachedPage {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.m[key]
	if p == nil || p.version != version || now.After(p.expires) {
		return nil
	}
	return p
}

func (c *pageCache) put(key string, p *cachedPage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[key]; old != nil && old.version > p.version {
		return // a slower request rendered an older version; keep the newer page
	}
	if len(c.m) >= c.max {
		clear(c.m) // crude, but bounded; the hot pages come back at once
	}
	c.m[key] = p
}

// clear drops every page: something every page shows changed (the
// site's name). Other processes' caches catch up within guestCacheTTL.
func (c *pageCache) clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// serveCachedGuestPage answers a guest from the cache when it holds the
// page at the given version; it reports whether it did.
func (s *Server) serveCachedGuestPage(w http.ResponseWriter, r *http.Request, version int64) bool {
	if viewerFrom(r) != nil {
		return false
	}
	p := s.guestCache.get(r.URL.RequestURI(), version, time.Now())
	if p == nil {
		return false
	}
	s.writeCachable(w, r, p.body, p.etag, p.modified, false)
	return true
}
