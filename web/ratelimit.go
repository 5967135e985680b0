package web

import (
	"net/http"
	"time"

	"golang.org/x/time/rate"

	"github.com/skein-forum/skein/ratelimit"
)

// Password checks one client address may make this process do outside
// sign-in (registration, account deletion): a burst of 5, then one every
// 12 seconds (5 a minute).
const (
	signInRate  = rate.Limit(1.0 / 12)
	signInBurst = 5
)

// limitSize bounds how many client addresses or members each of the
// web's limits remembers.
const limitSize = 10000

// allow takes a token from key's bucket in l.
func allow(l *ratelimit.Set, key string) bool {
	ok, _ := l.Allow(key, time.Now())
	return ok
}

// clientIP is the address rate limits key on (see TrustedProxies).
func (s *Server) clientIP(r *http.Request) string { return s.TrustedProxies.ClientIP(r) }
