package federation_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fed/httpsig"

	"github.com/skein-forum/skein/federation"
	"github.com/skein-forum/skein/federation/delivery"
	"github.com/skein-forum/skein/federation/signature"
	"github.com/skein-forum/skein/federation/transport"
	"github.com/skein-forum/skein/storage"
)

// The inbox rig: remote servers played by httptest servers that serve
// Mastodon- or GoToSocial-shaped actor documents, sign what they post to
// the node with real keys, and record (and verify) what the node posts to
// them.

var (
	testKeysOnce sync.Once
	testKeys     []*rsa.PrivateKey
)

// testKey returns one of a few RSA keys made once per test binary:
// generating a key per actor would cost most of the suite's time.
func testKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	testKeysOnce.Do(func() {
		for range 4 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeys = append(testKeys, k)
		}
	})
	return testKeys[i%len(testKeys)]
}

// remoteServer is a foreign server.
type remoteServer struct {
	t      testing.TB
	srv    *httptest.Server
	style  string // "mastodon" or "gotosocial"
	mu     sync.Mutex
	actors map[string]*remoteActor
	docs   map[string]any // path -> document served as activity+json
	got    []receivedPost
	// verifyKey finds the public key of a keyId that signed a POST here.
	verifyKey func(keyID string) (*rsa.PublicKey, error)
}

type remoteActor struct {
	name  string
	typ   string
	key   *rsa.PrivateKey
	srv   *remoteServer
	title string // display name
}

type receivedPost struct {
	path     string
	body     map[string]any
	verified error
}

func newRemoteServer(t testing.TB, style string) *remoteServer {
	t.Helper()
	rs := &remoteServer{t: t, style: style, actors: map[string]*remoteActor{}, docs: map[string]any{}}
	rs.srv = httptest.NewServer(http.HandlerFunc(rs.serve))
	t.Cleanup(rs.srv.Close)
	return rs
}

func (rs *remoteServer) host() string { return strings.TrimPrefix(rs.srv.URL, "http://") }

// actor adds an actor of type typ ("Person", "Group") signing with key i.
func (rs *remoteServer) actor(name, typ string, key int) *remoteActor {
	a := &remoteActor{name: name, typ: typ, key: testKey(rs.t, key), srv: rs, title: strings.ToUpper(name[:1]) + name[1:] + ": a remote " + strings.ToLower(typ)}
	rs.mu.Lock()
	rs.actors[name] = a
	rs.mu.Unlock()
	return a
}

func (a *remoteActor) id() string    { return a.srv.srv.URL + "/users/" + a.name }
func (a *remoteActor) inbox() string { return a.id() + "/inbox" }
func (a *remoteActor) keyID() string {
	if a.srv.style == "gotosocial" {
		return a.id() + "/main-key"
	}
	return a.id() + "#main-key"
}

// put serves doc at path.
func (rs *remoteServer) put(path string, doc any) {
	rs.mu.Lock()
	rs.docs[path] = doc
	rs.mu.Unlock()
}

func (rs *remoteServer) posts() []receivedPost {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]receivedPost(nil), rs.got...)
}

func (rs *remoteServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		var verr error
		if rs.verifyKey != nil {
			_, verr = signature.Verify(r, body, time.Now(), func(_ context.Context, keyID string) (*rsa.PublicKey, error) {
				return rs.verifyKey(keyID)
			})
		}
		rs.mu.Lock()
		rs.got = append(rs.got, receivedPost{path: r.URL.Path, body: m, verified: verr})
		rs.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	rs.mu.Lock()
	doc, ok := rs.docs[r.URL.Path]
	name, _ := strings.CutPrefix(r.URL.Path, "/users/")
	name = strings.TrimSuffix(name, "/main-key")
	a := rs.actors[name]
	rs.mu.Unlock()
	if !ok && a != nil {
		doc = a.document()
		ok = true
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`)
	_ = json.NewEncoder(w).Encode(doc)
}

// document is the actor as its server shows it: Mastodon's context
// with inline terms, or GoToSocial's plain one and a path key id.
func (a *remoteActor) document() map[string]any {
	der, _ := x509.MarshalPKIXPublicKey(&a.key.PublicKey)
	id := a.id()
	doc := map[string]any{
		"@context": []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1",
			map[string]any{"manuallyApprovesFollowers": "as:manuallyApprovesFollowers", "toot": "http://joinmastodon.org/ns#",
				"featured": map[string]any{"@id": "toot:featured", "@type": "@id"}, "discoverable": "toot:discoverable",
				"PropertyValue": "schema:PropertyValue", "schema": "http://schema.org#", "value": "schema:value"}},
		"id": id, "type": a.typ, "preferredUsername": a.name, "name": a.title,
		"summary": "<p>Bakes bread.</p>", "url": a.srv.srv.URL + "/@" + a.name,
		"inbox": a.inbox(), "outbox": id + "/outbox", "followers": id + "/followers", "following": id + "/following",
		"manuallyApprovesFollowers": false, "discoverable": true, "published": "2023-04-01T00:00:00Z",
		"attachment": []any{map[string]any{"type": "PropertyValue", "name": "Site", "value": "<a href=\"https://example.com\">example.com</a>"}},
		"endpoints":  map[string]any{"sharedInbox": a.srv.srv.URL + "/inbox"},
		"publicKey": map[string]any{"id": a.keyID(), "owner": id,
			"publicKeyPem": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
	}
	if a.srv.style == "gotosocial" {
		doc["@context"] = []any{"https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams"}
		delete(doc, "attachment")
	}
	return doc
}

// sendOpts changes how post signs and sends.
type sendOpts struct {
	contentType string
	headers     []string                    // signed headers; default (request-target) host date digest
	date        time.Time                   // Date header; default now
	keyID       string                      // default the actor's
	key         *rsa.PrivateKey             // default the actor's
	after       func(r *http.Request)       // runs after signing
	unsigned    bool                        // no Signature at all
	body        func(b []byte) []byte       // replaces the body after signing
	rawBody     []byte                      // sent instead of the marshalled activity
	sign        func(r *http.Request) error // replaces signing altogether
}

// post signs an activity as a and POSTs it to url; it returns the status
// and the reason the node gave.
func (a *remoteActor) post(t testing.TB, url string, activity any, o sendOpts) (int, string) {
	t.Helper()
	body := o.rawBody
	if body == nil {
		var err error
		if body, err = json.Marshal(activity); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	ct := o.contentType
	if ct == "" {
		ct = "application/activity+json"
		if a.srv.style == "mastodon" {
			ct = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
		}
	}
	req.Header.Set("Content-Type", ct)
	if !o.unsigned {
		if err := a.sign(req, body, o); err != nil {
			t.Fatal(err)
		}
	}
	if o.body != nil {
		b := o.body(body)
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	}
	if o.after != nil {
		o.after(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	reason, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(reason))
}

// sign signs like Mastodon: hs2019 over (request-target) host date
// digest, unless o asks otherwise.
func (a *remoteActor) sign(r *http.Request, body []byte, o sendOpts) error {
	if o.sign != nil {
		return o.sign(r)
	}
	keyID, key := a.keyID(), a.key
	if o.keyID != "" {
		keyID = o.keyID
	}
	if o.key != nil {
		key = o.key
	}
	if o.headers == nil && o.date.IsZero() {
		return signature.SignRequest(r, body, keyID, key)
	}
	headers := o.headers
	if headers == nil {
		headers = []string{httpsig.RequestTarget, "host", "date", "digest"}
	}
	date := o.date
	if date.IsZero() {
		date = time.Now()
	}
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		return err
	}
	r.Header.Set("Host", r.URL.Host)
	r.Header.Set("Date", date.UTC().Format(http.TimeFormat))
	return signer.SignRequest(key, keyID, r, body)
}

// inboxNode is a test node with its inbox worker running.
type inboxNode struct {
	*testNode
	worker *federation.InboxWorker
}

func newInboxNode(t *testing.T, edit func(*federation.Config)) *inboxNode {
	t.Helper()
	return startInboxWorker(t, newNode(t, edit))
}

// startInboxWorker runs an inbox worker for n until the test ends.
func startInboxWorker(t *testing.T, n *testNode) *inboxNode {
	t.Helper()
	w := &federation.InboxWorker{Server: n.fed, PollInterval: 20 * time.Millisecond, RetryBase: 50 * time.Millisecond, MaxAttempts: 2}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			t.Errorf("inbox worker: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &inboxNode{testNode: n, worker: w}
}

// settle waits until every inbox item is done.
func (n *inboxNode) settle(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if count(t, n.store, "SELECT count(*) FROM inbox_items WHERE done_at IS NULL") == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("inbox items still pending after 15 s")
		}
		n.worker.Notify()
		time.Sleep(10 * time.Millisecond)
	}
}

// lastError is the recorded outcome of the newest inbox item.
func (n *inboxNode) lastError(t testing.TB) string {
	t.Helper()
	var s string
	if err := n.store.DB().NewRaw("SELECT last_error FROM inbox_items ORDER BY id DESC LIMIT 1").Scan(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func count(t testing.TB, s *storage.Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB().NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// startDelivery runs a delivery worker for the node, as `skein serve` does.
func startDelivery(t *testing.T, n *testNode) {
	t.Helper()
	w := &delivery.Worker{Store: n.store, Keys: n.fed.SigningKey, PollInterval: 20 * time.Millisecond,
		Client: transport.New(transport.Options{AllowPrivateNetworks: true, AllowHTTP: true})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// nodeKeyLookup fetches a local actor's key from the node's documents, as
// a remote server verifying the node's POST would.
func nodeKeyLookup(keyID string) (*rsa.PublicKey, error) {
	actor, _, _ := strings.Cut(keyID, "#")
	req, _ := http.NewRequest(http.MethodGet, actor, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var doc struct {
		PublicKey struct {
			ID, PublicKeyPem string
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, err
	}
	if doc.PublicKey.ID != keyID {
		return nil, fmt.Errorf("actor %s publishes key %s", actor, doc.PublicKey.ID)
	}
	return signature.ParsePublicKeyPEM(doc.PublicKey.PublicKeyPem)
}

// waitFor polls cond for up to 15 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
