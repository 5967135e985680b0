package node_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/signature"
	"github.com/skein-forum/skein/storage"
)

// fakeRemote is another fediverse server on loopback: actor documents
// with a key, a personal inbox per actor (and a shared inbox when asked
// for), every POST's signature verified as Mastodon does (the digest, the
// signed headers, the key fetched from the signer's actor document, whose
// owner must be the activity's actor), and a record of what arrived.
type fakeRemote struct {
	t      testing.TB
	srv    *httptest.Server
	host   string
	shared bool
	keys   keyCache

	mu       sync.Mutex
	got      []received
	requests int
	// answer picks the status of the n-th POST (from 1); nil is 202.
	answer func(n int) int
	// delay holds each POST this long before answering.
	delay time.Duration
	// notes are the objects served at GET /users/{name}/statuses/{id},
	// by id (see publish).
	notes map[string]map[string]any
}

// received is one accepted activity.
type received struct {
	Inbox    string // the path it was POSTed to
	Activity map[string]any
}

// fakeActor is one actor of a fakeRemote.
type fakeActor struct {
	r    *fakeRemote
	Name string
	ID   string
}

// remoteKey is shared by every fake actor: RSA generation is slow, and
// the node tells actors apart by key id, not by key.
var remoteKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := signature.GenerateKey()
	if err != nil {
		panic(err)
	}
	return k
})

func newFakeRemote(t testing.TB, shared bool) *fakeRemote {
	t.Helper()
	f := &fakeRemote{t: t, shared: shared}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{name}", f.serveActor)
	mux.HandleFunc("POST /users/{name}/inbox", f.serveInbox)
	mux.HandleFunc("POST /inbox", f.serveInbox)
	mux.HandleFunc("GET /users/{name}/statuses/{id}", f.serveNote)
	f.srv = httptest.NewServer(mux)
	f.host = strings.TrimPrefix(f.srv.URL, "http://")
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRemote) actor(name string) *fakeActor {
	return &fakeActor{r: f, Name: name, ID: f.srv.URL + "/users/" + name}
}

func (a *fakeActor) inbox() string { return a.ID + "/inbox" }

// account is the actor as the node stores it.
func (a *fakeActor) account() *storage.Account {
	id := a.ID
	acc := &storage.Account{Handle: a.Name, Domain: a.r.host, APID: &id, ActorType: "Person",
		Inbox: a.inbox(), PublicKeyID: id + "#main-key", PublicKeyPEM: publicPEM()}
	if a.r.shared {
		acc.SharedInbox = a.r.srv.URL + "/inbox"
	}
	return acc
}

func publicPEM() string {
	pem, err := signature.EncodePublicKeyPEM(&remoteKey().PublicKey)
	if err != nil {
		panic(err)
	}
	return pem
}

func parsePublicKey(pem string) (*rsa.PublicKey, error) { return signature.ParsePublicKeyPEM(pem) }

func (f *fakeRemote) serveActor(w http.ResponseWriter, r *http.Request) {
	a := f.actor(r.PathValue("name"))
	doc := map[string]any{
		"@context":          []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":                a.ID,
		"type":              "Person",
		"preferredUsername": a.Name,
		"name":              "Remote " + a.Name,
		"inbox":             a.inbox(),
		"outbox":            a.ID + "/outbox",
		"followers":         a.ID + "/followers",
		"url":               a.ID,
		"publicKey":         map[string]string{"id": a.ID + "#main-key", "owner": a.ID, "publicKeyPem": publicPEM()},
	}
	if f.shared {
		doc["endpoints"] = map[string]string{"sharedInbox": f.srv.URL + "/inbox"}
	}
	w.Header().Set("Content-Type", "application/activity+json")
	_ = json.NewEncoder(w).Encode(doc)
}

func (f *fakeRemote) serveInbox(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	f.mu.Lock()
	f.requests++
	n, answer, delay := f.requests, f.answer, f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if answer != nil {
		if status := answer(n); status >= 300 {
			w.WriteHeader(status)
			return
		}
	}
	var act map[string]any
	if err := json.Unmarshal(body, &act); err != nil {
		f.t.Errorf("inbox %s: body is not JSON: %v", r.URL.Path, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var owner string
	_, err = signature.Verify(r, body, time.Now(), func(ctx context.Context, keyID string) (*rsa.PublicKey, error) {
		pub, o, err := f.keys.get(ctx, keyID)
		owner = o
		return pub, err
	})
	if err != nil {
		// The node may be down for a moment (a restart): let it retry.
		f.t.Logf("inbox %s: signature: %v", r.URL.Path, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if actor, _ := act["actor"].(string); actor != owner {
		f.t.Errorf("inbox %s: %s signed by %s, not its actor %s", r.URL.Path, act["type"], owner, actor)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if !bytes.Contains(body, []byte(`"@context"`)) {
		f.t.Errorf("inbox %s: activity without @context: %s", r.URL.Path, body)
	}
	f.mu.Lock()
	f.got = append(f.got, received{Inbox: r.URL.Path, Activity: act})
	f.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// received returns what arrived at an actor's inbox (or the shared inbox)
// whose type is typ ("" for any).
func (f *fakeRemote) received(inboxPath, typ string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, g := range f.got {
		if (inboxPath == "" || g.Inbox == inboxPath) && (typ == "" || g.Activity["type"] == typ) {
			out = append(out, g.Activity)
		}
	}
	return out
}

func (a *fakeActor) received(typ string) []map[string]any {
	return a.r.received("/users/"+a.Name+"/inbox", typ)
}

// objectID is the id of an activity's object, embedded or not.
func objectID(act map[string]any) string {
	switch o := act["object"].(type) {
	case string:
		return o
	case map[string]any:
		id, _ := o["id"].(string)
		return id
	}
	return ""
}

// object is an activity's embedded object.
func object(act map[string]any) map[string]any {
	o, _ := act["object"].(map[string]any)
	return o
}

// sign POSTs an activity of this actor to an inbox, signed.
func (a *fakeActor) send(t testing.TB, inbox string, act map[string]any) int {
	t.Helper()
	act["@context"] = "https://www.w3.org/ns/activitystreams"
	act["actor"] = a.ID
	body, _ := json.Marshal(act)
	req, err := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/activity+json")
	if err := signature.SignRequest(req, body, a.ID+"#main-key", remoteKey()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
