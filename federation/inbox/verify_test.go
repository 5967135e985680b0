package inbox_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-fed/httpsig"

	"github.com/skein-forum/skein/federation"
	"github.com/skein-forum/skein/federation/inbox"
	"github.com/skein-forum/skein/federation/internal/testnode"
)

// Real shapes get in: Mastodon (hs2019, #main-key, ld+json with profile,
// context arrays) and GoToSocial (/main-key, activity+json), on the shared
// inbox and on actors' own inboxes.
func TestInboxAcceptsRealShapes(t *testing.T) {
	n := testnode.New(t, nil)
	masto := testnode.NewRemoteServer(t, "mastodon").Actor("zed", "Person", 0)
	gts := testnode.NewRemoteServer(t, "gotosocial").Actor("yan", "Person", 1)
	reply := n.URLs.Post(n.Fx.Posts[0].ID)
	cases := []struct {
		name  string
		actor *testnode.RemoteActor
		inbox string
		opts  testnode.SendOpts
	}{
		{"mastodon shared inbox", masto, n.URLs.SharedInbox(), testnode.SendOpts{}},
		{"mastodon member inbox", masto, n.URLs.Member("alice") + "/inbox", testnode.SendOpts{}},
		{"gotosocial thread inbox", gts, n.URLs.Thread(n.Fx.Thread.ID) + "/inbox", testnode.SendOpts{}},
		{"gotosocial forum inbox", gts, n.URLs.Forum("kitchen") + "/inbox", testnode.SendOpts{}},
		{"instance actor inbox", gts, n.URLs.InstanceActor() + "/inbox", testnode.SendOpts{}},
		{"plain json", masto, n.URLs.SharedInbox(), testnode.SendOpts{ContentType: "application/json"}},
		{"rsa-sha256 named", masto, n.URLs.SharedInbox(), testnode.SendOpts{After: func(r *http.Request) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `algorithm="hs2019"`, `algorithm="rsa-sha256"`, 1))
		}}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			act := c.actor.Create(c.actor.Note(reply, "<p>Rye worked: it doubled overnight.</p>"))
			if code, reason := c.actor.Post(t, c.inbox, act, c.opts); code != http.StatusAccepted {
				t.Fatalf("status %d (%s), want 202", code, reason)
			}
			if got := testnode.Count(t, n.Store, "SELECT count(*) FROM inbox_items"); got != i+1 {
				t.Fatalf("%d inbox items, want %d", got, i+1)
			}
		})
	}
}

// Each verification rule, one by one: every refusal answers
// its status and stores nothing.
func TestInboxRefuses(t *testing.T) {
	var blockedHost string
	n := testnode.New(t, func(c *federation.Config) {
		c.BlockedDomain = func(host string) bool { return host == blockedHost }
	})
	rs := testnode.NewRemoteServer(t, "mastodon")
	zed := rs.Actor("zed", "Person", 0)
	other := rs.Actor("other", "Person", 1)
	blocked := testnode.NewRemoteServer(t, "mastodon").Actor("spam", "Person", 2)
	blockedHost = blocked.Srv.Host()
	gone := rs.Actor("gone", "Person", 3) // never seen by the node

	reply := n.URLs.Post(n.Fx.Posts[0].ID)
	shared := n.URLs.SharedInbox()
	create := func() map[string]any { return zed.Create(zed.Note(reply, "<p>Hello.</p>")) }
	posts := testnode.Count(t, n.Store, "SELECT count(*) FROM posts")

	cases := []struct {
		name   string
		actor  *testnode.RemoteActor
		url    string
		act    any
		opts   testnode.SendOpts
		status int
	}{
		{"over 1 MiB", zed, shared, nil, testnode.SendOpts{RawBody: bytes.Repeat([]byte(" "), inbox.MaxInboxBody+1)}, http.StatusRequestEntityTooLarge},
		{"over 1 MiB without Content-Length", zed, shared, create(), testnode.SendOpts{After: func(r *http.Request) {
			r.ContentLength = -1
		}, Body: func([]byte) []byte { return bytes.Repeat([]byte("a"), 3<<20) }}, http.StatusRequestEntityTooLarge},
		{"wrong content type", zed, shared, create(), testnode.SendOpts{ContentType: "text/plain"}, http.StatusUnsupportedMediaType},
		{"form content type", zed, shared, create(), testnode.SendOpts{ContentType: "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
		{"unsigned", zed, shared, create(), testnode.SendOpts{Unsigned: true}, http.StatusUnauthorized},
		{"bad signature bytes", zed, shared, create(), testnode.SendOpts{Key: testnode.TestKey(t, 3)}, http.StatusUnauthorized},
		{"signature not covering digest", zed, shared, create(), testnode.SendOpts{Headers: []string{httpsig.RequestTarget, "host", "date"}}, http.StatusUnauthorized},
		{"signature not covering host", zed, shared, create(), testnode.SendOpts{Headers: []string{httpsig.RequestTarget, "date", "digest"}}, http.StatusUnauthorized},
		{"digest mismatch", zed, shared, create(), testnode.SendOpts{Body: func(b []byte) []byte {
			return bytes.Replace(b, []byte("Hello."), []byte("Hellx."), 1)
		}}, http.StatusUnauthorized},
		{"date 2 hours old", zed, shared, create(), testnode.SendOpts{Date: time.Now().Add(-2 * time.Hour)}, http.StatusUnauthorized},
		{"date 2 hours ahead", zed, shared, create(), testnode.SendOpts{Date: time.Now().Add(2 * time.Hour)}, http.StatusUnauthorized},
		{"key owner is not the actor", zed, shared, create(), testnode.SendOpts{KeyID: other.KeyID(), Key: other.Key}, http.StatusUnauthorized},
		{"blocked host", blocked, shared, blocked.Create(blocked.Note(reply, "<p>Buy now.</p>")), testnode.SendOpts{}, http.StatusForbidden},
		{"malformed JSON", zed, shared, nil, testnode.SendOpts{RawBody: []byte(`{"type":"Create",`)}, http.StatusBadRequest},
		{"a JSON array", zed, shared, nil, testnode.SendOpts{RawBody: []byte(`[{"type":"Create"}]`)}, http.StatusBadRequest},
		{"10,000 levels", zed, shared, nil, testnode.SendOpts{RawBody: []byte(`{"type":"Create","actor":"` + zed.ID() + `","object":` +
			strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`)}, http.StatusBadRequest},
		{"invalid UTF-8", zed, shared, nil, testnode.SendOpts{RawBody: []byte("{\"type\":\"Create\",\"actor\":\"" + zed.ID() + "\",\"content\":\"\xff\xfe\"}")}, http.StatusBadRequest},
		{"missing type", zed, shared, map[string]any{"id": zed.ID() + "#x", "actor": zed.ID(), "object": reply}, testnode.SendOpts{}, http.StatusBadRequest},
		{"missing actor", zed, shared, map[string]any{"id": zed.ID() + "#x", "type": "Like", "object": reply}, testnode.SendOpts{}, http.StatusBadRequest},
		{"activity id on another host", zed, shared, map[string]any{"id": "https://elsewhere.example/like/1", "type": "Like",
			"actor": zed.ID(), "object": reply}, testnode.SendOpts{}, http.StatusBadRequest},
		{"local actor claimed", zed, shared, map[string]any{"id": zed.ID() + "#l", "type": "Like", "actor": n.URLs.Member("bob"), "object": reply}, testnode.SendOpts{}, http.StatusBadRequest},
		// Signed, but replayable: nothing tells a second copy from the first.
		{"no id", zed, shared, map[string]any{"type": "Like", "actor": zed.ID(), "object": reply}, testnode.SendOpts{}, http.StatusBadRequest},
		{"a second id in upper case", zed, shared, nil, testnode.SendOpts{RawBody: []byte(`{"id":"https://elsewhere.example/like/1","type":"Like",` +
			`"actor":"` + zed.ID() + `","object":"` + reply + `","ID":"` + zed.ID() + `#like-2"}`)}, http.StatusBadRequest},
		{"inbox of a missing member", zed, n.URLs.Member("nobody") + "/inbox", create(), testnode.SendOpts{}, http.StatusNotFound},
		{"inbox of a missing thread", zed, n.URLs.Abs("/t/zzzz/inbox"), create(), testnode.SendOpts{}, http.StatusNotFound},
		// Not refusals: answered 202, but dropped without being stored.
		{"unknown type", zed, shared, zed.Activity("EmojiReact", reply), testnode.SendOpts{}, http.StatusAccepted},
		{"self-delete of an unknown actor", gone, shared, gone.Activity("Delete", gone.ID()), testnode.SendOpts{}, http.StatusAccepted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, reason := c.actor.Post(t, c.url, c.act, c.opts)
			if code != c.status {
				t.Fatalf("status %d (%s), want %d", code, reason, c.status)
			}
			if code >= 400 && (reason == "" || len(reason) > 120) {
				t.Errorf("reason %q: want a short one", reason)
			}
			if got := testnode.Count(t, n.Store, "SELECT count(*) FROM inbox_items"); got != 0 {
				t.Fatalf("%d inbox items stored", got)
			}
		})
	}
	if got := testnode.Count(t, n.Store, "SELECT count(*) FROM posts"); got != posts {
		t.Fatalf("posts went from %d to %d", posts, got)
	}
}

// A replayed activity (a retry, or one POST per member inbox) is answered
// 202 every time and stored once.
func TestInboxReplayStoredOnce(t *testing.T) {
	n := testnode.New(t, nil)
	zed := testnode.NewRemoteServer(t, "mastodon").Actor("zed", "Person", 0)
	act := zed.Create(zed.Note(n.URLs.Post(n.Fx.Posts[0].ID), "<p>Once.</p>"))
	for _, inbox := range []string{n.URLs.SharedInbox(), n.URLs.SharedInbox(), n.URLs.Member("alice") + "/inbox", n.URLs.Member("bob") + "/inbox"} {
		if code, reason := zed.Post(t, inbox, act, testnode.SendOpts{}); code != http.StatusAccepted {
			t.Fatalf("%s: status %d (%s)", inbox, code, reason)
		}
	}
	if got := testnode.Count(t, n.Store, "SELECT count(*) FROM inbox_items"); got != 1 {
		t.Fatalf("%d inbox items, want 1", got)
	}
}
