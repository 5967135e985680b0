package federation_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation"
	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/federation/signature"
	"github.com/skein-forum/skein/federation/transport"
	"github.com/skein-forum/skein/storage"
)

// fakeRemote is a minimal foreign server: it serves one Person and
// remembers the requests it got.
type fakeRemote struct {
	Srv  *httptest.Server
	key  *rsa.PrivateKey
	id   string // overrides the actor's id when set
	mu   sync.Mutex
	reqs []*http.Request
}

func newFakeRemote(t *testing.T) *fakeRemote {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRemote{key: key}
	f.Srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, r.Clone(context.Background()))
		f.mu.Unlock()
		id := "http://" + r.Host + r.URL.Path
		if f.id != "" {
			id = f.id
		}
		der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		w.Header().Set("Content-Type", "application/activity+json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"@context":          []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
			"id":                id,
			"type":              "Person",
			"preferredUsername": "zed",
			"name":              "Zed: the remote one",
			"summary":           "<p>Hello <script>alert(1)</script>there</p>",
			"inbox":             id + "/inbox",
			"followers":         id + "/followers",
			"endpoints":         map[string]any{"sharedInbox": "http://" + r.Host + "/inbox"},
			"publicKey": map[string]any{"id": id + "#main-key", "owner": id,
				"publicKeyPem": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
		})
	}))
	t.Cleanup(f.Srv.Close)
	return f
}

func (f *fakeRemote) last(t *testing.T) *http.Request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("the remote got no request")
	}
	return f.reqs[len(f.reqs)-1]
}

// verifyIndependently checks a draft-cavage signature with nothing but
// the standard library: parse the header, rebuild the signing string from
// its headers list, and verify RSA-SHA256 against the public key.
func verifyIndependently(t *testing.T, r *http.Request, pub *rsa.PublicKey) (keyID, headers string) {
	t.Helper()
	params := map[string]string{}
	for _, part := range strings.Split(r.Header.Get("Signature"), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			t.Fatalf("bad Signature part %q", part)
		}
		params[k] = strings.Trim(v, `"`)
	}
	var lines []string
	for _, h := range strings.Fields(params["headers"]) {
		switch h {
		case "(request-target)":
			lines = append(lines, "(request-target): "+strings.ToLower(r.Method)+" "+r.URL.RequestURI())
		case "host":
			lines = append(lines, "host: "+r.Host)
		default:
			lines = append(lines, h+": "+r.Header.Get(h))
		}
	}
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("signature does not verify over %q: %v", strings.Join(lines, "\n"), err)
	}
	return params["keyId"], params["headers"]
}

func instancePublicKey(t *testing.T, n *testnode.Node) *rsa.PublicKey {
	t.Helper()
	m := n.Doc(n.URLs.InstanceActor(), http.StatusOK)
	block, _ := pem.Decode([]byte(str(m, "publicKey", "publicKeyPem")))
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub.(*rsa.PublicKey)
}

// Every outbound fetch is signed by the instance actor over
// (request-target) host date, checked here without the signing library.
func TestSignedFetch(t *testing.T) {
	n := testnode.New(t, nil)
	remote := newFakeRemote(t)
	id := remote.Srv.URL + "/users/zed"
	acc, err := n.Fed.ResolveActor(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	r := remote.last(t)
	if !strings.Contains(r.Header.Get("Accept"), "application/activity+json") {
		t.Errorf("Accept = %q", r.Header.Get("Accept"))
	}
	keyID, headers := verifyIndependently(t, r, instancePublicKey(t, n))
	if keyID != n.URLs.InstanceActor()+"#main-key" || headers != "(request-target) host date" {
		t.Errorf("keyId %q, headers %q", keyID, headers)
	}

	// What was stored.
	host := strings.TrimPrefix(remote.Srv.URL, "http://")
	if acc.Handle != "zed" || acc.Domain != host || *acc.APID != id || acc.Inbox != id+"/inbox" ||
		acc.SharedInbox != remote.Srv.URL+"/inbox" || acc.PublicKeyID != id+"#main-key" || acc.ActorType != "Person" {
		t.Errorf("stored actor = %+v", acc)
	}
	if acc.DisplayName != "Zed: the remote one" || strings.Contains(acc.Bio, "script") || !strings.Contains(acc.Bio, "Hello") {
		t.Errorf("name %q, bio %q", acc.DisplayName, acc.Bio)
	}
	// A second resolve is served from the database.
	before := len(remote.reqs)
	if _, err := n.Fed.ResolveActor(context.Background(), id); err != nil || len(remote.reqs) != before {
		t.Errorf("second resolve fetched again (%d requests): %v", len(remote.reqs)-before, err)
	}
	if _, err := n.Fed.RefreshActor(context.Background(), id); err != nil || len(remote.reqs) != before+1 {
		t.Errorf("refresh did not fetch: %v", err)
	}

	// A document claiming an id on another host is refused.
	remote.id = "https://elsewhere.example/users/zed"
	if _, err := n.Fed.RefreshActor(context.Background(), remote.Srv.URL+"/users/liar"); !errors.Is(err, federation.ErrHostMismatch) {
		t.Errorf("foreign id: %v, want ErrHostMismatch", err)
	}
}

// The outbound guard refuses loopback and private addresses, also behind
// a DNS name, unless private networks are allowed, and http:// unless
// allowed. Refused dials never leave the machine: the guard runs before
// connect.
func TestSSRFGuard(t *testing.T) {
	remote := newFakeRemote(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(remote.Srv.URL, "http://"))
	strict := testnode.New(t, func(c *federation.Config) { c.AllowPrivateNetworks = false })
	for _, u := range []string{
		"http://127.0.0.1:" + port + "/users/zed",
		"http://10.0.0.1:" + port + "/users/zed",
		"http://10.255.255.254/users/zed",
		"http://[::1]:" + port + "/users/zed",
		"http://localhost:" + port + "/users/zed",
	} {
		_, err := strict.Fed.ResolveActor(context.Background(), u)
		if !errors.Is(err, transport.ErrBlockedAddress) {
			t.Errorf("ResolveActor(%s) = %v, want ErrBlockedAddress", u, err)
		}
	}
	if _, err := strict.Fed.ResolveHandle(context.Background(), "zed@localhost:"+port); err == nil {
		t.Errorf("WebFinger to localhost was not refused")
	}
	noHTTP := testnode.New(t, func(c *federation.Config) { c.AllowHTTP = false })
	if _, err := noHTTP.Fed.ResolveActor(context.Background(), remote.Srv.URL+"/users/zed"); !errors.Is(err, transport.ErrInsecureScheme) {
		t.Errorf("http:// peer: %v, want ErrInsecureScheme", err)
	}
	// Allowed, the same loopback address works.
	open := testnode.New(t, nil)
	if _, err := open.Fed.ResolveActor(context.Background(), "http://localhost:"+port+"/users/zed"); err != nil {
		t.Errorf("allowed private network: %v", err)
	}
}

// signedGet sends a GET signed by the key under keyID.
func signedGet(t *testing.T, url, keyID string, key *rsa.PrivateKey) int {
	t.Helper()
	code, _ := signedGetHeader(t, url, keyID, key)
	return code
}

// signedGetHeader is signedGet with the answer's header.
func signedGetHeader(t *testing.T, url, keyID string, key *rsa.PrivateKey) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", testnode.APAccept)
	if key != nil {
		if err := signature.SignRequest(req, nil, keyID, key); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// Under authorized fetch, a GoToSocial-style stranger (a key stub at its
// path-style key id) reads a thread on first contact; a stranger whose
// server cannot serve its key right now is told to come back later, not
// refused.
func TestAuthorizedFetchStranger(t *testing.T) {
	b := testnode.New(t, func(c *federation.Config) { c.AuthorizedFetch = true })
	rs := testnode.NewRemoteServer(t, "gotosocial")
	yan := rs.Actor("yan", "Person", 1)
	thread := b.URLs.Thread(b.Fx.Thread.ID)
	if got := signedGet(t, thread, yan.KeyID(), yan.Key); got != http.StatusOK {
		t.Errorf("a stranger's signed GET: %d, want 200", got)
	}
	zoe := rs.Actor("zoe", "Person", 2)
	rs.Fail("/users/zoe/main-key", http.StatusServiceUnavailable)
	if got, h := signedGetHeader(t, thread, zoe.KeyID(), zoe.Key); got != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Errorf("a stranger whose key cannot be fetched: %d, Retry-After %q; want 503 with Retry-After", got, h.Get("Retry-After"))
	}
	ann := rs.Actor("ann", "Person", 3)
	rs.Fail("/users/ann/main-key", http.StatusNotFound)
	if got := signedGet(t, thread, ann.KeyID(), ann.Key); got != http.StatusUnauthorized {
		t.Errorf("a stranger without a key: %d, want 401", got)
	}
}

func TestAuthorizedFetch(t *testing.T) {
	ctx := context.Background()
	var blockA bool
	var aHost string
	var skew atomic.Int64 // how far B's clock runs ahead
	b := testnode.New(t, func(c *federation.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		c.AuthorizedFetch = true
		c.BlockedDomain = func(host string) bool { return blockA && host == aHost }
	})
	a := testnode.New(t, nil)
	aHost = a.URLs.Host()
	keyID, key, err := a.Fed.SigningKey(ctx, storage.KeyOwnerInstance, 0)
	if err != nil {
		t.Fatal(err)
	}
	protected := []string{
		b.URLs.Member("alice"), b.URLs.Forum("kitchen"), b.URLs.Thread(b.Fx.Thread.ID), b.URLs.Post(b.Fx.Posts[0].ID),
		b.URLs.ThreadPosts(b.Fx.Thread.ID), b.URLs.ThreadPosts(b.Fx.Thread.ID) + "?page=true&from=1",
		b.URLs.ForumThreads("kitchen"), b.URLs.Member("alice") + "/followers", b.URLs.PostReplies(b.Fx.Posts[0].ID),
	}
	for _, u := range protected {
		if got := signedGet(t, u, "", nil); got != http.StatusUnauthorized {
			t.Errorf("unsigned GET %s: %d, want 401", u, got)
		}
		if got := signedGet(t, u, keyID, key); got != http.StatusOK {
			t.Errorf("signed GET %s: %d, want 200", u, got)
		}
	}
	// Bootstrapping stays public.
	for _, u := range []string{
		b.URLs.InstanceActor(), b.URLs.Base() + "/.well-known/nodeinfo", b.URLs.Base() + "/nodeinfo/2.1",
		b.URLs.Base() + "/.well-known/webfinger?resource=acct:alice@" + b.URLs.Host(), b.URLs.Base() + "/.well-known/host-meta",
	} {
		if got := signedGet(t, u, "", nil); got != http.StatusOK {
			t.Errorf("unsigned GET %s: %d, want 200", u, got)
		}
	}
	// A wrong key for a real key id fails even after refetching the actor.
	wrong, _ := rsa.GenerateKey(rand.Reader, 2048)
	if got := signedGet(t, protected[0], keyID, wrong); got != http.StatusUnauthorized {
		t.Errorf("wrong key: %d, want 401", got)
	}
	// A member's key works as well as the instance's.
	mKeyID, mKey, err := a.Fed.SigningKey(ctx, storage.KeyOwnerMember, a.Fx.Bob.ID)
	if err != nil || mKeyID != a.URLs.Member("bob")+"#main-key" {
		t.Fatalf("member key %q: %v", mKeyID, err)
	}
	if got := signedGet(t, protected[0], mKeyID, mKey); got != http.StatusOK {
		t.Errorf("signed by a member: %d, want 200", got)
	}
	// A rotates its instance key: B's cached key fails, B fetches A's
	// actor again and accepts the new signature.
	if _, err := a.Store.DB().NewDelete().Model((*storage.ActorKey)(nil)).
		Where("owner_kind = ?", storage.KeyOwnerInstance).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	a.Restart()
	newKeyID, newKey, err := a.Fed.SigningKey(ctx, storage.KeyOwnerInstance, 0)
	if err != nil || newKeyID != keyID || newKey.Equal(key) {
		t.Fatalf("rotated key: %q, same key %v, %v", newKeyID, newKey.Equal(key), err)
	}
	// B fetched A's actor for the wrong key just above and will not fetch
	// it again within federation.KeyRefetchGap, or bad signatures could
	// make it hammer anyone; once that has passed it does.
	if got := signedGet(t, protected[0], keyID, newKey); got != http.StatusUnauthorized {
		t.Errorf("rotated key right after a refetch: %d, want 401", got)
	}
	skew.Store(int64(2 * time.Minute))
	if got := signedGet(t, protected[0], keyID, newKey); got != http.StatusOK {
		t.Errorf("after key rotation: %d, want 200", got)
	}
	key = newKey

	// A blocked server's signature counts for nothing.
	blockA = true
	if got := signedGet(t, protected[0], keyID, key); got != http.StatusUnauthorized {
		t.Errorf("blocked signer: %d, want 401", got)
	}
}

// Two nodes on loopback: A finds B's thread by its web address, B's member
// by @handle@host:port, and B's forum by WebFinger, and stores all three.
func TestTwoNodes(t *testing.T) {
	ctx := context.Background()
	a := testnode.New(t, nil)
	b := testnode.New(t, func(c *federation.Config) { c.AuthorizedFetch = true })

	thread, err := a.Fed.ResolveURL(ctx, b.URLs.Thread(b.Fx.Thread.ID))
	if err != nil {
		t.Fatal(err)
	}
	if thread.ActorType != "Group" || thread.Handle != b.Fx.Thread.Handle() || thread.DisplayName != b.Fx.Thread.Title ||
		thread.Domain != b.URLs.Host() || *thread.APID != b.URLs.Thread(b.Fx.Thread.ID) {
		t.Errorf("thread actor = %+v", thread)
	}

	member, err := a.Fed.ResolveHandle(ctx, "@alice@"+b.URLs.Host())
	if err != nil {
		t.Fatal(err)
	}
	if member.ActorType != "Person" || member.Handle != "alice" || member.DisplayName != "Alice Liddell" ||
		member.SharedInbox != b.URLs.SharedInbox() || member.Inbox != b.URLs.Member("alice")+"/inbox" {
		t.Errorf("member = %+v", member)
	}

	forum, err := a.Fed.ResolveHandle(ctx, "kitchen@"+b.URLs.Host())
	if err != nil {
		t.Fatal(err)
	}
	if forum.ActorType != "Group" || *forum.APID != b.URLs.Forum("kitchen") || forum.DisplayName != "The Kitchen" {
		t.Errorf("forum = %+v", forum)
	}

	for _, acc := range []*storage.Account{thread, member, forum} {
		stored, err := a.Store.AccountByAPID(ctx, *acc.APID)
		if err != nil || stored.IsLocal() || stored.PublicKeyPEM == "" || stored.PublicKeyID != *acc.APID+"#main-key" {
			t.Errorf("stored %s: %+v, %v", *acc.APID, stored, err)
		}
	}
	// B, in secure mode, fetched A's instance actor to check the fetches.
	if _, err := b.Store.AccountByAPID(ctx, a.URLs.InstanceActor()); err != nil {
		t.Errorf("B does not know A's instance actor: %v", err)
	}
}
