package storage

import (
	"sync"

	"github.com/uptrace/bun/dialect"

	"modernc.org/libc"
)

// pinAllocator keeps one allocation of every small size class of the C
// allocator the pure-Go SQLite runs on (modernc.org/libc) for the life
// of the process. That allocator carves each size class out of 64 KiB
// mappings and unmaps a mapping the moment its last slot is freed, so a
// class with nothing else alive maps and unmaps 64 KiB around every
// allocation: SQLite's scratch page of each b-tree balance, the FTS5
// flush buffers, a reader's page cache dropped after another connection
// wrote. Under an ingest load those munmap calls (each a TLB shootdown
// on every core) were a fifth of the write path's CPU. One slot kept in
// each class keeps its mapping, and the freed slots in it are reused.
// It costs 11 mappings of which a page or two each is touched.
func pinAllocator() {
	pinOnce.Do(func() {
		tls := libc.NewTLS()
		for class := 4; class <= 14; class++ { // 16 B to 16 KiB, the shared classes
			pinned = append(pinned, libc.Xmalloc(tls, 1<<class))
		}
	})
}

// pinPageCache keeps pageCacheMappings mappings of the 8 KiB class, the
// one every cached database page lives in (4 KiB of page and SQLite's
// header), 7 to a mapping. Under a stream of writes a read connection
// drops its whole page cache at the start of each read (WAL: another
// connection wrote), freeing its pages, and reads them again: mappings
// emptied and unmapped, then mapped again, about a tenth of the node's
// CPU under an ingest load. The write connection's cache (about 460
// pages) takes the first slots and keeps them, so the pin is sized for
// it and the readers' working sets together.
//
// Freeing the spare slots writes a free-list link into each, so the pin
// touches about 28 KiB a mapping, 9.4 MB in all (the caches it is sized
// for would fill 21 MB of mappings): it is taken when the
// node first accepts inbox traffic ([Store.AcceptInboxBatch]), not at
// start, so a node that federates nothing does not carry it.
func pinPageCache() {
	pageCacheOnce.Do(func() {
		const mapping = 1 << 16 // the allocator's mapping size and alignment
		tls := libc.NewTLS()
		kept := make(map[uintptr]bool, pageCacheMappings)
		var spare []uintptr
		for len(kept) < pageCacheMappings {
			p := libc.Xmalloc(tls, 8<<10)
			if p == 0 {
				break // out of memory: keep what there is
			}
			if m := p &^ (mapping - 1); !kept[m] {
				kept[m] = true
				pinned = append(pinned, p)
				continue
			}
			spare = append(spare, p)
		}
		for _, p := range spare {
			libc.Xfree(tls, p)
		}
	})
}

// pinForFederation takes the page cache pin (pinPageCache) once inbox
// traffic arrives, by either door: the queue (AcceptInboxItems) or the
// direct store of a known author's reply (CreateInboxPosts). A node
// restarted among known peers may see only the second, and without the pin
// there its readers' caches churn as before.
func (s *Store) pinForFederation() {
	if s.Dialect() != dialect.PG {
		pinPageCache()
	}
}

// pageCacheMappings is how many mappings of cached pages pinPageCache
// keeps: 2,352 pages, as many as five connections (the writer and the
// four readers of a 2-core machine) hold with SQLite's default cache of
// 2,000 KiB each (about 465 pages). With 192 (1,344 pages) a busier run
// still mapped and unmapped 9% of the node's CPU.
const pageCacheMappings = 336

var (
	pinOnce       sync.Once
	pageCacheOnce sync.Once
	pinned        []uintptr // never freed
)
