package inbox_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation"
	"github.com/skein-forum/skein/federation/inbox"
	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/federation/signature"
)

// First contact with a GoToSocial-style signer: its key id serves a key
// stub, and the node takes the key from the stub's owner, which must
// publish that very key under that id. Concurrent first requests share
// one fetch of each document.
func TestInboxFirstContactKeyStub(t *testing.T) {
	n := testnode.New(t, nil)
	rs := testnode.NewRemoteServer(t, "gotosocial")
	yan := rs.Actor("yan", "Person", 1)
	reply := n.URLs.Post(n.Fx.Posts[0].ID)

	var wg sync.WaitGroup
	codes := make([]int, 6)
	for i := range codes {
		wg.Go(func() {
			codes[i], _ = yan.Post(t, n.URLs.SharedInbox(), yan.Create(yan.Note(reply, "<p>First time here.</p>")), testnode.SendOpts{})
		})
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusAccepted {
			t.Errorf("request %d: status %d, want 202", i, code)
		}
	}
	if stub, actor := rs.Gets("/users/yan/main-key"), rs.Gets("/users/yan"); stub != 1 || actor != 1 {
		t.Errorf("fetched the key stub %d times and the actor %d times, want once each", stub, actor)
	}
}

// A key stub is not taken at its word: an owner that publishes another
// key, or no key under that id, or an owner on another host, refuses the
// signature.
func TestInboxKeyStubOwnerMustPublishIt(t *testing.T) {
	n := testnode.New(t, nil)
	reply := n.URLs.Post(n.Fx.Posts[0].ID)
	elsewhere := testnode.NewRemoteServer(t, "gotosocial").Actor("real", "Person", 4)
	for _, c := range []struct {
		name string
		stub func(a *testnode.RemoteActor) map[string]any
	}{
		{"another key in the owner's document", func(a *testnode.RemoteActor) map[string]any {
			// The stub shows a key the signer holds; the owner's
			// document shows its real one.
			stub := a.KeyStub()
			forged := testnode.NewRemoteServer(t, "gotosocial").Actor(a.Name, "Person", 3).KeyStub()
			stub["publicKey"] = map[string]any{"id": a.KeyID(), "owner": a.ID(), "publicKeyPem": forged["publicKey"].(map[string]any)["publicKeyPem"]}
			return stub
		}},
		{"owner on another host", func(a *testnode.RemoteActor) map[string]any {
			stub := elsewhere.KeyStub()
			stub["publicKey"].(map[string]any)["id"] = a.KeyID()
			return stub
		}},
		{"owner publishing another key id", func(a *testnode.RemoteActor) map[string]any {
			stub := a.KeyStub()
			stub["publicKey"].(map[string]any)["owner"] = a.Srv.Srv.URL + "/users/other"
			return stub
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rs := testnode.NewRemoteServer(t, "gotosocial")
			a := rs.Actor("yan", "Person", 1)
			rs.Actor("other", "Person", 2)
			rs.Put("/users/yan/main-key", c.stub(a))
			signer := a.Key
			if c.name == "another key in the owner's document" {
				signer = testnode.TestKey(t, 3)
			}
			code, reason := a.Post(t, n.URLs.SharedInbox(), a.Create(a.Note(reply, "<p>Trust me.</p>")), testnode.SendOpts{Key: signer})
			if code != http.StatusUnauthorized {
				t.Fatalf("status %d (%s), want 401", code, reason)
			}
		})
	}
	if got := testnode.Count(t, n.Store, "SELECT count(*) FROM inbox_items"); got != 0 {
		t.Fatalf("%d inbox items stored", got)
	}
}

// A key that cannot be fetched for now (a 5xx, a server that is down)
// is answered 503 with Retry-After, so the sender tries again; one that
// does not exist, 401. Either failure is remembered for a while: a burst
// of requests costs one fetch.
func TestInboxKeyFetchFailures(t *testing.T) {
	n := testnode.New(t, nil)
	reply := n.URLs.Post(n.Fx.Posts[0].ID)
	down := testnode.NewRemoteServer(t, "mastodon")
	gone := down.Actor("gone", "Person", 2)
	down.Srv.Close()
	for _, c := range []struct {
		name   string
		status int // what the key's server answers; 0 for a server that is down
		want   int
	}{
		{"server error", http.StatusInternalServerError, http.StatusServiceUnavailable},
		{"bad gateway", http.StatusBadGateway, http.StatusServiceUnavailable},
		{"too many requests", http.StatusTooManyRequests, http.StatusServiceUnavailable},
		{"not found", http.StatusNotFound, http.StatusUnauthorized},
		{"gone", http.StatusGone, http.StatusUnauthorized},
		{"server down", 0, http.StatusServiceUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := gone
			if c.status != 0 {
				rs := testnode.NewRemoteServer(t, "gotosocial")
				a = rs.Actor("yan", "Person", 1)
				rs.Fail("/users/yan/main-key", c.status)
			}
			for range 3 {
				var answer http.Header
				code, reason := a.Post(t, n.URLs.SharedInbox(), a.Activity("Like", reply), testnode.SendOpts{Answer: &answer})
				if code != c.want {
					t.Fatalf("status %d (%s), want %d", code, reason, c.want)
				}
				if retry := answer.Get("Retry-After"); (code == http.StatusServiceUnavailable) != (retry != "") {
					t.Errorf("status %d with Retry-After %q", code, retry)
				}
			}
			if c.status != 0 {
				if got := a.Srv.Gets("/users/yan/main-key"); got != 1 {
					t.Errorf("the key was fetched %d times for 3 requests, want once", got)
				}
			}
		})
	}
}

// A signer's key on another host than the activity's actor is refused
// before anything is fetched from that host.
func TestInboxKeyOnAnotherHost(t *testing.T) {
	n := testnode.New(t, nil)
	zed := testnode.NewRemoteServer(t, "mastodon").Actor("zed", "Person", 0)
	other := testnode.NewRemoteServer(t, "mastodon").Actor("other", "Person", 1)
	code, reason := zed.Post(t, n.URLs.SharedInbox(), zed.Activity("Like", n.URLs.Post(n.Fx.Posts[0].ID)),
		testnode.SendOpts{KeyID: other.KeyID(), Key: other.Key})
	if code != http.StatusUnauthorized {
		t.Fatalf("status %d (%s), want 401", code, reason)
	}
	if got := other.Srv.Gets("/users/other"); got != 0 {
		t.Errorf("the node fetched the other host's actor %d times", got)
	}
}

// A signer whose key changed is fetched again at once, and then
// verifies. Such refetches happen at most once per interval, however many
// bad signatures arrive; and before fetching, the node reads the database
// again, where another process may have stored the rotated key already.
func TestInboxKeyRotation(t *testing.T) {
	n := testnode.New(t, nil)
	rs := testnode.NewRemoteServer(t, "mastodon")
	zed := rs.Actor("zed", "Person", 0)
	like := func() map[string]any { return zed.Activity("Like", n.URLs.Post(n.Fx.Posts[0].ID)) }
	if code, reason := zed.Post(t, n.URLs.SharedInbox(), like(), testnode.SendOpts{}); code != http.StatusAccepted {
		t.Fatalf("status %d (%s)", code, reason)
	}
	// Rotated a moment after the node stored the old key.
	zed.Key = testnode.TestKey(t, 1)
	before := rs.Gets("/users/zed")
	if code, reason := zed.Post(t, n.URLs.SharedInbox(), like(), testnode.SendOpts{}); code != http.StatusAccepted {
		t.Fatalf("after rotation: status %d (%s)", code, reason)
	}
	if got := rs.Gets("/users/zed") - before; got != 1 {
		t.Errorf("the rotation fetched the actor %d times, want once", got)
	}
	before = rs.Gets("/users/zed")
	for i := range 4 {
		code, _ := zed.Post(t, n.URLs.SharedInbox(), like(), testnode.SendOpts{Key: testnode.TestKey(t, 3)})
		if code != http.StatusUnauthorized {
			t.Fatalf("bad signature %d: status %d, want 401", i, code)
		}
	}
	if got := rs.Gets("/users/zed") - before; got != 0 {
		t.Errorf("4 bad signatures right after a refetch fetched the actor %d times, want none", got)
	}

	// Another process fetched the rotated key and stored it; this one
	// still holds the old one in memory. The actor's server is slow to
	// show the new key, so only the database has it.
	old := zed.Document()
	rs.Put("/users/zed", old)
	zed.Key = testnode.TestKey(t, 2)
	pem, err := signature.EncodePublicKeyPEM(&zed.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Store.DB().NewRaw("UPDATE accounts SET public_key_pem = ? WHERE ap_id = ?", pem, zed.ID()).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	before = rs.Gets("/users/zed")
	if code, reason := zed.Post(t, n.URLs.SharedInbox(), like(), testnode.SendOpts{}); code != http.StatusAccepted {
		t.Fatalf("rotated key stored by another process: status %d (%s), want 202", code, reason)
	}
	if got := rs.Gets("/users/zed") - before; got != 0 {
		t.Errorf("fetched the actor %d times, want none", got)
	}
}

// Inbox POSTs are limited per remote host and per actor, answered 429
// with Retry-After beyond the limit; requests that fail their signature
// spend nothing of the host's allowance, and other hosts are not
// affected.
func TestInboxRateLimits(t *testing.T) {
	n := testnode.New(t, nil)
	n.InboxCfg = inbox.Config{HostPerMinute: 5, ActorPerMinute: 3}
	n.Restart()
	rs := testnode.NewRemoteServer(t, "mastodon")
	zed, amy := rs.Actor("zed", "Person", 0), rs.Actor("amy", "Person", 1)
	yan := testnode.NewRemoteServer(t, "gotosocial").Actor("yan", "Person", 2)
	reply := n.URLs.Post(n.Fx.Posts[0].ID)
	send := func(a *testnode.RemoteActor, o testnode.SendOpts) (int, string) {
		var answer http.Header
		o.Answer = &answer
		code, _ := a.Post(t, n.URLs.SharedInbox(), a.Activity("Like", reply), o)
		return code, answer.Get("Retry-After")
	}
	for range 6 {
		if code, _ := send(zed, testnode.SendOpts{Key: testnode.TestKey(t, 3)}); code != http.StatusUnauthorized {
			t.Fatalf("forged: status %d, want 401", code)
		}
	}
	for i, c := range []struct {
		who  *testnode.RemoteActor
		want int
	}{
		{zed, 202}, {zed, 202}, {zed, 202}, {zed, 429}, // zed's 3
		{amy, 202}, {amy, 202}, {amy, 429}, // the host's 5
		{yan, 202}, // another host
	} {
		code, retry := send(c.who, testnode.SendOpts{})
		if code != c.want {
			t.Fatalf("POST %d by %s: status %d, want %d", i, c.who.Name, code, c.want)
		}
		if secs, err := strconv.Atoi(retry); (code == http.StatusTooManyRequests) != (err == nil && secs >= 1) {
			t.Errorf("POST %d: status %d with Retry-After %q", i, code, retry)
		}
	}
}

// A refused signature reaches the operator's log at WARN with the actor,
// its host and the reason, once a minute per host and reason however
// many arrive.
func TestInboxRefusalsLogged(t *testing.T) {
	var c logCapture
	n := testnode.New(t, func(cfg *federation.Config) { cfg.Log = slog.New(&c) })
	zed := testnode.NewRemoteServer(t, "mastodon").Actor("zed", "Person", 0)
	for range 3 {
		code, _ := zed.Post(t, n.URLs.SharedInbox(), zed.Activity("Like", n.URLs.Post(n.Fx.Posts[0].ID)), testnode.SendOpts{Key: testnode.TestKey(t, 3)})
		if code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", code)
		}
	}
	lines := c.find("inbox activity refused")
	if len(lines) != 1 {
		t.Fatalf("%d lines for 3 refusals, want 1: %v", len(lines), lines)
	}
	got := lines[0]
	if got.level != slog.LevelWarn || got.attrs["actor"] != zed.ID() || got.attrs["host"] != zed.Srv.Host() ||
		got.attrs["reason"] != "signature does not verify" {
		t.Errorf("logged %s %v", got.level, got.attrs)
	}
}

// An activity accepted and then not applied is logged at INFO with its
// host and why, once a minute per host and reason.
func TestInboxDropsLogged(t *testing.T) {
	var c logCapture
	n := testnode.NewInboxNode(t, func(cfg *federation.Config) { cfg.Log = slog.New(&c) })
	zed := testnode.NewRemoteServer(t, "mastodon").Actor("zed", "Person", 0)
	for i := range 3 {
		note := zed.Note("https://elsewhere.example/notes/1", "<p>Not about anything here.</p>")
		if code, reason := zed.Post(t, n.URLs.SharedInbox(), zed.Create(note), testnode.SendOpts{}); code != http.StatusAccepted {
			t.Fatalf("POST %d: status %d (%s)", i, code, reason)
		}
	}
	n.Settle(t)
	lines := c.find("inbox activity not applied")
	if len(lines) != 1 {
		t.Fatalf("%d lines for 3 dropped notes, want 1: %v", len(lines), lines)
	}
	if l := lines[0]; l.level != slog.LevelInfo || l.attrs["host"] != zed.Srv.Host() || l.attrs["actor"] != zed.ID() ||
		l.attrs["reason"] != "note … answers a note not stored here and mentions no member" {
		t.Errorf("logged %s %v", l.level, l.attrs)
	}
}

// logCapture is a slog handler keeping every record.
type logCapture struct {
	mu    sync.Mutex
	lines []logLine
}

type logLine struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	l := logLine{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		l.attrs[a.Key] = a.Value.String()
		return true
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, l)
	return nil
}
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

func (c *logCapture) find(msg string) []logLine {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []logLine
	for _, l := range c.lines {
		if l.msg == msg {
			out = append(out, l)
		}
	}
	return out
}

// A signer whose actor publishes an RSA key above MaxKeyBits (here
// 46,000 bits: each verification would cost tens of milliseconds) is
// refused like a signer without a key, and nothing it sent is stored.
func TestInboxRefusesOversizedKey(t *testing.T) {
	n := testnode.New(t, nil)
	rs := testnode.NewRemoteServer(t, "mastodon")
	huge := rs.Actor("huge", "Person", 0)
	modulus := new(big.Int).Lsh(big.NewInt(1), 46000-1)
	modulus.SetBit(modulus, 0, 1)
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: modulus, E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	doc := huge.Document()
	doc["publicKey"].(map[string]any)["publicKeyPem"] = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	rs.Put("/users/huge", doc)
	start := time.Now().Add(-time.Second)
	for range 3 {
		code, reason := huge.Post(t, n.URLs.SharedInbox(), huge.Activity("Like", n.URLs.Post(n.Fx.Posts[0].ID)), testnode.SendOpts{})
		// Refused when its actor is read, before any verification: a
		// key of an allowed size would say "signature does not verify".
		if code != http.StatusUnauthorized || reason != "signing key not available" {
			t.Fatalf("status %d (%s), want 401 for an unusable key", code, reason)
		}
	}
	if got, err := n.Store.InboxReceivedSince(context.Background(), start); err != nil || got != 0 {
		t.Fatalf("%d activities stored from the refused signer (%v)", got, err)
	}
}
