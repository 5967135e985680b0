package federation_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skein-forum/skein/federation"
	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// testNode is a whole Skein node's ActivityPub side on a loopback port:
// its own SQLite store with the standard fixtures, a federation.Server
// and an HTTP server routing the shared URLs to Documents the way the web
// package does for ActivityPub Accept headers.
type testNode struct {
	t     testing.TB
	srv   *httptest.Server
	mux   *http.ServeMux
	live  atomic.Pointer[http.ServeMux] // what srv serves; restart swaps it
	cfg   federation.Config
	fed   *federation.Server
	store *storage.Store
	urls  *site.URLs
	fx    *storagetest.Fixtures
}

// newNode starts a node. edit may change the config before New.
func newNode(t testing.TB, edit func(*federation.Config)) *testNode {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	urls := site.MustNew("http://" + srv.Listener.Addr().String())
	store := storagetest.Open(t, "sqlite")
	cfg := federation.Config{
		Store:                store,
		URLs:                 urls,
		AllowPrivateNetworks: true,
		AllowHTTP:            true,
		Version:              "0.1.0-test",
		OpenRegistrations:    func() bool { return true },
	}
	if edit != nil {
		edit(&cfg)
	}
	n := &testNode{t: t, srv: srv, cfg: cfg, store: store, urls: urls}
	n.restart()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.live.Load().ServeHTTP(w, r) })
	srv.Start()
	t.Cleanup(srv.Close)
	n.fx = storagetest.Seed(t, store)
	return n
}

// restart replaces the node's federation server with a fresh one on the
// same database and address, as a process restart would: in-memory
// caches are gone.
func (n *testNode) restart() {
	n.t.Helper()
	fed, err := federation.New(n.cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	mux := http.NewServeMux()
	docs := fed.Documents()
	for _, p := range []string{"GET /u/{handle}", "GET /f/{slug}", "GET /t/{id}", "GET /p/{id}"} {
		mux.Handle(p, docs)
	}
	fed.Register(mux)
	n.fed, n.mux = fed, mux
	n.live.Store(mux)
}

const apAccept = "application/activity+json"
const ldAccept = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`

// get fetches url unsigned with the given Accept and extra headers.
func (n *testNode) get(url, accept string, header ...string) *http.Response {
	n.t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	return resp
}

// doc fetches an ActivityPub document, expects status, and decodes it.
func (n *testNode) doc(url string, status int) map[string]any {
	n.t.Helper()
	resp := n.get(url, apAccept)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		n.t.Fatalf("GET %s: status %d, want %d: %s", url, resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != as.ContentType {
		n.t.Fatalf("GET %s: Content-Type %q", url, ct)
	}
	if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Accept") {
		n.t.Fatalf("GET %s: no Vary: Accept", url)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		n.t.Fatalf("GET %s: %v: %s", url, err, body)
	}
	return m
}

// addRemoteAccount stores a remote actor, as an inbox would have.
func (n *testNode) addRemoteAccount(handle, host string) *storage.Account {
	n.t.Helper()
	id := "https://" + host + "/users/" + handle
	a, err := n.store.UpsertRemoteAccount(context.Background(), &storage.Account{Handle: handle, Domain: host, APID: &id,
		Inbox: id + "/inbox", PublicKeyID: id + "#main-key", PublicKeyPEM: "-"})
	if err != nil {
		n.t.Fatal(err)
	}
	return a
}
