// Package testnode runs the ActivityPub side of a Skein node for the
// federation packages' tests: a federation.Server, its inbox and the
// routes a node serves, on a loopback port with its own SQLite store and
// the standard fixtures; and remote servers played by httptest servers
// that serve Mastodon- or GoToSocial-shaped actors, sign what they post
// with real keys and record what the node posts to them.
package testnode

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skein-forum/skein/federation"
	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/inbox"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// Node is a whole Skein node's ActivityPub side on a loopback port:
// its own SQLite store with the standard fixtures, a federation.Server,
// its inbox, and an HTTP server routing the shared URLs to Documents the
// way the web package does for ActivityPub Accept headers.
type Node struct {
	t     testing.TB
	Srv   *httptest.Server
	Mux   *http.ServeMux
	live  atomic.Pointer[http.ServeMux] // what Srv serves; Restart swaps it
	Cfg   federation.Config
	Fed   *federation.Server
	Inbox *inbox.Inbox
	Store *storage.Store
	URLs  *site.URLs
	Fx    *storagetest.Fixtures
	// InboxCfg configures the inbox that New and Restart make.
	InboxCfg inbox.Config
}

// New starts a node. edit may change the config before New.
func New(t testing.TB, edit func(*federation.Config)) *Node {
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
	n := &Node{t: t, Srv: srv, Cfg: cfg, Store: store, URLs: urls}
	n.Restart()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.live.Load().ServeHTTP(w, r) })
	srv.Start()
	t.Cleanup(srv.Close)
	n.Fx = storagetest.Seed(t, store)
	return n
}

// restart replaces the node's federation server with a fresh one on the
// same database and address, as a process restart would: in-memory
// caches are gone.
func (n *Node) Restart() {
	n.t.Helper()
	fed, err := federation.New(n.Cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	mux := http.NewServeMux()
	docs := fed.Documents()
	for _, p := range []string{"GET /u/{handle}", "GET /f/{slug}", "GET /t/{id}", "GET /p/{id}"} {
		mux.Handle(p, docs)
	}
	fed.Register(mux)
	in := inbox.New(fed, n.InboxCfg)
	in.Register(mux)
	n.Fed, n.Inbox, n.Mux = fed, in, mux
	n.live.Store(mux)
}

const APAccept = "application/activity+json"
const LDAccept = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`

// get fetches url unsigned with the given Accept and extra headers.
func (n *Node) Get(url, accept string, header ...string) *http.Response {
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
func (n *Node) Doc(url string, status int) map[string]any {
	n.t.Helper()
	resp := n.Get(url, APAccept)
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
func (n *Node) AddRemoteAccount(handle, host string) *storage.Account {
	n.t.Helper()
	id := "https://" + host + "/users/" + handle
	a, err := n.Store.UpsertRemoteAccount(context.Background(), &storage.Account{Handle: handle, Domain: host, APID: &id,
		Inbox: id + "/inbox", PublicKeyID: id + "#main-key", PublicKeyPEM: "-"})
	if err != nil {
		n.t.Fatal(err)
	}
	return a
}

// WebFinger asks the node's WebFinger about resource and decodes the
// answer.
func (n *Node) WebFinger(resource string) (*http.Response, map[string]any) {
	n.t.Helper()
	resp := n.Get(n.URLs.Base()+"/.well-known/webfinger?resource="+url.QueryEscape(resource), "application/jrd+json")
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	return resp, m
}

// Follow has member follow the remote actor a, accepted, and returns a's
// stored account.
func (n *Node) Follow(t testing.TB, member *storage.Account, a *RemoteActor) *storage.Account {
	t.Helper()
	ctx := context.Background()
	acc, err := n.Fed.ResolveActor(ctx, a.ID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Store.AddFollow(ctx, member.ID, storage.FollowAccount, acc.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	return acc
}
