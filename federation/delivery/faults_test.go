package delivery_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/fedtest"
	"github.com/skein-forum/skein/federation/transport"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// Faults: inboxes that reset the connection, never answer
// within the timeout, or trickle their answer one byte a second. While
// they misbehave their jobs are retried (with the backoff of
// TestBackoffBounds, each failure recorded with its error) and a
// well-behaved host
// gets everything; once they recover, they get everything too.
func TestMisbehavingHostsAreRetriedWithoutHoldingOthers(t *testing.T) {
	storagetest.ForEachSeeded(t, func(t *testing.T, s *storage.Store, fx *storagetest.Fixtures) {
		ctx := context.Background()
		var recovered atomic.Bool
		faults := map[string]func(w http.ResponseWriter, r *http.Request){
			"reset": func(w http.ResponseWriter, r *http.Request) {
				// Close the connection under the request, as a crashing
				// server or a proxy does.
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close()
				}
			},
			"timeout": func(w http.ResponseWriter, r *http.Request) {
				select { // answers long after the worker gave up
				case <-time.After(5 * time.Second):
				case <-r.Context().Done():
				}
			},
			"trickle": func(w http.ResponseWriter, r *http.Request) {
				conn, buf, err := http.NewResponseController(w).Hijack()
				if err != nil {
					return
				}
				defer conn.Close()
				for _, b := range []byte("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n") {
					if _, err := buf.Write([]byte{b}); err != nil || buf.Flush() != nil {
						return
					}
					time.Sleep(time.Second)
				}
			},
		}
		bad := map[string]*inbox{}
		for name, fault := range faults {
			in := newInbox(t)
			in.Respond(func(n int, w http.ResponseWriter, r *http.Request) int {
				if recovered.Load() {
					return 0
				}
				fault(w, r)
				return fedtest.Unanswered
			})
			bad[name] = in
		}
		steady := newInbox(t)
		var acts []storage.NewActivity
		for i := range 3 {
			acts = append(acts, activity(fx, i, personal(bad["reset"], "/inbox"), personal(bad["timeout"], "/inbox"),
				personal(bad["trickle"], "/inbox"), personal(steady, "/inbox")))
		}
		enqueue(t, s, acts...)
		w := newWorker(s)
		w.Timeout = 300 * time.Millisecond
		w.Client = transport.New(transport.Options{AllowPrivateNetworks: true, AllowHTTP: true, Timeout: 300 * time.Millisecond})
		w.RetryBase, w.RetryMax = 50*time.Millisecond, 200*time.Millisecond
		start(t, w)
		w.Notify()

		eventually(t, "the steady host to get everything", func() bool {
			_, got, _ := steady.stats()
			return len(got) == len(acts)
		})
		eventually(t, "every misbehaving host to be tried again", func() bool {
			for _, in := range bad {
				if n, _, _ := in.stats(); n <= len(acts) {
					return false
				}
			}
			return true
		})
		// Each failure is on record with its error.
		var failed []string
		if err := s.DB().NewRaw("SELECT host FROM deliveries WHERE attempts > 0 AND last_error <> ''").Scan(ctx, &failed); err != nil {
			t.Fatal(err)
		}
		hosts := map[string]bool{}
		for _, h := range failed {
			hosts[h] = true
		}
		for name, in := range bad {
			if !hosts[in.host()] {
				t.Errorf("%s host: no failed attempt on record", name)
			}
		}
		if c := w.Counters(); c.Retried < 3 {
			t.Errorf("counters while failing = %+v, want retries", c)
		}

		recovered.Store(true)
		eventually(t, "the queue to empty", queueEmpty(t, s))
		for name, in := range bad {
			for _, a := range acts {
				if in.received("/inbox", a.APID) == 0 {
					t.Errorf("%s host never got %s", name, a.APID)
				}
			}
		}
		for _, a := range acts {
			if n := steady.received("/inbox", a.APID); n != 1 {
				t.Errorf("steady host got %s %d times", a.APID, n)
			}
		}
	})
}

// A server that holds every POST open and never answers (NodeBB does so
// with an Announce it will Reject) keeps a delivery slot no longer than
// the POST timeout: with one slot for the host, every job of it is
// still attempted in turn, and each is kept for a retry.
func TestHeldPostsFreeTheirSlot(t *testing.T) {
	s := storagetest.Open(t, "sqlite")
	ctx := context.Background()
	fx := storagetest.Seed(t, s)
	held := newInbox(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	held.Respond(fedtest.Hold(release))
	var acts []storage.NewActivity
	for i := range 3 {
		acts = append(acts, activity(fx, i, personal(held, "/inbox")))
	}
	enqueue(t, s, acts...)
	w := newWorker(s)
	w.PerHost = 1
	w.Timeout = 200 * time.Millisecond
	w.Client = transport.New(transport.Options{AllowPrivateNetworks: true, AllowHTTP: true, Timeout: 200 * time.Millisecond})
	w.RetryBase, w.RetryMax = time.Hour, time.Hour
	start(t, w)
	w.Notify()
	eventually(t, "every held job to be attempted and kept for a retry", func() bool {
		n, _, _ := held.stats()
		var retried int
		if err := s.DB().NewRaw("SELECT count(*) FROM deliveries WHERE attempts > 0").Scan(ctx, &retried); err != nil {
			t.Fatal(err)
		}
		return n >= len(acts) && retried == len(acts)
	})
}
