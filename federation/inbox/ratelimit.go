package inbox

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Default inbox rate limits: far above what a busy real server sends one
// node (Mastodon delivers one POST per activity to a shared inbox), low
// enough that one host or actor cannot fill the queue at will.
const (
	DefaultHostPerMinute  = 6000 // 100 a second from one remote host
	DefaultActorPerMinute = 1200 // 20 a second from one actor
)

// limiterSetMax bounds how many hosts or actors a limiterSet remembers.
const limiterSetMax = 20000

// limiterSet is one token bucket per key (a host, an actor), allowing
// perMinute requests a minute with bursts of as many.
type limiterSet struct {
	limit rate.Limit
	burst int

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// newLimiterSet returns the limits for perMinute requests a minute per
// key; nil, which allows everything, for perMinute < 0.
func newLimiterSet(perMinute int) *limiterSet {
	if perMinute < 0 {
		return nil
	}
	return &limiterSet{limit: rate.Limit(float64(perMinute) / 60), burst: perMinute, m: make(map[string]*rate.Limiter)}
}

// allow takes a token for key at now. When there is none it returns
// false and how long until there is one.
func (s *limiterSet) allow(key string, now time.Time) (bool, time.Duration) {
	if s == nil {
		return true, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.m[key]
	if l == nil {
		if len(s.m) >= limiterSetMax {
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

// sweep forgets the keys whose bucket has filled up again, which a new
// bucket would equal; if every key is busy, it forgets them all rather
// than grow without bound.
func (s *limiterSet) sweep(now time.Time) {
	for k, l := range s.m {
		if l.TokensAt(now) >= float64(s.burst) {
			delete(s.m, k)
		}
	}
	if len(s.m) >= limiterSetMax {
		clear(s.m)
	}
}
