package inbox

import (
	"sync"
	"time"
)

// recentCount counts events in ten-second steps over the last few
// minutes. The dashboard's inbox rate counted the inbox items received
// lately; a Create stored directly leaves none, so the inbox counts
// those itself.
type recentCount struct {
	mu   sync.Mutex
	step [recentSteps]int64 // the step (Unix time / recentStep) each slot counts
	n    [recentSteps]int64
}

const (
	recentStep  = 10 // seconds
	recentSteps = 36 // six minutes
)

// add counts n events at now.
func (c *recentCount) add(now time.Time, n int64) {
	st := now.Unix() / recentStep
	i := st % recentSteps
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.step[i] != st {
		c.step[i], c.n[i] = st, 0
	}
	c.n[i] += n
}

// since counts the events from t's step to now's; no further back than
// the slots reach.
func (c *recentCount) since(t, now time.Time) int64 {
	from, to := t.Unix()/recentStep, now.Unix()/recentStep
	c.mu.Lock()
	defer c.mu.Unlock()
	var sum int64
	for i, st := range c.step {
		if st >= from && st <= to && st > to-recentSteps {
			sum += c.n[i]
		}
	}
	return sum
}

// DirectSince counts the activities stored as they arrived since t (up
// to six minutes back): with the inbox items received meanwhile, what
// the inboxes took (storage.Store.InboxReceivedSince counts only those).
func (in *Inbox) DirectSince(t time.Time) int64 {
	return in.directRate.since(t, time.Now())
}
