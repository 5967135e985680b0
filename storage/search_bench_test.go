package storage_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// BenchmarkSearchQuery runs Store.Search (the ranked id list and the
// page of 21 posts, no cache) over 18,000 posts of the load tool's prose,
// where every word is common: "rye" alone and two words that must both
// match. "segments" is the index after the seed and 60 posts written one
// transaction each, as a live node leaves it between idle merges;
// "merged" after MergeSearchIndex has run to the end. cpu-ns/op is the
// process's CPU time a search, which a busy machine inflates less than
// ns/op.
func BenchmarkSearchQuery(b *testing.B) {
	ctx := context.Background()
	opts := storagetest.Options(b, "sqlite")
	opts.SearchCache = -1
	s := storagetest.OpenWith(b, opts)
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	seeded, err := s.Seed(ctx, storage.SeedSpec{Forums: 4, ThreadsPerForum: 50, PostsPerThread: 40,
		LongThreads: 1, LongThreadPosts: 10000, Members: 200})
	if err != nil {
		b.Fatal(err)
	}
	storagetest.Replies(b, s, seeded.LongThreads[0], seeded.MemberIDs[0], 60)
	run := func(b *testing.B) {
		for _, q := range []string{"rye", "steam oven"} {
			b.Run(q, func(b *testing.B) {
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					if hits, _, err := s.Search(ctx, q, 1); err != nil || len(hits) != storage.SearchPageSize {
						b.Fatalf("%q: %d hits, %v", q, len(hits), err)
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
	b.Run("segments", run)
	defer storage.SetSearchIdleBeforeMerge(0)()
	for {
		more, err := s.MergeSearchIndex(ctx, 256)
		if err != nil {
			b.Fatal(err)
		}
		if !more {
			break
		}
	}
	b.Run("merged", run)
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano())
}
