package main

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/skein-forum/skein/federation/signature"
)

// fakeHost plays one remote server on loopback: it serves its actors'
// documents (with their public key) and a shared inbox plus per-actor
// inboxes that verify every POST's signature against the node's key, as
// a real server would, before they count it.
type fakeHost struct {
	Base   string // http://127.0.0.1:PORT
	key    *rsa.PrivateKey
	pubPEM string
	names  []string
	srv    *http.Server
	keys   *nodeKeys

	// OnActivity is called for every POST whose signature verified.
	OnActivity func(h *fakeHost, act *activity)
	Received   atomic.Int64
	Rejected   atomic.Int64
	errMu      sync.Mutex
	firstErr   string
}

// activity is what the fake hosts read of an incoming activity.
type activity struct {
	Type   string          `json:"type"`
	ID     string          `json:"id"`
	Actor  string          `json:"actor"`
	Object json.RawMessage `json:"object"`
}

func (h *fakeHost) ActorID(name string) string { return h.Base + "/users/" + name }
func (h *fakeHost) KeyID(name string) string   { return h.ActorID(name) + "#main-key" }
func (h *fakeHost) SharedInbox() string        { return h.Base + "/inbox" }

// startHosts starts n hosts with perHost actors each. Keys are RSA-2048
// like Mastodon's; making one takes tens of milliseconds, so at most
// distinctKeys are made and hosts share them (each host still publishes
// and signs with its own key ids).
func startHosts(n, perHost, distinctKeys int, keys *nodeKeys) ([]*fakeHost, error) {
	var pool []*rsa.PrivateKey
	var pems []string
	for range max(1, min(n, distinctKeys)) {
		k, err := signature.GenerateKey()
		if err != nil {
			return nil, err
		}
		pem, err := signature.EncodePublicKeyPEM(&k.PublicKey)
		if err != nil {
			return nil, err
		}
		pool, pems = append(pool, k), append(pems, pem)
	}
	hosts := make([]*fakeHost, 0, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			stopHosts(hosts)
			return nil, fmt.Errorf("fake host %d: %w", i, err)
		}
		h := &fakeHost{Base: "http://" + ln.Addr().String(), key: pool[i%len(pool)], pubPEM: pems[i%len(pems)], keys: keys}
		for a := range perHost {
			h.names = append(h.names, fmt.Sprintf("user%d", a+1))
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /users/{name}", h.serveActor)
		mux.HandleFunc("POST /users/{name}/inbox", h.serveInbox)
		mux.HandleFunc("POST /inbox", h.serveInbox)
		mux.HandleFunc("GET /.well-known/nodeinfo", h.serveNodeInfoIndex)
		mux.HandleFunc("GET /nodeinfo/2.0", h.serveNodeInfo)
		h.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = h.srv.Serve(ln) }()
		hosts = append(hosts, h)
	}
	return hosts, nil
}

func stopHosts(hosts []*fakeHost) {
	for _, h := range hosts {
		h.srv.Close()
	}
}

func (h *fakeHost) fail(format string, args ...any) {
	h.Rejected.Add(1)
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

func (h *fakeHost) serveActor(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !strings.HasPrefix(name, "user") {
		http.NotFound(w, r)
		return
	}
	id := h.ActorID(name)
	doc := map[string]any{
		"@context":          []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":                id,
		"type":              "Person",
		"preferredUsername": name,
		"name":              "Load " + name,
		"summary":           "<p>A remote actor played by skein-load.</p>",
		"url":               h.Base + "/@" + name,
		"inbox":             id + "/inbox",
		"outbox":            id + "/outbox",
		"followers":         id + "/followers",
		"following":         id + "/following",
		"endpoints":         map[string]any{"sharedInbox": h.SharedInbox()},
		"publicKey":         map[string]any{"id": h.KeyID(name), "owner": id, "publicKeyPem": h.pubPEM},
	}
	w.Header().Set("Content-Type", "application/activity+json")
	_ = json.NewEncoder(w).Encode(doc)
}

func (h *fakeHost) serveNodeInfoIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"links":[{"rel":"http://nodeinfo.diaspora.software/ns/schema/2.0","href":%q}]}`, h.Base+"/nodeinfo/2.0")
}

func (h *fakeHost) serveNodeInfo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"version":"2.0","software":{"name":"mastodon","version":"4.3.0"},"protocols":["activitypub"],`+
		`"services":{"inbound":[],"outbound":[]},"openRegistrations":false,"usage":{"users":{}},"metadata":{}}`)
}

// serveInbox verifies and counts a delivery.
func (h *fakeHost) serveInbox(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		h.fail("read body: %v", err)
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	v, err := signature.Verify(r, body, time.Now(), h.keys.lookup)
	if err != nil {
		h.fail("verify %s: %v", r.URL.Path, err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	act := new(activity)
	if err := json.Unmarshal(body, act); err != nil {
		h.fail("parse: %v", err)
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	if owner := strings.SplitN(v.KeyID, "#", 2)[0]; owner != act.Actor {
		h.fail("key %s signed for actor %s", v.KeyID, act.Actor)
		http.Error(w, "key does not belong to the actor", http.StatusUnauthorized)
		return
	}
	h.Received.Add(1)
	if h.OnActivity != nil {
		h.OnActivity(h, act)
	}
	w.WriteHeader(http.StatusAccepted)
}

// nodeKeys fetches and caches the node's public keys for every fake host:
// the hosts share one process, so one fetch per key serves them all (each
// POST's signature is still verified on its own).
type nodeKeys struct {
	client *http.Client
	mu     sync.Mutex
	keys   map[string]*rsa.PublicKey
	sf     singleflight.Group
}

func newNodeKeys() *nodeKeys {
	return &nodeKeys{client: &http.Client{Timeout: 10 * time.Second}, keys: map[string]*rsa.PublicKey{}}
}

func (k *nodeKeys) lookup(ctx context.Context, keyID string) (*rsa.PublicKey, error) {
	k.mu.Lock()
	pub := k.keys[keyID]
	k.mu.Unlock()
	if pub != nil {
		return pub, nil
	}
	v, err, _ := k.sf.Do(keyID, func() (any, error) {
		url, _, _ := strings.Cut(keyID, "#")
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", apAccept)
		resp, err := k.client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		var doc struct {
			PublicKey struct {
				ID           string `json:"id"`
				PublicKeyPem string `json:"publicKeyPem"`
			} `json:"publicKey"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
			return nil, err
		}
		if doc.PublicKey.ID != keyID {
			return nil, fmt.Errorf("%s publishes key %q, not %q", url, doc.PublicKey.ID, keyID)
		}
		pub, err := signature.ParsePublicKeyPEM(doc.PublicKey.PublicKeyPem)
		if err != nil {
			return nil, err
		}
		k.mu.Lock()
		k.keys[keyID] = pub
		k.mu.Unlock()
		return pub, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*rsa.PublicKey), nil
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
