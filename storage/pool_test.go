package storage_test

import (
	"context"
	"sync"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// Under a burst of concurrent reads the pool stays within its size and
// keeps its connections: none is closed for want of an idle slot and
// opened again at the next burst (each PostgreSQL connection is a server
// process to start, and N processes of a churning pool exhaust
// max_connections).
func TestPoolKeepsItsConnections(t *testing.T) {
	storagetest.ForEachDialectShared(t, func(t *testing.T, s *storage.Store, opts storage.Options) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		want := storage.DefaultMaxOpen
		if !storagetest.Postgres(opts) {
			want = s.ReadDB().DB.Stats().MaxOpenConnections
		} else if got := s.ReadDB().DB.Stats().MaxOpenConnections; got != want {
			t.Fatalf("default pool size %d, want %d", got, want)
		}
		for burst := range 3 {
			var wg sync.WaitGroup
			for range 4 * want {
				wg.Go(func() {
					for range 10 {
						if _, err := s.PostsInRange(ctx, fx.Thread.ID, 1, 3); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			st := s.ReadDB().DB.Stats()
			if st.OpenConnections > want || st.MaxIdleClosed != 0 {
				t.Fatalf("burst %d: %d connections open (pool of %d), %d closed for want of an idle slot", burst, st.OpenConnections, want, st.MaxIdleClosed)
			}
		}

		// The flags' sizes are what the pool gets.
		opts.Pool = storage.Pool{MaxOpen: 3, MaxIdle: 2}
		small := storagetest.OpenWith(t, opts)
		if st := small.ReadDB().DB.Stats(); st.MaxOpenConnections != 3 {
			t.Fatalf("--db-max-open 3 gave a pool of %d", st.MaxOpenConnections)
		}
	})
}
