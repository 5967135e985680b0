package inbox_test

import (
	"net/http"
	"sync"
	"testing"

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
