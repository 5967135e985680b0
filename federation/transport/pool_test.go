package transport

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestPostToManyHostsNeverFailsAnAnsweredRequest posts once to each of
// many inboxes that answer 202 with no body, many at a time, as a
// fan-out does. Every inbox answered, so every Post must say so: an error
// here makes the delivery worker send the activity again to a server that
// already has it.
func TestPostToManyHostsNeverFailsAnAnsweredRequest(t *testing.T) {
	const hosts, inFlight, rounds = 600, 256, 6
	// More threads than cores: the operating system then pauses a
	// connection's reader anywhere, as on a busy machine.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(32))
	var answered atomic.Int64
	servers := make([]*httptest.Server, hosts)
	for i := range servers {
		servers[i] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			answered.Add(1)
			w.WriteHeader(http.StatusAccepted)
		}))
		defer servers[i].Close()
	}
	c := loopbackClient(Options{})
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	var failed atomic.Int64
	var mu sync.Mutex
	var first error
	for range rounds {
		for _, s := range servers {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if _, _, err := c.Post(context.Background(), s.URL+"/inbox", "application/activity+json", []byte(`{}`), nil); err != nil {
					failed.Add(1)
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d POSTs failed although every inbox answered (%d answers); first: %v", n, rounds*hosts, answered.Load(), first)
	}
}
