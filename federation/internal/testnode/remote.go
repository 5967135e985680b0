package testnode

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fed/httpsig"

	"github.com/skein-forum/skein/federation"
	"github.com/skein-forum/skein/federation/delivery"
	"github.com/skein-forum/skein/federation/fedtest"
	"github.com/skein-forum/skein/federation/inbox"
	"github.com/skein-forum/skein/federation/signature"
	"github.com/skein-forum/skein/federation/transport"
	"github.com/skein-forum/skein/internal/poll"
	"github.com/skein-forum/skein/storage"
)

// The inbox rig: remote servers are [fedtest] servers in Mastodon's or
// GoToSocial's style, serving their actors' documents, verifying what the
// node posts to them as real inboxes do and recording it. On top, a test
// may serve any document at any path, give an actor a key of its own,
// and post activities signed with every knob a forger has.

// TestKey returns one of the keys of fedtest's pool, made once per test
// binary: generating a key per actor would cost most of the suite's time.
func TestKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	return fedtest.Key(i)
}

// RemoteServer is a foreign server.
type RemoteServer struct {
	t     testing.TB
	Srv   *fedtest.Server
	Style string // "mastodon" or "gotosocial"
	mu    sync.Mutex
	docs  map[string]any // what Put serves, by path
}

// RemoteActor is an actor of a RemoteServer, signing with its Key.
type RemoteActor struct {
	*fedtest.Actor
	Srv   *RemoteServer
	Title string // display name, as its document shows it
}

// ReceivedPost is one POST a RemoteServer received, with the outcome of
// verifying its signature (nil when it verified).
type ReceivedPost struct {
	Path     string
	Body     map[string]any
	Verified error
}

// NewRemoteServer starts a remote server of the style "mastodon" or
// "gotosocial"; it stops when the test ends.
func NewRemoteServer(t testing.TB, style string) *RemoteServer {
	t.Helper()
	st := fedtest.Mastodon
	if style == "gotosocial" {
		st = fedtest.GoToSocial
	}
	return &RemoteServer{t: t, Srv: fedtest.New(t, st), Style: style, docs: map[string]any{}}
}

// Host is the server's host and port.
func (rs *RemoteServer) Host() string { return rs.Srv.Host }

// Actor adds an actor of type typ ("Person", "Group") signing with key i
// of the pool.
func (rs *RemoteServer) Actor(name, typ string, key int) *RemoteActor {
	fa := rs.Srv.Actor(name)
	if typ == "Group" {
		fa = rs.Srv.Group(name)
	}
	fa.Key = TestKey(rs.t, key)
	title, _ := fa.Document()["name"].(string)
	return &RemoteActor{Actor: fa, Srv: rs, Title: title}
}

func writeDocument(w http.ResponseWriter, doc any) {
	w.Header().Set("Content-Type", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`)
	_ = json.NewEncoder(w).Encode(doc)
}

// ID is the actor's id.
func (a *RemoteActor) ID() string { return a.Actor.ID }

// Put serves doc at path, to signed and unsigned GETs alike.
func (rs *RemoteServer) Put(path string, doc any) {
	rs.mu.Lock()
	rs.docs[path] = doc
	rs.mu.Unlock()
	rs.Srv.Handle(path, func(w http.ResponseWriter, r *http.Request) { writeDocument(w, doc) })
}

// Fail makes every request for path answer status; 0 serves it again.
func (rs *RemoteServer) Fail(path string, status int) {
	if status != 0 {
		rs.Srv.Handle(path, func(w http.ResponseWriter, r *http.Request) { http.Error(w, http.StatusText(status), status) })
		return
	}
	rs.mu.Lock()
	doc, put := rs.docs[path]
	rs.mu.Unlock()
	if put {
		rs.Put(path, doc)
		return
	}
	rs.Srv.Handle(path, nil)
}

// Gets is how many GETs of path the server received.
func (rs *RemoteServer) Gets(path string) int {
	n := 0
	for _, r := range rs.Srv.Requests() {
		if r.Method == http.MethodGet && r.Path == path {
			n++
		}
	}
	return n
}

// Serve serves doc at the path of its id, which is on this server.
func (rs *RemoteServer) Serve(doc map[string]any) {
	id, _ := doc["id"].(string)
	rs.Put(strings.TrimPrefix(id, rs.Srv.URL), doc)
}

// Posts are the POSTs the server's inboxes received so far.
func (rs *RemoteServer) Posts() []ReceivedPost {
	var out []ReceivedPost
	for _, d := range rs.Srv.Deliveries() {
		out = append(out, ReceivedPost{Path: d.Inbox, Body: d.Activity, Verified: d.Err})
	}
	return out
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

// Post signs an activity as a and POSTs it to url; it returns the status
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

// sign signs as go-fed does (hs2019 over (request-target) host date
// digest), with what o changes.
func (a *RemoteActor) sign(r *http.Request, body []byte, o SendOpts) error {
	if o.Sign != nil {
		return o.Sign(r)
	}
	sg := fedtest.Signing{KeyID: a.KeyID(), Key: a.Key, Headers: o.Headers, Date: o.Date}
	if o.KeyID != "" {
		sg.KeyID = o.KeyID
	}
	if o.Key != nil {
		sg.Key = o.Key
	}
	if sg.Headers == nil {
		sg.Headers = []string{httpsig.RequestTarget, "host", "date", "digest"}
	}
	return fedtest.Sign(r, body, sg)
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
	poll.Until(t, what, 15*time.Second, cond)
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
