package federation

import (
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

// PageCacheStats reports how many collection pages the page cache holds
// and about how many bytes, for metrics and tests.
func (s *Server) PageCacheStats() (entries int, bytes int64) {
	st := s.pages.Stats()
	return st.Entries, st.Bytes
}

// actorCacheBytes bounds the rendered local actor documents kept; each
// is a few kilobytes.
const actorCacheBytes = 8 << 20

// noteCacheBytes bounds the rendered Notes kept ([Server.servePost]);
// each is one to a few kilobytes.
const noteCacheBytes = 8 << 20
