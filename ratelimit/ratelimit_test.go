package ratelimit_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/skein-forum/skein/ratelimit"
)

func TestSetStaysBoundedAndLimits(t *testing.T) {
	now := time.Now()
	s := ratelimit.New(1.0/12, 5, 100)
	for i := range 1000 {
		s.Allow("10.0.0."+strconv.Itoa(i), now)
	}
	if n := s.Len(); n > 100 {
		t.Fatalf("the set grew to %d keys", n)
	}
	for range 5 {
		if ok, _ := s.Allow("one", now); !ok {
			t.Fatal("refused within the burst")
		}
	}
	ok, wait := s.Allow("one", now)
	if ok || wait != 12*time.Second {
		t.Fatalf("past the burst: allowed %v, wait %v (want refused, 12s)", ok, wait)
	}
	if ok, _ := s.Allow("one", now.Add(12*time.Second)); !ok {
		t.Fatal("refused after the bucket refilled a token")
	}
	var none *ratelimit.Set
	if ok, _ := none.Allow("x", now); !ok {
		t.Fatal("a nil set refused")
	}
}
