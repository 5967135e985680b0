// Package ratelimit keeps one token bucket per key (a client address, a
// member, a remote host or actor) in a bounded map, for the limits the
// web forms and the inbox enforce within one process.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Set is one token bucket per key. A nil *Set allows everything.
type Set struct {
	limit rate.Limit
	burst int
	max   int

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// New returns buckets refilling at limit tokens a second with room for
// burst, remembering at most max keys.
func New(limit rate.Limit, burst, max int) *Set {
	return &Set{limit: limit, burst: burst, max: max, m: make(map[string]*rate.Limiter)}
}

// Allow takes a token from key's bucket at now. When there is none it
// returns false and how long until there is one.
func (s *Set) Allow(key string, now time.Time) (bool, time.Duration) {
	if s == nil {
		return true, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.m[key]
	if l == nil {
		if len(s.m) >= s.max {
			s.sweep(now)
		}
		l = rate.NewLimiter(s.limit, s.burst)
		s.m[key] = l
	}
	if l.AllowN(now, 1) {
		return true, 0
	}
	if s.limit <= 0 {
		return false, time.Minute
	}
	return false, time.Duration(math.Ceil((1-l.TokensAt(now))/float64(s.limit))) * time.Second
}

// Len is how many keys the set remembers.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// sweep forgets the keys whose bucket has filled up again, which a new
// bucket would equal; if every key is busy, arbitrary ones go, so a flood
// of keys costs bounded memory.
func (s *Set) sweep(now time.Time) {
	for k, l := range s.m {
		if l.TokensAt(now) >= float64(s.burst) {
			delete(s.m, k)
		}
	}
	for k := range s.m {
		if len(s.m) < s.max {
			break
		}
		delete(s.m, k)
	}
}
