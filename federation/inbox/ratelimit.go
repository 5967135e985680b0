package inbox

import (
	"golang.org/x/time/rate"

	"github.com/skein-forum/skein/ratelimit"
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

// newLimiterSet returns the limits for perMinute requests a minute per
// key, with bursts of as many; nil, which allows everything, for
// perMinute < 0.
func newLimiterSet(perMinute int) *ratelimit.Set {
	if perMinute < 0 {
		return nil
	}
	return ratelimit.New(rate.Limit(float64(perMinute)/60), perMinute, limiterSetMax)
}
