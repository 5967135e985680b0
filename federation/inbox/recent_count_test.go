package inbox

import (
	"testing"
	"time"
)

// The dashboard's count of direct stores: what was counted within the
// window is summed, older steps are not, and a slot reused for a later
// step starts again from zero.
func TestRecentCount(t *testing.T) {
	var c recentCount
	t0 := time.Unix(1_800_000_000, 0)
	c.add(t0, 3)
	c.add(t0.Add(5*time.Second), 2) // same step
	c.add(t0.Add(2*time.Minute), 4)
	now := t0.Add(4 * time.Minute)
	if got := c.since(now.Add(-5*time.Minute), now); got != 9 {
		t.Fatalf("last 5 minutes: %d, want 9", got)
	}
	if got := c.since(now.Add(-3*time.Minute), now); got != 4 {
		t.Fatalf("last 3 minutes: %d, want 4", got)
	}
	// Six minutes on, t0's slot counts a new step.
	later := t0.Add(recentSteps * recentStep * time.Second)
	c.add(later, 1)
	if got := c.since(later.Add(-5*time.Minute), later); got != 5 {
		t.Fatalf("after the slots wrapped: %d, want 5 (4 + 1)", got)
	}
	if got := c.since(later.Add(-time.Hour), later); got != 5 {
		t.Fatalf("an hour back: %d, want what the slots hold, 5", got)
	}
}
