// Package poll waits in tests for what other goroutines or processes do:
// a worker applying an activity, a delivery arriving, a node starting.
package poll

import (
	"testing"
	"time"
)

// Until checks cond every few milliseconds until it holds, and fails t
// when it still does not after within. The deadline only turns a hang into
// a failure: it asserts nothing about speed, so give it room.
func Until(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
