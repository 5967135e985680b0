package delivery_test

import (
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/delivery"
)

// Retry delays double from the base up to the cap and are drawn from
// [0, that bound].
func TestBackoffBounds(t *testing.T) {
	base, ceiling := 30*time.Second, 12*time.Hour
	for _, tc := range []struct {
		attempt int
		bound   time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {5, 8 * time.Minute}, {11, 512 * time.Minute}, {12, ceiling}, {40, ceiling}} {
		var largest time.Duration
		for range 200 {
			d := delivery.Backoff(tc.attempt, base, ceiling)
			if d < 0 || d > tc.bound {
				t.Fatalf("attempt %d: %v outside [0, %v]", tc.attempt, d, tc.bound)
			}
			largest = max(largest, d)
		}
		if largest < tc.bound/2 {
			t.Errorf("attempt %d: largest of 200 draws %v, bound %v: not jittered over the range", tc.attempt, largest, tc.bound)
		}
	}
}
