package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// A key is refetched at most once per interval, whoever asks: the second
// claim inside the interval is refused, one after it is granted, and
// other keys are independent.
func TestClaimKeyRefetch(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		const gap = 10 * time.Second
		key := "https://gts.example/users/ana/main-key"
		now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		for _, c := range []struct {
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
			got, err := s.ClaimKeyRefetch(ctx, c.key, c.at, gap)
			if err != nil || got != c.want {
				t.Fatalf("%s: claimed %v, %v; want %v", c.name, got, err, c.want)
			}
		}
	})
}
