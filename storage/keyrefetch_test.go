package storage_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// A key is refetched at most once per interval, whichever process asks:
// the second claim inside the interval is refused, one after it is
// granted, and other keys are independent. The claims alternate between
// two stores on one database, as two processes would make them, and of
// many made at once exactly one wins.
func TestClaimKeyRefetch(t *testing.T) {
	storagetest.ForEachDialectShared(t, func(t *testing.T, s *storage.Store, opts storage.Options) {
		other := storagetest.OpenWith(t, opts)
		ctx := context.Background()
		const gap = 10 * time.Second
		key := "https://gts.example/users/ana/main-key"
		now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		for i, c := range []struct {
			name string
			key  string
			at   time.Time
			want bool
		}{
			{"first", key, now, true},
			{"again at once", key, now, false},
			{"just inside the gap", key, now.Add(gap - time.Millisecond), false},
			{"another key", key + "2", now.Add(time.Second), true},
			{"after the gap", key, now.Add(gap), true},
			{"right after that", key, now.Add(gap + time.Second), false},
		} {
			store := []*storage.Store{s, other}[i%2]
			got, err := store.ClaimKeyRefetch(ctx, c.key, c.at, gap)
			if err != nil || got != c.want {
				t.Fatalf("%s: claimed %v, %v; want %v", c.name, got, err, c.want)
			}
		}
		// Claims past their interval are pruned; a pruned key may be
		// claimed at once, a recent one still may not.
		if n, err := s.PruneKeyRefetches(ctx, now.Add(gap)); err != nil || n != 1 {
			t.Fatalf("pruned %d, %v; want the other key's claim", n, err)
		}
		if ok, err := s.ClaimKeyRefetch(ctx, key+"2", now.Add(gap+2*time.Second), gap); err != nil || !ok {
			t.Errorf("pruned key: claimed %v, %v", ok, err)
		}
		if ok, err := s.ClaimKeyRefetch(ctx, key, now.Add(gap+2*time.Second), gap); err != nil || ok {
			t.Errorf("recent claim after the prune: claimed %v, %v", ok, err)
		}

		var won atomic.Int32
		var wg sync.WaitGroup
		later := now.Add(time.Hour)
		for i := range 10 {
			store := []*storage.Store{s, other}[i%2]
			wg.Go(func() {
				ok, err := store.ClaimKeyRefetch(ctx, key, later, gap)
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if n := won.Load(); n != 1 {
			t.Fatalf("%d of 10 simultaneous claims won, want 1", n)
		}
	})
}
