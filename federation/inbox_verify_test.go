package federation_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-fed/httpsig"

	"github.com/skein-forum/skein/federation"
)

// Real shapes get in: Mastodon (hs2019, #main-key, ld+json with profile,
// context arrays) and GoToSocial (/main-key, activity+json), on the shared
// inbox and on actors' own inboxes.
func TestInboxAcceptsRealShapes(t *testing.T) {
	n := newNode(t, nil)
	masto := newRemoteServer(t, "mastodon").actor("zed", "Person", 0)
	gts := newRemoteServer(t, "gotosocial").actor("yan", "Person", 1)
	reply := n.urls.Post(n.fx.Posts[0].ID)
	cases := []struct {
		name  string
		actor *remoteActor
		inbox string
		opts  sendOpts
	}{
		{"mastodon shared inbox", masto, n.urls.SharedInbox(), sendOpts{}},
		{"mastodon member inbox", masto, n.urls.Member("alice") + "/inbox", sendOpts{}},
		{"gotosocial thread inbox", gts, n.urls.Thread(n.fx.Thread.ID) + "/inbox", sendOpts{}},
		{"gotosocial forum inbox", gts, n.urls.Forum("kitchen") + "/inbox", sendOpts{}},
		{"instance actor inbox", gts, n.urls.InstanceActor() + "/inbox", sendOpts{}},
		{"plain json", masto, n.urls.SharedInbox(), sendOpts{contentType: "application/json"}},
		{"rsa-sha256 named", masto, n.urls.SharedInbox(), sendOpts{after: func(r *http.Request) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `algorithm="hs2019"`, `algorithm="rsa-sha256"`, 1))
		}}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			act := c.actor.create(c.actor.note(reply, "<p>Rye worked: it doubled overnight.</p>"))
			if code, reason := c.actor.post(t, c.inbox, act, c.opts); code != http.StatusAccepted {
				t.Fatalf("status %d (%s), want 202", code, reason)
			}
			if got := count(t, n.store, "SELECT count(*) FROM inbox_items"); got != i+1 {
				t.Fatalf("%d inbox items, want %d", got, i+1)
			}
		})
	}
}

// Each verification rule of issue 4, one by one: every refusal answers
// its status and stores nothing.
func TestInboxRefuses(t *testing.T) {
	var blockedHost string
	n := newNode(t, func(c *federation.Config) {
		c.BlockedDomain = func(host string) bool { return host == blockedHost }
	})
	rs := newRemoteServer(t, "mastodon")
	zed := rs.actor("zed", "Person", 0)
	other := rs.actor("other", "Person", 1)
	blocked := newRemoteServer(t, "mastodon").actor("spam", "Person", 2)
	blockedHost = blocked.srv.host()
	gone := rs.actor("gone", "Person", 3) // never seen by the node

	reply := n.urls.Post(n.fx.Posts[0].ID)
	shared := n.urls.SharedInbox()
	create := func() map[string]any { return zed.create(zed.note(reply, "<p>Hello.</p>")) }
	posts := count(t, n.store, "SELECT count(*) FROM posts")

	cases := []struct {
		name   string
		actor  *remoteActor
		url    string
		act    any
		opts   sendOpts
		status int
	}{
		{"over 1 MiB", zed, shared, nil, sendOpts{rawBody: bytes.Repeat([]byte(" "), federation.MaxInboxBody+1)}, http.StatusRequestEntityTooLarge},
		{"over 1 MiB without Content-Length", zed, shared, create(), sendOpts{after: func(r *http.Request) {
			r.ContentLength = -1
		}, body: func([]byte) []byte { return bytes.Repeat([]byte("a"), 3<<20) }}, http.StatusRequestEntityTooLarge},
		{"wrong content type", zed, shared, create(), sendOpts{contentType: "text/plain"}, http.StatusUnsupportedMediaType},
		{"form content type", zed, shared, create(), sendOpts{contentType: "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
		{"unsigned", zed, shared, create(), sendOpts{unsigned: true}, http.StatusUnauthorized},
		{"bad signature bytes", zed, shared, create(), sendOpts{key: testKey(t, 3)}, http.StatusUnauthorized},
		{"signature not covering digest", zed, shared, create(), sendOpts{headers: []string{httpsig.RequestTarget, "host", "date"}}, http.StatusUnauthorized},
		{"signature not covering host", zed, shared, create(), sendOpts{headers: []string{httpsig.RequestTarget, "date", "digest"}}, http.StatusUnauthorized},
		{"digest mismatch", zed, shared, create(), sendOpts{body: func(b []byte) []byte {
			return bytes.Replace(b, []byte("Hello."), []byte("Hellx."), 1)
		}}, http.StatusUnauthorized},
		{"date 2 hours old", zed, shared, create(), sendOpts{date: time.Now().Add(-2 * time.Hour)}, http.StatusUnauthorized},
		{"date 2 hours ahead", zed, shared, create(), sendOpts{date: time.Now().Add(2 * time.Hour)}, http.StatusUnauthorized},
		{"key owner is not the actor", zed, shared, create(), sendOpts{keyID: other.keyID(), key: other.key}, http.StatusUnauthorized},
		{"blocked host", blocked, shared, blocked.create(blocked.note(reply, "<p>Buy now.</p>")), sendOpts{}, http.StatusForbidden},
		{"malformed JSON", zed, shared, nil, sendOpts{rawBody: []byte(`{"type":"Create",`)}, http.StatusBadRequest},
		{"a JSON array", zed, shared, nil, sendOpts{rawBody: []byte(`[{"type":"Create"}]`)}, http.StatusBadRequest},
		{"10,000 levels", zed, shared, nil, sendOpts{rawBody: []byte(`{"type":"Create","actor":"` + zed.id() + `","object":` +
			strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`)}, http.StatusBadRequest},
		{"invalid UTF-8", zed, shared, nil, sendOpts{rawBody: []byte("{\"type\":\"Create\",\"actor\":\"" + zed.id() + "\",\"content\":\"\xff\xfe\"}")}, http.StatusBadRequest},
		{"missing type", zed, shared, map[string]any{"id": zed.id() + "#x", "actor": zed.id(), "object": reply}, sendOpts{}, http.StatusBadRequest},
		{"missing actor", zed, shared, map[string]any{"id": zed.id() + "#x", "type": "Like", "object": reply}, sendOpts{}, http.StatusBadRequest},
		{"activity id on another host", zed, shared, map[string]any{"id": "https://elsewhere.example/like/1", "type": "Like",
			"actor": zed.id(), "object": reply}, sendOpts{}, http.StatusBadRequest},
		{"local actor claimed", zed, shared, map[string]any{"type": "Like", "actor": n.urls.Member("bob"), "object": reply}, sendOpts{}, http.StatusBadRequest},
		{"inbox of a missing member", zed, n.urls.Member("nobody") + "/inbox", create(), sendOpts{}, http.StatusNotFound},
		{"inbox of a missing thread", zed, n.urls.Abs("/t/zzzz/inbox"), create(), sendOpts{}, http.StatusNotFound},
		// Not refusals: answered 202, but dropped without being stored.
		{"unknown type", zed, shared, zed.activity("EmojiReact", reply), sendOpts{}, http.StatusAccepted},
		{"self-delete of an unknown actor", gone, shared, gone.activity("Delete", gone.id()), sendOpts{}, http.StatusAccepted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, reason := c.actor.post(t, c.url, c.act, c.opts)
			if code != c.status {
				t.Fatalf("status %d (%s), want %d", code, reason, c.status)
			}
			if code >= 400 && (reason == "" || len(reason) > 120) {
				t.Errorf("reason %q: want a short one", reason)
			}
			if got := count(t, n.store, "SELECT count(*) FROM inbox_items"); got != 0 {
				t.Fatalf("%d inbox items stored", got)
			}
		})
	}
	if got := count(t, n.store, "SELECT count(*) FROM posts"); got != posts {
		t.Fatalf("posts went from %d to %d", posts, got)
	}
}

// A replayed activity (a retry, or one POST per member inbox) is answered
// 202 every time and stored once.
func TestInboxReplayStoredOnce(t *testing.T) {
	n := newNode(t, nil)
	zed := newRemoteServer(t, "mastodon").actor("zed", "Person", 0)
	act := zed.create(zed.note(n.urls.Post(n.fx.Posts[0].ID), "<p>Once.</p>"))
	for _, inbox := range []string{n.urls.SharedInbox(), n.urls.SharedInbox(), n.urls.Member("alice") + "/inbox", n.urls.Member("bob") + "/inbox"} {
		if code, reason := zed.post(t, inbox, act, sendOpts{}); code != http.StatusAccepted {
			t.Fatalf("%s: status %d (%s)", inbox, code, reason)
		}
	}
	if got := count(t, n.store, "SELECT count(*) FROM inbox_items"); got != 1 {
		t.Fatalf("%d inbox items, want 1", got)
	}
}

// A signer whose key changed is fetched again once, and then verifies.
func TestInboxKeyRotation(t *testing.T) {
	n := newNode(t, nil)
	rs := newRemoteServer(t, "mastodon")
	zed := rs.actor("zed", "Person", 0)
	like := func() map[string]any { return zed.activity("Like", n.urls.Post(n.fx.Posts[0].ID)) }
	if code, reason := zed.post(t, n.urls.SharedInbox(), like(), sendOpts{}); code != http.StatusAccepted {
		t.Fatalf("status %d (%s)", code, reason)
	}
	zed.key = testKey(t, 2) // rotated: the document now shows the new key
	// The stored copy is fresh; a failing signature refetches only when it
	// is older than a minute, so make it old.
	if _, err := n.store.DB().NewRaw("UPDATE accounts SET fetched_at = ? WHERE ap_id = ?", time.Now().Add(-time.Hour).UTC(), zed.id()).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, reason := zed.post(t, n.urls.SharedInbox(), like(), sendOpts{}); code != http.StatusAccepted {
		t.Fatalf("after rotation: status %d (%s)", code, reason)
	}
}
