package web

import (
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Password checks one client address may make this process do outside
// sign-in (registration, account deletion): a burst of 5, then one every
// 12 seconds (5 a minute).
const (
	signInRate  = rate.Limit(1.0 / 12)
	signInBurst = 5
)

// limiterSet keeps one token bucket per key in a bounded map. When the
// map is full, buckets idle long enough to be full again are dropped
// (forgetting them changes nothing); if none are, an arbitrary one goes,
// so a flood of addresses costs bounded memory.
type limiterSet struct {
	mu    sync.Mutex
	m     map[string]*limiterEntry
	limit rate.Limit
	burst int
	max   int
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiterSet(limit rate.Limit, burst, max int) *limiterSet {
	return &limiterSet{m: make(map[string]*limiterEntry), limit: limit, burst: burst, max: max}
}

// allow takes a token from key's bucket.
func (l *limiterSet) allow(key string) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.m[key]
	if !ok {
		if len(l.m) >= l.max {
			l.evict(now)
		}
		e = &limiterEntry{lim: rate.NewLimiter(l.limit, l.burst)}
		l.m[key] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}

func (l *limiterSet) evict(now time.Time) {
	refill := time.Duration(float64(l.burst)/float64(l.limit)) * time.Second
	for k, e := range l.m {
		if now.Sub(e.seen) > refill {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) < l.max {
			break
		}
		delete(l.m, k)
	}
}

// clientIP is the address rate limits key on (see TrustedProxies).
func (s *Server) clientIP(r *http.Request) string { return s.TrustedProxies.ClientIP(r) }
