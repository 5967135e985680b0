package federation

import (
	"container/list"
	"sync"

	"github.com/skein-forum/skein/storage"
)

// The collection page cache. A page of a thread's posts collection embeds
// twenty Notes: building it reads twenty posts with their authors and
// marshals about 45 KB of JSON, some 600 µs of CPU. What it shows changes
// only when the thread's version does (storage bumps threads.version in
// the transaction of every post, edit, deletion, like, move, pin or lock),
// so a rendered page is kept per (thread, page) with the version it was
// built from and served again while the thread's version, one prepared
// primary-key read, is unchanged.
//
// Correctness rests on the order of the reads when a page is built: the
// version comes from the thread row, read before the posts. A change that
// commits in between makes the page newer than its version, never older,
// and the next request sees a higher version and builds the page again.

// defaultPageCacheBytes bounds the cached bodies of collection pages.
const defaultPageCacheBytes = 32 << 20

// pageKey names one document of a thread's posts collection: from is the
// first position of a page, 0 for the collection itself.
type pageKey struct {
	thread storage.ID
	from   int64
}

type pageEntry struct {
	key     pageKey
	version int64
	doc     *document
	size    int64
}

// pageCache is a size-bounded LRU of rendered collection documents. It is
// safe for concurrent use. A nil *pageCache caches nothing.
type pageCache struct {
	mu      sync.Mutex
	max     int64
	size    int64
	lru     *list.List // front: most recently used; values are *pageEntry
	entries map[pageKey]*list.Element
}

func newPageCache(maxBytes int64) *pageCache {
	if maxBytes <= 0 {
		return nil
	}
	return &pageCache{max: maxBytes, lru: list.New(), entries: make(map[pageKey]*list.Element)}
}

// entryOverhead approximates what an entry costs beyond its body: the
// map slot, the list element, the entry and the document with its ETag.
const entryOverhead = 256

// get returns the document cached for key if it was built at version.
func (c *pageCache) get(key pageKey, version int64) *document {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil
	}
	e := el.Value.(*pageEntry)
	if e.version != version {
		return nil
	}
	c.lru.MoveToFront(el)
	return e.doc
}

// put stores doc for key as built at version. An entry of a later version
// stays: versions only grow, so an older build finishing late is stale.
func (c *pageCache) put(key pageKey, version int64, doc *document) {
	if c == nil {
		return
	}
	size := int64(len(doc.body)) + entryOverhead
	if size > c.max/8 {
		return // one page never takes more than an eighth of the cache
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*pageEntry)
		if e.version > version {
			return
		}
		c.size += size - e.size
		e.version, e.doc, e.size = version, doc, size
		c.lru.MoveToFront(el)
	} else {
		e := &pageEntry{key: key, version: version, doc: doc, size: size}
		c.entries[key] = c.lru.PushFront(e)
		c.size += size
	}
	for c.size > c.max {
		el := c.lru.Back()
		e := el.Value.(*pageEntry)
		c.lru.Remove(el)
		delete(c.entries, e.key)
		c.size -= e.size
	}
}

// PageCacheStats reports how many collection pages the page cache holds
// and about how many bytes, for metrics and tests.
func (s *Server) PageCacheStats() (entries int, bytes int64) { return s.pages.stats() }

// stats reports the entries and bytes held.
func (c *pageCache) stats() (entries int, bytes int64) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.size
}
