package transport

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skein-forum/skein/internal/poll"
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

// TestIdleConnectionsAreBoundedOverAllHosts posts once to each of more
// inboxes than the pool keeps, as a fan-out to new hosts does: the
// connections beyond the cap are closed, so a node that delivers to tens
// of thousands of hosts does not keep a socket open to each of them.
func TestIdleConnectionsAreBoundedOverAllHosts(t *testing.T) {
	if c := New(Options{}); c.transport.MaxIdleConns <= 0 {
		t.Fatalf("MaxIdleConns = %d by default: no bound on idle connections", c.transport.MaxIdleConns)
	}
	const hosts, kept = 48, 16
	var open atomic.Int64
	var urls []string
	for range hosts {
		s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
		}))
		s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
			switch state {
			case http.StateNew:
				open.Add(1)
			case http.StateClosed, http.StateHijacked:
				open.Add(-1)
			}
		}
		s.Start()
		defer s.Close()
		urls = append(urls, s.URL+"/inbox")
	}
	c := loopbackClient(Options{MaxIdleConns: kept})
	for _, u := range urls {
		if _, _, err := c.Post(context.Background(), u, "application/activity+json", []byte(`{}`), nil); err != nil {
			t.Fatal(err)
		}
	}
	// The client closes what it does not keep at once; the servers see
	// the close when their reads end.
	poll.Until(t, fmt.Sprintf("at most %d of the connections to %d hosts to stay open", kept, hosts), 10*time.Second,
		func() bool { return open.Load() <= kept })
}
