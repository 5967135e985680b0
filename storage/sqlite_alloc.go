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
// Two more classes churned under an ingest load once the pages were
// pinned: 16 KiB (b-tree balance scratch, the search index's hash and
// its flush buffers, values grown in a statement's registers), three to
// a mapping, which a few batches alive at once overflow; and 256 B.
// Counted with an instrumented allocator over a 15 s ingest: 6,891 and
// 2,043 mappings unmapped (every other class under 300: 4 KiB the most,
// pinned too), and mmap and munmap were 7.6% of the node's CPU. Their
// pins are small.
//
// Freeing the spare slots writes a free-list link into each, so the pins
// touch about 28 KiB a mapping of pages, 9.4 MB in all (the caches it is
// sized for would fill 21 MB of mappings), and 0.8 MB for the others:
// they are taken when the node first takes inbox traffic
// ([Store.pinForFederation]), not at start, so a node that federates
// nothing does not carry them.
func pinPageCache() {
	pageCacheOnce.Do(func() {
		pinMappings(8<<10, pageCacheMappings)
		pinMappings(16<<10, 16)
		pinMappings(4<<10, 4)
		pinMappings(256, 4)
	})
}

// pinMappings keeps n mappings of the allocator's class of size: one
// slot of each is never freed, so the mapping is never unmapped and its
// other slots are reused.
func pinMappings(size, n int) {
	const mapping = 1 << 16 // the allocator's mapping size and alignment
	tls := libc.NewTLS()
	defer tls.Close()
	kept := make(map[uintptr]bool, n)
	var spare []uintptr
	for len(kept) < n {
		p := libc.Xmalloc(tls, libc.Tsize_t(size))
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
