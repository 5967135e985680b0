package storage

import (
	"sync"

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

var (
	pinOnce sync.Once
	pinned  []uintptr // never freed
)
