// Package httpcache holds what the web pages and the ActivityPub
// documents share about caching responses: the conditional-GET check
// ([NotModified]) and a size-bounded cache of what is valid at one version
// of what it shows ([Versioned]): rendered responses ([Cache]), or the
// parts of a page every reader shares.
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

// CacheBytes is what a response costs a [Cache]: its body.
func (r *Response) CacheBytes() int64 { return int64(len(r.Body)) }

// Value is what a [Versioned] cache keeps: a pointer (so a kept value can
// be told from another built at the same version) to something that knows
// about how many bytes it holds when it is put.
type Value interface {
	comparable
	CacheBytes() int64
}

// Cache is a [Versioned] cache of rendered responses, what most callers
// keep.
type Cache[K comparable] = Versioned[K, *Response]

// New returns a cache of responses; see [NewVersioned].
func New[K comparable](maxBytes int64, ttl time.Duration) *Cache[K] {
	return NewVersioned[K, *Response](maxBytes, ttl)
}

// Versioned is a size-bounded LRU of values, each valid at one version.
// It is safe for concurrent use; a nil *Versioned caches nothing.
type Versioned[K comparable, V Value] struct {
	mu      sync.Mutex
	max     int64
	ttl     time.Duration
	size    int64
	lru     *list.List // front: most recently used; values are *entry[K, V]
	entries map[K]*list.Element
	hits    int64
	misses  int64
}

type entry[K comparable, V Value] struct {
	key     K
	version int64
	value   V
	size    int64
	expires time.Time // zero: never
}

// entryOverhead approximates what an entry costs beyond its value's
// bytes: the map slot, the list element, the entry and, for a response,
// the struct with its ETag.
const entryOverhead = 256

// Stats is what a cache holds and how it has answered, for metrics and
// tests.
type Stats struct {
	Entries int
	Bytes   int64 // about how many
	Hits    int64 // Gets that returned a value
	Misses  int64 // Gets that did not
}

// NewVersioned returns a cache holding at most about maxBytes of values,
// each for at most ttl (0: as long as its version is current). It returns
// nil, which caches nothing, when maxBytes is not positive: the off switch.
func NewVersioned[K comparable, V Value](maxBytes int64, ttl time.Duration) *Versioned[K, V] {
	if maxBytes <= 0 {
		return nil
	}
	return &Versioned[K, V]{max: maxBytes, ttl: ttl, lru: list.New(), entries: make(map[K]*list.Element)}
}

// Get returns the value cached for key if it was put at version and has
// not expired by now, else the zero V (nil).
func (c *Versioned[K, V]) Get(key K, version int64, now time.Time) V {
	var none V
	if c == nil {
		return none
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		c.misses++
		return none
	}
	e := el.Value.(*entry[K, V])
	if e.version != version || (!e.expires.IsZero() && now.After(e.expires)) {
		c.misses++
		return none
	}
	c.hits++
	c.lru.MoveToFront(el)
	return e.value
}

// Put stores v for key as built at version. An entry of a later version
// stays: versions only grow, so an older build finishing late is stale. A
// value larger than an eighth of the cache is not kept.
func (c *Versioned[K, V]) Put(key K, version int64, v V, now time.Time) {
	if c == nil {
		return
	}
	size := v.CacheBytes() + entryOverhead
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
		e := el.Value.(*entry[K, V])
		if e.version > version {
			return
		}
		c.size += size - e.size
		e.version, e.value, e.size, e.expires = version, v, size, expires
		c.lru.MoveToFront(el)
	} else {
		e := &entry[K, V]{key: key, version: version, value: v, size: size, expires: expires}
		c.entries[key] = c.lru.PushFront(e)
		c.size += size
	}
	c.trim()
}

// Grow counts n more bytes held by v, a value that grows after it is put
// (renderings added to it as readers ask for them), if v is still the one
// kept under key; the least recently used go if the cache is now full.
func (c *Versioned[K, V]) Grow(key K, v V, n int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return
	}
	e := el.Value.(*entry[K, V])
	if e.value != v {
		return
	}
	e.size += n
	c.size += n
	c.trim()
}

// trim drops the least recently used entries until the rest fit; c.mu is
// held.
func (c *Versioned[K, V]) trim() {
	for c.size > c.max {
		el := c.lru.Back()
		e := el.Value.(*entry[K, V])
		c.lru.Remove(el)
		delete(c.entries, e.key)
		c.size -= e.size
	}
}

// Stats reports what the cache holds and how many Gets it answered; a nil
// cache holds and answers nothing.
func (c *Versioned[K, V]) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Entries: len(c.entries), Bytes: c.size, Hits: c.hits, Misses: c.misses}
}
