package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/skein-forum/skein/federation/fedtest"
)

// fakeHost plays one remote server on loopback: a Mastodon-style fedtest
// server whose actors user1..userN serve their documents and whose
// inboxes verify every POST's signature against the node's key, as a
// real server would, before they count it.
type fakeHost struct {
	*fedtest.Server
	Base  string // http://127.0.0.1:PORT
	names []string
	keys  *fedtest.KeyCache // the node's keys, shared by all hosts

	// OnActivity is called for every POST whose signature verified.
	OnActivity func(h *fakeHost, d fedtest.Delivery)
	Received   atomic.Int64
	Rejected   atomic.Int64
	errMu      sync.Mutex
	firstErr   string
	seen       map[string]int // verified deliveries per activity id (under errMu)
}

func (h *fakeHost) actor(name string) *fedtest.Actor { return h.Actor(name) }
func (h *fakeHost) ActorID(name string) string       { return h.Actor(name).ID }

// startHosts starts n hosts with perHost actors each. Keys are RSA-2048
// like Mastodon's; making one takes tens of milliseconds, so the hosts
// take turns among at most distinctKeys keys (each host still publishes
// and signs with its own key ids). The hosts share one cache of the
// node's keys: one fetch per key serves them all, and each POST's
// signature is still verified on its own.
func startHosts(n, perHost, distinctKeys int) ([]*fakeHost, error) {
	keys := &fedtest.KeyCache{}
	hosts := make([]*fakeHost, 0, n)
	for i := range n {
		h := &fakeHost{keys: keys}
		s, err := fedtest.Start(fedtest.Mastodon, fedtest.Options{
			Key:        fedtest.Key(i % max(1, distinctKeys)),
			Keys:       keys.Lookup,
			Errorf:     h.firstError,
			OnDelivery: h.count,
		})
		if err != nil {
			stopHosts(hosts)
			return nil, fmt.Errorf("fake host %d: %w", i, err)
		}
		h.Server, h.Base = s, s.URL
		for a := range perHost {
			h.names = append(h.names, fmt.Sprintf("user%d", a+1))
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

func stopHosts(hosts []*fakeHost) {
	for _, h := range hosts {
		h.Close()
	}
}

// count tallies a delivery once the inbox answered it.
func (h *fakeHost) count(d fedtest.Delivery) {
	if !d.Accepted() {
		h.fail("%s %s: %d: %v", d.Inbox, d.Type(), d.Status, d.Err)
		return
	}
	h.Received.Add(1)
	id, _ := d.Activity["id"].(string)
	h.errMu.Lock()
	if h.seen == nil {
		h.seen = make(map[string]int)
	}
	h.seen[id]++
	h.errMu.Unlock()
	if h.OnActivity != nil {
		h.OnActivity(h, d)
	}
}

func (h *fakeHost) fail(format string, args ...any) {
	h.Rejected.Add(1)
	h.firstError(format, args...)
}

// firstError keeps the first thing that went wrong.
func (h *fakeHost) firstError(format string, args ...any) {
	h.errMu.Lock()
	if h.firstErr == "" {
		h.firstErr = fmt.Sprintf(format, args...)
	}
	h.errMu.Unlock()
}

func (h *fakeHost) FirstError() string {
	h.errMu.Lock()
	defer h.errMu.Unlock()
	return h.firstErr
}

// errNoEndpoint means the node does not serve what a scenario needs yet.
var errNoEndpoint = errors.New("the node does not serve this endpoint")

// probeInbox tells whether the node has a shared inbox: an unsigned POST
// is refused with 400 or 401 by an inbox, and 404 or 405 without one.
func probeInbox(ctx context.Context, base string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/inbox", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
		return fmt.Errorf("%w: POST /inbox answers %d", errNoEndpoint, resp.StatusCode)
	}
	return nil
}

// duplicates counts the deliveries beyond the first of one activity to
// one host: each host has a shared inbox, so the node owes it every
// activity exactly once. first describes one of them.
func duplicates(hosts []*fakeHost) (n int64, first string) {
	for _, h := range hosts {
		h.errMu.Lock()
		for id, times := range h.seen {
			if times > 1 {
				n += int64(times - 1)
				if first == "" {
					first = fmt.Sprintf("%s received %s %d times", h.Host, id, times)
				}
			}
		}
		h.errMu.Unlock()
	}
	return n, first
}
