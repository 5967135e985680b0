package web

import (
	"net/http"
	"sync"
	"time"
)

// guestCacheTTL bounds how stale a guest's page can be after a change the
// web view did not make itself (a reply arriving over ActivityPub, another
// process sharing the database). Changes made through the web view's own
// forms empty the cache at once.
const guestCacheTTL = 2 * time.Second

// pageCache keeps the pages guests read most (threads, forums, profiles)
// for a moment: every guest sees the same bytes, so a busy thread is
// rendered once per TTL instead of once per reader. Signed-in members
// always get a fresh page.
type pageCache struct {
	mu  sync.Mutex
	m   map[string]*cachedPage
	max int
}

type cachedPage struct {
	body     []byte
	etag     string
	modified time.Time
	expires  time.Time
}

func newPageCache(max int) *pageCache {
	return &pageCache{m: make(map[string]*cachedPage), max: max}
}

func (c *pageCache) get(key string, now time.Time) *cachedPage {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.m[key]
	if p == nil || now.After(p.expires) {
		return nil
	}
	return p
}

func (c *pageCache) put(key string, p *cachedPage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m) // crude, but bounded; a full cache refills within a TTL
	}
	c.m[key] = p
}

// clear forgets every page; called after each form a member sends.
func (c *pageCache) clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// serveCachedGuestPage answers a guest from the cache; it reports whether
// it did.
func (s *Server) serveCachedGuestPage(w http.ResponseWriter, r *http.Request) bool {
	if viewerFrom(r) != nil {
		return false
	}
	p := s.guestCache.get(r.URL.RequestURI(), time.Now())
	if p == nil {
		return false
	}
	s.writeCachable(w, r, p.body, p.etag, p.modified, false)
	return true
}

// emptyCacheAfter runs a state-changing handler, then drops every cached
// guest page, so nobody reads a page from before the change.
func (s *Server) emptyCacheAfter(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h(w, r)
		s.guestCache.clear()
	}
}
