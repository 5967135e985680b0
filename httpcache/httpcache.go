// Package httpcache holds what the web pages and the ActivityPub
// documents share about caching responses: the conditional-GET check
// ([NotModified]) and a size-bounded cache of rendered responses that are
// valid at one version of what they show ([Cache]).
//
// Storage bumps a version (of a thread, of a forum) in the transaction of
// every change a response shows. A response is kept with the version it
// was built at and served again only while that version is current, so an
// edit is seen at once without anyone invalidating anything; what the
// cache saves is the reads and the rendering.
package httpcache

import (
	"container/list"
	"net/http"
	"strings"
	"sync"
	"time"
)

// NotModified reports whether the client's copy of a response with this
// ETag and modification time is current: If-None-Match when present
// (compared weakly, "*" matching anything), else If-Modified-Since, per
// RFC 9110 13.2.2. A zero modified never matches If-Modified-Since.
func NotModified(r *http.Request, etag string, modified time.Time) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for tag := range strings.SplitSeq(inm, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == strings.TrimPrefix(etag, "W/") {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !modified.IsZero() {
		t, err := http.ParseTime(ims)
		return err == nil && !modified.Truncate(time.Second).After(t)
	}
	return false
}

// Response is a rendered response body with its validators.
type Response struct {
	Body     []byte
	ETag     string
	Modified time.Time // zero when unknown
}

// Cache is a size-bounded LRU of rendered responses, each valid at one
// version. It is safe for concurrent use; a nil *Cache caches nothing.
type Cache[K comparable] struct {
	mu      sync.Mutex
	max     int64
	ttl     time.Duration
	size    int64
	lru     *list.List // front: most recently used; values are *entry[K]
	entries map[K]*list.Element
}

type entry[K comparable] struct {
	key     K
	version int64
	resp    *Response
	size    int64
	expires time.Time // zero: never
}

// entryOverhead approximates what an entry costs beyond its body: the
// map slot, the list element, the entry and the response with its ETag.
const entryOverhead = 256

// New returns a cache holding at most about maxBytes of responses, each
// for at most ttl (0: as long as its version is current). It returns nil,
// which caches nothing, when maxBytes is not positive.
func New[K comparable](maxBytes int64, ttl time.Duration) *Cache[K] {
	if maxBytes <= 0 {
		return nil
	}
	return &Cache[K]{max: maxBytes, ttl: ttl, lru: list.New(), entries: make(map[K]*list.Element)}
}

// Get returns the response cached for key if it was built at version and
// has not expired by now.
func (c *Cache[K]) Get(key K, version int64, now time.Time) *Response {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil
	}
	e := el.Value.(*entry[K])
	if e.version != version || (!e.expires.IsZero() && now.After(e.expires)) {
		return nil
	}
	c.lru.MoveToFront(el)
	return e.resp
}

// Put stores resp for key as built at version. An entry of a later
// version stays: versions only grow, so an older build finishing late is
// stale. A response larger than an eighth of the cache is not kept.
func (c *Cache[K]) Put(key K, version int64, resp *Response, now time.Time) {
	if c == nil {
		return
	}
	size := int64(len(resp.Body)) + entryOverhead
	if size > c.max/8 {
		return
	}
	var expires time.Time
	if c.ttl > 0 {
		expires = now.Add(c.ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*entry[K])
		if e.version > version {
			return
		}
		c.size += size - e.size
		e.version, e.resp, e.size, e.expires = version, resp, size, expires
		c.lru.MoveToFront(el)
	} else {
		e := &entry[K]{key: key, version: version, resp: resp, size: size, expires: expires}
		c.entries[key] = c.lru.PushFront(e)
		c.size += size
	}
	for c.size > c.max {
		el := c.lru.Back()
		e := el.Value.(*entry[K])
		c.lru.Remove(el)
		delete(c.entries, e.key)
		c.size -= e.size
	}
}

// Stats reports how many responses the cache holds and about how many
// bytes, for metrics and tests.
func (c *Cache[K]) Stats() (entries int, bytes int64) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.size
}
