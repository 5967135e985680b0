package testnode

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
	"github.com/skein-forum/skein/federation/inbox"
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

// TestKey returns one of a few RSA keys made once per test binary:
// generating a key per actor would cost most of the suite's time.
func TestKey(t testing.TB, i int) *rsa.PrivateKey {
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

// RemoteServer is a foreign server.
type RemoteServer struct {
	t      testing.TB
	Srv    *httptest.Server
	Style  string // "mastodon" or "gotosocial"
	mu     sync.Mutex
	actors map[string]*RemoteActor
	docs   map[string]any // path -> document served as activity+json
	fail   map[string]int // path -> status every GET of it gets
	gets   map[string]int // path -> GETs received
	got    []ReceivedPost
	// VerifyKey finds the public key of a keyId that signed a POST here.
	VerifyKey func(keyID string) (*rsa.PublicKey, error)
}

// RemoteActor is an actor of a RemoteServer, signing with Key.
type RemoteActor struct {
	Name  string
	Type  string
	Key   *rsa.PrivateKey
	Srv   *RemoteServer
	Title string // display name
}

// ReceivedPost is one POST a RemoteServer received, with the outcome of
// verifying its signature when VerifyKey is set.
type ReceivedPost struct {
	Path     string
	Body     map[string]any
	Verified error
}

// NewRemoteServer starts a remote server of the style "mastodon" or
// "gotosocial"; it stops when the test ends.
func NewRemoteServer(t testing.TB, style string) *RemoteServer {
	t.Helper()
	rs := &RemoteServer{t: t, Style: style, actors: map[string]*RemoteActor{}, docs: map[string]any{},
		fail: map[string]int{}, gets: map[string]int{}}
	rs.Srv = httptest.NewServer(http.HandlerFunc(rs.serve))
	t.Cleanup(rs.Srv.Close)
	return rs
}

// Host is the server's host and port.
func (rs *RemoteServer) Host() string { return strings.TrimPrefix(rs.Srv.URL, "http://") }

// actor adds an actor of type typ ("Person", "Group") signing with key i.
func (rs *RemoteServer) Actor(name, typ string, key int) *RemoteActor {
	a := &RemoteActor{Name: name, Type: typ, Key: TestKey(rs.t, key), Srv: rs, Title: strings.ToUpper(name[:1]) + name[1:] + ": a remote " + strings.ToLower(typ)}
	rs.mu.Lock()
	rs.actors[name] = a
	rs.mu.Unlock()
	return a
}

// ID is the actor's id; Inbox and KeyID follow from it.
func (a *RemoteActor) ID() string    { return a.Srv.Srv.URL + "/users/" + a.Name }
func (a *RemoteActor) Inbox() string { return a.ID() + "/inbox" }
func (a *RemoteActor) KeyID() string {
	if a.Srv.Style == "gotosocial" {
		return a.ID() + "/main-key"
	}
	return a.ID() + "#main-key"
}

// put serves doc at path.
func (rs *RemoteServer) Put(path string, doc any) {
	rs.mu.Lock()
	rs.docs[path] = doc
	rs.mu.Unlock()
}

// Fail makes every GET of path answer status; 0 serves it again.
func (rs *RemoteServer) Fail(path string, status int) {
	rs.mu.Lock()
	rs.fail[path] = status
	rs.mu.Unlock()
}

// Gets is how many GETs of path the server received.
func (rs *RemoteServer) Gets(path string) int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.gets[path]
}

// Posts are the POSTs the server received so far.
func (rs *RemoteServer) Posts() []ReceivedPost {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]ReceivedPost(nil), rs.got...)
}

func (rs *RemoteServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		var verr error
		if rs.VerifyKey != nil {
			_, verr = signature.Verify(r, body, time.Now(), func(_ context.Context, keyID string) (*rsa.PublicKey, error) {
				return rs.VerifyKey(keyID)
			})
		}
		rs.mu.Lock()
		rs.got = append(rs.got, ReceivedPost{Path: r.URL.Path, Body: m, Verified: verr})
		rs.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	rs.mu.Lock()
	rs.gets[r.URL.Path]++
	status := rs.fail[r.URL.Path]
	doc, ok := rs.docs[r.URL.Path]
	name, _ := strings.CutPrefix(r.URL.Path, "/users/")
	name, keyPath := strings.CutSuffix(name, "/main-key")
	a := rs.actors[name]
	rs.mu.Unlock()
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if !ok && a != nil {
		doc = a.Document()
		if keyPath {
			doc = a.KeyStub()
		}
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
func (a *RemoteActor) Document() map[string]any {
	der, _ := x509.MarshalPKIXPublicKey(&a.Key.PublicKey)
	id := a.ID()
	doc := map[string]any{
		"@context": []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1",
			map[string]any{"manuallyApprovesFollowers": "as:manuallyApprovesFollowers", "toot": "http://joinmastodon.org/ns#",
				"featured": map[string]any{"@id": "toot:featured", "@type": "@id"}, "discoverable": "toot:discoverable",
				"PropertyValue": "schema:PropertyValue", "schema": "http://schema.org#", "value": "schema:value"}},
		"id": id, "type": a.Type, "preferredUsername": a.Name, "name": a.Title,
		"summary": "<p>Bakes bread.</p>", "url": a.Srv.Srv.URL + "/@" + a.Name,
		"inbox": a.Inbox(), "outbox": id + "/outbox", "followers": id + "/followers", "following": id + "/following",
		"manuallyApprovesFollowers": false, "discoverable": true, "published": "2023-04-01T00:00:00Z",
		"attachment": []any{map[string]any{"type": "PropertyValue", "name": "Site", "value": "<a href=\"https://example.com\">example.com</a>"}},
		"endpoints":  map[string]any{"sharedInbox": a.Srv.Srv.URL + "/inbox"},
		"publicKey": map[string]any{"id": a.KeyID(), "owner": id,
			"publicKeyPem": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
	}
	if a.Srv.Style == "gotosocial" {
		doc["@context"] = []any{"https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams"}
		delete(doc, "attachment")
	}
	return doc
}

// KeyStub is what a GoToSocial-style server serves at a key id: the
// owner's id, type and name and its key, but no inbox.
func (a *RemoteActor) KeyStub() map[string]any {
	doc := a.Document()
	stub := map[string]any{}
	for _, k := range []string{"@context", "id", "type", "preferredUsername", "publicKey"} {
		stub[k] = doc[k]
	}
	return stub
}

// SendOpts changes how post signs and sends.
type SendOpts struct {
	ContentType string
	Headers     []string                    // signed headers; default (request-target) host date digest
	Date        time.Time                   // Date header; default now
	KeyID       string                      // default the actor's
	Key         *rsa.PrivateKey             // default the actor's
	After       func(r *http.Request)       // runs after signing
	Unsigned    bool                        // no Signature at all
	Body        func(b []byte) []byte       // replaces the body after signing
	RawBody     []byte                      // sent instead of the marshalled activity
	Sign        func(r *http.Request) error // replaces signing altogether
	Answer      *http.Header                // receives the answer's header
}

// post signs an activity as a and POSTs it to url; it returns the status
// and the reason the node gave.
func (a *RemoteActor) Post(t testing.TB, url string, activity any, o SendOpts) (int, string) {
	t.Helper()
	body := o.RawBody
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
	ct := o.ContentType
	if ct == "" {
		ct = "application/activity+json"
		if a.Srv.Style == "mastodon" {
			ct = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
		}
	}
	req.Header.Set("Content-Type", ct)
	if !o.Unsigned {
		if err := a.sign(req, body, o); err != nil {
			t.Fatal(err)
		}
	}
	if o.Body != nil {
		b := o.Body(body)
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	}
	if o.After != nil {
		o.After(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if o.Answer != nil {
		*o.Answer = resp.Header
	}
	reason, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(reason))
}

// sign signs like Mastodon: hs2019 over (request-target) host date
// digest, unless o asks otherwise.
func (a *RemoteActor) sign(r *http.Request, body []byte, o SendOpts) error {
	if o.Sign != nil {
		return o.Sign(r)
	}
	keyID, key := a.KeyID(), a.Key
	if o.KeyID != "" {
		keyID = o.KeyID
	}
	if o.Key != nil {
		key = o.Key
	}
	if o.Headers == nil && o.Date.IsZero() {
		return signature.SignRequest(r, body, keyID, key)
	}
	headers := o.Headers
	if headers == nil {
		headers = []string{httpsig.RequestTarget, "host", "date", "digest"}
	}
	date := o.Date
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

// InboxNode is a test node with its inbox worker running.
type InboxNode struct {
	*Node
	Worker *inbox.Worker
}

// NewInboxNode starts a node (see New) and its inbox worker.
func NewInboxNode(t *testing.T, edit func(*federation.Config)) *InboxNode {
	t.Helper()
	return StartInboxWorker(t, New(t, edit))
}

// StartInboxWorker runs an inbox worker for n until the test ends.
func StartInboxWorker(t *testing.T, n *Node) *InboxNode {
	t.Helper()
	w := &inbox.Worker{Inbox: n.Inbox, PollInterval: 20 * time.Millisecond, RetryBase: 50 * time.Millisecond, MaxAttempts: 2}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			t.Errorf("inbox worker: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &InboxNode{Node: n, Worker: w}
}

// settle waits until every inbox item is done.
func (n *InboxNode) Settle(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if Count(t, n.Store, "SELECT Count(*) FROM inbox_items WHERE done_at IS NULL") == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("inbox items still pending after 15 s")
		}
		n.Worker.Notify()
		time.Sleep(10 * time.Millisecond)
	}
}

// lastError is the recorded outcome of the newest inbox item.
func (n *InboxNode) LastError(t testing.TB) string {
	t.Helper()
	var s string
	if err := n.Store.DB().NewRaw("SELECT last_error FROM inbox_items ORDER BY id DESC LIMIT 1").Scan(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Count runs a COUNT query.
func Count(t testing.TB, s *storage.Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB().NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// StartDelivery runs a delivery worker for the node, as `skein serve` does.
func StartDelivery(t *testing.T, n *Node) {
	t.Helper()
	w := &delivery.Worker{Store: n.Store, Keys: n.Fed.SigningKey, PollInterval: 20 * time.Millisecond,
		Client: transport.New(transport.Options{AllowPrivateNetworks: true, AllowHTTP: true})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// NodeKeyLookup fetches a local actor's key from the node's documents, as
// a remote server verifying the node's POST would.
func NodeKeyLookup(keyID string) (*rsa.PublicKey, error) {
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

// WaitFor polls cond for up to 15 s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Deliver posts act as a to the node's shared inbox, expects 202 and
// waits until the worker applied it.
func (n *InboxNode) Deliver(t *testing.T, a *RemoteActor, act map[string]any) {
	t.Helper()
	if code, reason := a.Post(t, n.URLs.SharedInbox(), act, SendOpts{}); code != http.StatusAccepted {
		t.Fatalf("%s: status %d (%s)", act["type"], code, reason)
	}
	n.Settle(t)
}

// StoredPost is the post stored with ActivityPub id apID.
func (n *InboxNode) StoredPost(t *testing.T, apID string) *storage.Post {
	t.Helper()
	p, err := n.Store.PostByAPID(context.Background(), apID)
	if err != nil {
		t.Fatalf("post %s: %v", apID, err)
	}
	return p
}
