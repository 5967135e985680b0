package node_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-fed/httpsig"

	"github.com/skein-forum/skein/storage"
)

// Hostile input: one running node, attacked through its member,
// forum, thread and shared inboxes and its web forms. Every case carries
// a marker of its own; whatever the node answers, it must be a 4xx (or
// 202 where ignoring is right), never a 5xx, within 10 seconds, the
// marker must be nowhere in the content tables, and the node must still
// serve.

// hostileCase is one attack.
type hostileCase struct {
	name string
	want int
	// send makes the attack with marker somewhere in it and returns the
	// status the node answered.
	send func(t *testing.T, marker string) int
	// ignored: answered 202 and queued, the worker must mark the item
	// done with a reason. Otherwise a 202 must have queued nothing.
	ignored bool
	// stored: the marker is legitimately stored (sanitized text); check
	// must prove it is harmless.
	stored bool
	check  func(t *testing.T, marker string)
}

// nasties are what a sanitizer must take out, each with the fragment
// that must not survive.
const nastyHTML = `<p>Hello</p><script>alert(1)</script><img src="x.png" onerror="alert(2)">` +
	`<a href="javascript:alert(3)">click</a><iframe src="https://evil.example/"></iframe>` +
	`<style>body{background:url(javascript:alert(4))}</style>` +
	`<p style="width: expression(alert(5))">css</p><svg onload="alert(6)"></svg><form action="https://evil.example/"><input name="x"></form>`

var nastyFragments = []string{"<script", "onerror", "javascript:", "<iframe", "<style", "expression(", "onload", "style=", "<svg", "<form", "<input"}

func assertSanitized(t *testing.T, what, html string) {
	t.Helper()
	low := strings.ToLower(html)
	for _, f := range nastyFragments {
		if strings.Contains(low, f) {
			t.Errorf("%s keeps %q: %s", what, f, html)
		}
	}
}

func TestHostileInput(t *testing.T) {
	h := startHostileNode(t, nil)
	evil, victim := newHostileHost(t), newHostileHost(t)
	alice, bob := h.register("alice"), h.register("bob")
	thread := alice.newThread("Hostile ground", "First post, by alice.")
	first := mustThread(t, h.testNode, thread).firstPost()
	firstURL := h.URLs.Post(first)
	threadPath := "/t/" + thread.String()

	shared, member := h.Base+"/inbox", h.Base+"/u/alice/inbox"
	forum, threadInbox := h.Base+"/f/general/inbox", h.Base+threadPath+"/inbox"

	// A note by name on evil, replying to alice's first post.
	note := func(name, id, content string) map[string]any {
		return map[string]any{"id": id, "type": "Note", "attributedTo": evil.actor(name), "inReplyTo": firstURL,
			"content": content, "to": []any{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []any{h.URLs.Thread(thread)},
			"published": time.Now().UTC().Format(time.RFC3339)}
	}
	activity := func(name, typ, marker string, object any) map[string]any {
		return map[string]any{"id": evil.actor(name) + "/activities/" + marker, "type": typ, "actor": evil.actor(name), "object": object}
	}
	// signed POSTs an activity of evil's actor name to inbox, signed by it.
	signed := func(t *testing.T, inbox, name string, act map[string]any) int {
		code, _ := send(t, forgery{url: inbox, body: mustJSON(t, act), keyID: evil.keyID(name)}.request(t))
		return code
	}
	createBy := func(name, marker string) map[string]any {
		return activity(name, "Create", marker, note(name, evil.actor(name)+"/statuses/"+marker, "<p>"+marker+"</p>"))
	}
	forge := func(t *testing.T, f forgery) int {
		code, _ := send(t, f.request(t))
		return code
	}

	// A legitimate remote reply by mallory, which later cases attack.
	malloryNote := evil.actor("mallory") + "/statuses/legit"
	if code := signed(t, shared, "mallory", activity("mallory", "Create", "legit",
		note("mallory", malloryNote, "<p>A fair reply.</p>"))); code != http.StatusAccepted {
		t.Fatalf("legitimate reply: %d", code)
	}
	h.settleInbox(t)
	if got := postField(t, h.testNode, "html", "ap_id = ?", malloryNote); got != "<p>A fair reply.</p>" {
		t.Fatalf("legitimate reply stored as %q", got)
	}
	counts := func() (follows, likes int) {
		db := h.Store.DB().DB
		_ = db.QueryRow("SELECT count(*) FROM follows").Scan(&follows)
		_ = db.QueryRow("SELECT count(*) FROM likes").Scan(&likes)
		return
	}
	follows0, likes0 := counts()

	// Actors whose documents are hostile.
	evil.on("/users/hugename", func(w http.ResponseWriter, r *http.Request) {
		doc := evil.actorDoc("hugename")
		doc["name"] = "Huge\x00\x07\u202e" + strings.Repeat("N", 1_000_000) + hugeNameMarker
		doc["summary"] = strings.Repeat("bio ", 8_000) + hugeNameMarker
		writeJSON(w, doc)
	})
	evil.on("/users/longhandle", func(w http.ResponseWriter, r *http.Request) {
		doc := evil.actorDoc("longhandle")
		doc["preferredUsername"] = strings.Repeat("h", 500_000) + longHandleMarker
		writeJSON(w, doc)
	})
	evil.on("/users/redir", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, victim.actor("redir"), http.StatusFound)
	})
	evil.on("/users/liar", func(w http.ResponseWriter, r *http.Request) {
		doc := victim.actorDoc("liar") // claims an id on victim's host
		writeJSON(w, doc)
	})

	cases := []hostileCase{
		// Signatures.
		{name: "unsigned", want: 401, send: func(t *testing.T, m string) int {
			return forge(t, forgery{url: shared, body: mustJSON(t, createBy("eve", m))})
		}},
		{name: "bad signature bytes", want: 401, send: func(t *testing.T, m string) int {
			return forge(t, forgery{url: member, body: mustJSON(t, createBy("eve", m)), keyID: evil.keyID("eve"), key: otherKey()})
		}},
		{name: "key owner is not the actor", want: 401, send: func(t *testing.T, m string) int {
			return forge(t, forgery{url: forum, body: mustJSON(t, createBy("eve", m)), keyID: evil.keyID("mallory")})
		}},
		{name: "key on another host than the actor", want: 401, send: func(t *testing.T, m string) int {
			return forge(t, forgery{url: threadInbox, body: mustJSON(t, createBy("eve", m)), keyID: victim.keyID("eve")})
		}},
		{name: "signature not covering digest", want: 401, send: func(t *testing.T, m string) int {
			return forge(t, forgery{url: threadInbox, body: mustJSON(t, createBy("eve", m)), keyID: evil.keyID("eve"),
				headers: []string{httpsig.RequestTarget, "host", "date"}})
		}},
		{name: "signature not covering host", want: 401, send: func(t *testing.T, m string) int {
			return forge(t, forgery{url: shared, body: mustJSON(t, createBy("eve", m)), keyID: evil.keyID("eve"),
				headers: []string{httpsig.RequestTarget, "date", "digest"}})
		}},
		{name: "digest mismatch", want: 401, send: func(t *testing.T, m string) int {
			body := mustJSON(t, createBy("eve", m))
			return forge(t, forgery{url: member, body: body, keyID: evil.keyID("eve"), after: func(r *http.Request) {
				b := bytes.Replace(body, []byte("#Public"), []byte("#Publix"), 1)
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			}})
		}},
		{name: "date two hours old", want: 401, send: func(t *testing.T, m string) int {
			return forge(t, forgery{url: forum, body: mustJSON(t, createBy("eve", m)), keyID: evil.keyID("eve"), date: time.Now().Add(-2 * time.Hour)})
		}},
		{name: "date two hours ahead", want: 401, send: func(t *testing.T, m string) int {
			return forge(t, forgery{url: threadInbox, body: mustJSON(t, createBy("eve", m)), keyID: evil.keyID("eve"), date: time.Now().Add(2 * time.Hour)})
		}},
		{name: "replay of an accepted request after its window", want: 401, ignored: true, send: func(t *testing.T, m string) int {
			// Accepted once (a reply to nothing here, so it is ignored),
			// then sent again byte for byte when its Date is two hours old.
			act := activity("eve", "Create", m, map[string]any{"id": evil.actor("eve") + "/statuses/" + m, "type": "Note",
				"attributedTo": evil.actor("eve"), "inReplyTo": victim.url("/nowhere"), "content": "<p>" + m + "</p>"})
			f := forgery{url: shared, body: mustJSON(t, act), keyID: evil.keyID("eve")}
			req := f.request(t)
			again := req.Clone(t.Context())
			again.Body = io.NopCloser(bytes.NewReader(f.body))
			if code, _ := send(t, req); code != http.StatusAccepted {
				t.Fatalf("first delivery: %d", code)
			}
			h.settleInbox(t)
			h.skew.Store(int64(2 * time.Hour))
			defer h.skew.Store(0)
			code, _ := send(t, again)
			return code
		}},
		{name: "malformed Signature header", want: 400, send: func(t *testing.T, m string) int {
			return forge(t, forgery{url: member, body: mustJSON(t, createBy("eve", m)), keyID: evil.keyID("eve"), after: func(r *http.Request) {
				r.Header.Set("Signature", `keyId="`+evil.keyID("eve")+`",,headers=(request-target,signature="%%%`)
			}})
		}},
		{name: "unsupported algorithm", want: 401, send: func(t *testing.T, m string) int {
			return forge(t, forgery{url: forum, body: mustJSON(t, createBy("eve", m)), keyID: evil.keyID("eve"), after: func(r *http.Request) {
				r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `algorithm="hs2019"`, `algorithm="hmac-sha256"`, 1))
			}})
		}},

		// Bodies.
		{name: "body of 3 MiB", want: 413, send: func(t *testing.T, m string) int {
			big := append([]byte(`{"type":"Create","content":"`+m), bytes.Repeat([]byte("a"), 3<<20)...)
			return forge(t, forgery{url: shared, body: append(big, `"}`...), keyID: evil.keyID("eve")})
		}},
		{name: "body of 3 MiB without Content-Length", want: 413, send: func(t *testing.T, m string) int {
			big := append(append([]byte(`{"type":"Create","content":"`+m), bytes.Repeat([]byte("a"), 3<<20)...), `"}`...)
			return forge(t, forgery{url: member, body: []byte("{}"), keyID: evil.keyID("eve"), after: func(r *http.Request) {
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(big)), -1
			}})
		}},
		{name: "invalid JSON", want: 400, send: func(t *testing.T, m string) int {
			return forge(t, forgery{url: forum, body: []byte(`{"type":"Create","actor":"` + evil.actor("eve") + `","object":{"content":"` + m), keyID: evil.keyID("eve")})
		}},
		{name: "a JSON array", want: 400, send: func(t *testing.T, m string) int {
			return forge(t, forgery{url: threadInbox, body: []byte(`[` + string(mustJSON(t, createBy("eve", m))) + `]`), keyID: evil.keyID("eve")})
		}},
		{name: "10,000 levels of nesting", want: 400, send: func(t *testing.T, m string) int {
			body := `{"type":"Create","actor":"` + evil.actor("eve") + `","object":` + strings.Repeat(`{"a":[`, 5000) + `"` + m + `"` +
				strings.Repeat(`]}`, 5000) + `}`
			return forge(t, forgery{url: shared, body: []byte(body), keyID: evil.keyID("eve")})
		}},
		{name: "missing type", want: 400, send: func(t *testing.T, m string) int {
			act := createBy("eve", m)
			delete(act, "type")
			return signed(t, member, "eve", act)
		}},
		{name: "missing actor", want: 400, send: func(t *testing.T, m string) int {
			act := createBy("eve", m)
			delete(act, "actor")
			return signed(t, forum, "eve", act)
		}},
		{name: "invalid UTF-8", want: 400, send: func(t *testing.T, m string) int {
			body := []byte(`{"type":"Create","actor":"` + evil.actor("eve") + `","object":{"content":"` + m + "\xff\xfe\xc0\xaf" + `"}}`)
			return forge(t, forgery{url: threadInbox, body: body, keyID: evil.keyID("eve")})
		}},
		{name: "wrong content type", want: 415, send: func(t *testing.T, m string) int {
			return forge(t, forgery{url: shared, body: mustJSON(t, createBy("eve", m)), keyID: evil.keyID("eve"), contentType: "text/html"})
		}},
		{name: "unknown type EmojiReact", want: 202, send: func(t *testing.T, m string) int {
			return signed(t, member, "eve", activity("eve", "EmojiReact", m, firstURL))
		}, check: notQueued(h)},
		{name: "unknown type ChatMessage", want: 202, send: func(t *testing.T, m string) int {
			act := activity("eve", "ChatMessage", m, map[string]any{"type": "ChatMessage", "content": m})
			return signed(t, forum, "eve", act)
		}, check: notQueued(h)},

		// Who speaks for whom.
		{name: "actor is a local member", want: 400, send: func(t *testing.T, m string) int {
			act := createBy("eve", m)
			act["actor"], act["id"] = h.URLs.Member("alice"), h.URLs.Member("alice")+"#"+m
			return signed(t, shared, "eve", act)
		}},
		{name: "activity id on another host", want: 400, send: func(t *testing.T, m string) int {
			act := createBy("eve", m)
			act["id"] = victim.url("/activities/" + m)
			return signed(t, threadInbox, "eve", act)
		}},
		{name: "inbox of a missing member", want: 404, send: func(t *testing.T, m string) int {
			return signed(t, h.Base+"/u/nobody/inbox", "eve", createBy("eve", m))
		}},
		{name: "inbox of a missing thread", want: 404, send: func(t *testing.T, m string) int {
			return signed(t, h.Base+"/t/zzzzzz/inbox", "eve", createBy("eve", m))
		}},
		{name: "Create of a Note attributed to another host", want: 202, ignored: true, send: func(t *testing.T, m string) int {
			n := note("eve", evil.actor("eve")+"/statuses/"+m, "<p>"+m+"</p>")
			n["attributedTo"] = victim.actor("vic")
			return signed(t, threadInbox, "eve", activity("eve", "Create", m, n))
		}},
		{name: "Create whose object id is on another host", want: 202, ignored: true, send: func(t *testing.T, m string) int {
			return signed(t, forum, "eve", activity("eve", "Create", m, note("eve", victim.url("/notes/"+m), "<p>"+m+"</p>")))
		}, check: func(t *testing.T, m string) {
			if victim.hitsOn("/notes/"+m) == 0 {
				t.Errorf("the note was not fetched from its own host")
			}
		}},
		{name: "Create of a Note with a local id", want: 202, ignored: true, send: func(t *testing.T, m string) int {
			return signed(t, shared, "eve", activity("eve", "Create", m, note("eve", h.URLs.Post(first)+"#"+m, "<p>"+m+"</p>")))
		}},
		{name: "Update of a local member's post", want: 202, ignored: true, send: func(t *testing.T, m string) int {
			n := note("eve", firstURL, "<p>"+m+"</p>")
			return signed(t, shared, "eve", activity("eve", "Update", m, n))
		}, check: func(t *testing.T, m string) {
			if got := postField(t, h.testNode, "html", "id = ?", first); !strings.Contains(got, "First post, by alice.") {
				t.Errorf("alice's post now reads %q", got)
			}
		}},
		{name: "Delete of a local member's post", want: 202, ignored: true, send: func(t *testing.T, m string) int {
			return signed(t, member, "eve", activity("eve", "Delete", m, map[string]any{"id": firstURL, "type": "Tombstone"}))
		}, check: func(t *testing.T, m string) {
			if got := postField(t, h.testNode, "deleted_at", "id = ?", first); got != "" {
				t.Errorf("alice's post was deleted at %s", got)
			}
		}},
		{name: "Delete of another actor", want: 202, ignored: true, send: func(t *testing.T, m string) int {
			return signed(t, shared, "eve", activity("eve", "Delete", m, evil.actor("mallory")))
		}, check: func(t *testing.T, m string) {
			if got := postField(t, h.testNode, "deleted_at", "ap_id = ?", malloryNote); got != "" {
				t.Errorf("mallory's post was deleted at %s", got)
			}
		}},
		{name: "Update of another remote actor's post", want: 202, ignored: true, send: func(t *testing.T, m string) int {
			n := note("mallory", malloryNote, "<p>"+m+"</p>")
			return signed(t, forum, "eve", activity("eve", "Update", m, n))
		}},
		{name: "Delete of another remote actor's post", want: 202, ignored: true, send: func(t *testing.T, m string) int {
			return signed(t, threadInbox, "eve", activity("eve", "Delete", m, malloryNote))
		}, check: func(t *testing.T, m string) {
			if got := postField(t, h.testNode, "deleted_at", "ap_id = ?", malloryNote); got != "" {
				t.Errorf("mallory's post was deleted at %s", got)
			}
		}},
		{name: "Follow of a missing actor", want: 202, ignored: true, send: func(t *testing.T, m string) int {
			return signed(t, shared, "eve", activity("eve", "Follow", m, h.URLs.Member("nobody")))
		}, check: func(t *testing.T, m string) {
			if f, _ := counts(); f != follows0 {
				t.Errorf("follows went from %d to %d", follows0, f)
			}
		}},
		{name: "Like of a missing object", want: 202, ignored: true, send: func(t *testing.T, m string) int {
			return signed(t, member, "eve", activity("eve", "Like", m, h.Base+"/p/"+storage.ID(12345).String()))
		}, check: func(t *testing.T, m string) {
			if _, l := counts(); l != likes0 {
				t.Errorf("likes went from %d to %d", likes0, l)
			}
		}},
		{name: "Accept of a follow never sent", want: 202, ignored: true, send: func(t *testing.T, m string) int {
			return signed(t, member, "eve", activity("eve", "Accept", m, h.URLs.Member("alice")+"#follow-"+m))
		}},
		{name: "Announce of a note that does not exist", want: 202, ignored: true, send: func(t *testing.T, m string) int {
			return signed(t, forum, "eve", activity("eve", "Announce", m, victim.url("/notes/"+m)))
		}},
		{name: "1,000 to and cc entries", want: 202, ignored: true, send: func(t *testing.T, m string) int {
			n := note("eve", evil.actor("eve")+"/statuses/"+m, "<p>"+m+"</p>")
			var to, cc []any
			for i := range 500 {
				to = append(to, fmt.Sprintf("https://host%d.example/users/u%d", i, i))
				cc = append(cc, fmt.Sprintf("https://host%d.example/users/u%d/followers", i, i))
			}
			n["to"], n["cc"] = to, cc
			return signed(t, threadInbox, "eve", activity("eve", "Create", m, n))
		}},
		{name: "a 1 MB note", want: 202, ignored: true, send: func(t *testing.T, m string) int {
			n := note("eve", evil.actor("eve")+"/statuses/"+m, "<p>"+strings.Repeat("word ", 200_000)+m+"</p>")
			return signed(t, shared, "eve", activity("eve", "Create", m, n))
		}},
		{name: "script, handlers, javascript: links, iframe, style, CSS expressions", want: 202, stored: true, send: func(t *testing.T, m string) int {
			n := note("eve", evil.actor("eve")+"/statuses/"+m, nastyHTML+"<p>"+m+"</p>")
			return signed(t, member, "eve", activity("eve", "Create", m, n))
		}, check: func(t *testing.T, m string) {
			html := postField(t, h.testNode, "html", "ap_id = ?", evil.actor("eve")+"/statuses/"+m)
			if !strings.Contains(html, m) || !strings.Contains(html, "Hello") {
				t.Fatalf("the note's text was lost: %q", html)
			}
			assertSanitized(t, "stored remote note", html)
		}},
		{name: "an actor with a 1 MB name and a long bio", want: 202, stored: true, send: func(t *testing.T, m string) int {
			return signed(t, forum, "hugename", activity("hugename", "Create", m,
				note("hugename", evil.actor("hugename")+"/statuses/"+m, "<p>From a long name.</p>")))
		}, check: func(t *testing.T, m string) {
			acc, err := h.Store.AccountByAPID(t.Context(), evil.actor("hugename"))
			if err != nil {
				t.Fatalf("the actor was not stored: %v", err)
			}
			if len(acc.DisplayName) > 200 || len(acc.Bio) > 16<<10 || strings.ContainsAny(acc.DisplayName, "\x00\x07\u202e") {
				t.Errorf("display name of %d bytes (%.40q), bio of %d bytes stored", len(acc.DisplayName), acc.DisplayName, len(acc.Bio))
			}
			if findMarker(t, h.Store.DB().DB, hugeNameMarker) != "" {
				t.Errorf("the end of the huge name or bio was stored")
			}
		}},
		{name: "an actor with a 500 KB handle", want: 401, send: func(t *testing.T, m string) int {
			return signed(t, threadInbox, "longhandle", createBy("longhandle", m))
		}, check: func(t *testing.T, m string) {
			if findMarker(t, h.Store.DB().DB, longHandleMarker) != "" {
				t.Errorf("the huge handle was stored")
			}
		}},
		{name: "actor document redirects to another host", want: 401, send: func(t *testing.T, m string) int {
			return signed(t, shared, "redir", createBy("redir", m))
		}, check: func(t *testing.T, m string) {
			if n := victim.hitsOn("/users/redir"); n != 0 {
				t.Errorf("the redirect was followed to the other host (%d requests)", n)
			}
		}},
		{name: "actor document claims an id on another host", want: 401, send: func(t *testing.T, m string) int {
			return signed(t, member, "liar", createBy("liar", m))
		}},

		// The web forms.
		{name: "web: reply from another origin (CSRF)", want: 403, send: func(t *testing.T, m string) int {
			return formPost(t, alice.c, h.Base+threadPath+"/reply", url.Values{"body": {m}}, map[string]string{"Origin": evil.URL})
		}},
		{name: "web: new thread marked cross-site (CSRF)", want: 403, send: func(t *testing.T, m string) int {
			return formPost(t, alice.c, h.Base+"/f/general/new", url.Values{"title": {m}, "body": {m}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
		}},
		{name: "web: edit another member's post", want: 403, send: func(t *testing.T, m string) int {
			return formPost(t, bob.c, h.Base+"/p/"+first.String()+"/edit", url.Values{"body": {m}}, nil)
		}, check: func(t *testing.T, m string) {
			if got := postField(t, h.testNode, "source", "id = ?", first); got != "First post, by alice." {
				t.Errorf("alice's post now reads %q", got)
			}
		}},
		{name: "web: delete another member's post", want: 403, send: func(t *testing.T, m string) int {
			return formPost(t, bob.c, h.Base+"/p/"+first.String()+"/delete", url.Values{"x": {m}}, nil)
		}, check: func(t *testing.T, m string) {
			if got := postField(t, h.testNode, "deleted_at", "id = ?", first); got != "" {
				t.Errorf("alice's post was deleted at %s", got)
			}
		}},
		{name: "web: a guest replies", want: 303, send: func(t *testing.T, m string) int {
			return formPost(t, hostileClient, h.Base+threadPath+"/reply", url.Values{"body": {m}}, nil)
		}},
		{name: "web: a guest starts a thread", want: 303, send: func(t *testing.T, m string) int {
			return formPost(t, hostileClient, h.Base+"/f/general/new", url.Values{"title": {m}, "body": {m}}, nil)
		}},
		{name: "web: a guest edits a post", want: 303, send: func(t *testing.T, m string) int {
			return formPost(t, hostileClient, h.Base+"/p/"+first.String()+"/edit", url.Values{"body": {m}}, nil)
		}},
		{name: "web: HTML in a member's post", want: 303, stored: true, send: func(t *testing.T, m string) int {
			return formPost(t, bob.c, h.Base+threadPath+"/reply", url.Values{"body": {nastyHTML + "\n\n" + m + " [x](javascript:alert(7))"}}, nil)
		}, check: func(t *testing.T, m string) {
			html := postField(t, h.testNode, "html", "source LIKE ?", "%"+m+"%")
			if !strings.Contains(html, m) {
				t.Fatalf("the post's text was lost: %q", html)
			}
			assertSanitized(t, "stored local post", html)
			page := bob.get(threadPath)
			for _, f := range []string{"<script>alert", "<iframe", `onerror="`, `onload="`, `href="javascript:`} {
				if strings.Contains(page, f) {
					t.Errorf("the thread page shows %q", f)
				}
			}
		}},
		{name: "web: NUL bytes and invalid UTF-8 in a form", want: 422, send: func(t *testing.T, m string) int {
			return formPost(t, bob.c, h.Base+"/f/general/new", url.Values{"title": {"Nul\x00" + m}, "body": {m + "\x00\xff\xfe"}}, nil)
		}},
		{name: "web: a 1 MB post", want: 413, send: func(t *testing.T, m string) int {
			return formPost(t, bob.c, h.Base+threadPath+"/reply", url.Values{"body": {strings.Repeat("word ", 200_000) + m}}, nil)
		}},
		{name: "web: HTML in a thread title", want: 303, stored: true, send: func(t *testing.T, m string) int {
			return formPost(t, bob.c, h.Base+"/f/general/new", url.Values{"title": {`<script>alert("` + m + `")</script>`}, "body": {"Body."}}, nil)
		}, check: func(t *testing.T, m string) {
			for _, p := range []string{"/f/general", "/"} {
				if page := bob.get(p); strings.Contains(page, `<script>alert("`+m) {
					t.Errorf("%s shows the title unescaped", p)
				}
			}
		}},
	}
	if len(cases) < 40 {
		t.Fatalf("%d cases, the suite promises at least 40", len(cases))
	}

	var markers []string
	for i, c := range cases {
		ok := t.Run(c.name, func(t *testing.T) {
			m := newMarker(i)
			markers = append(markers, m)
			code := c.send(t, m)
			if code >= 500 || code != c.want {
				t.Errorf("status %d, want %d", code, c.want)
			}
			h.settleInbox(t)
			found, done, reason := h.itemOutcome(t, m)
			switch {
			case c.ignored:
				if !found || !done || reason == "" {
					t.Errorf("inbox item: found %v, done %v, reason %q; want it done with a reason", found, done, reason)
				}
			case code >= 400 && found:
				t.Errorf("refused with %d but queued", code)
			}
			if !c.stored {
				if where := findMarker(t, h.Store.DB().DB, m); where != "" {
					t.Errorf("marker stored: %s", where)
				}
			}
			if c.check != nil {
				c.check(t, m)
			}
			h.stillServes(t, threadPath)
		})
		if !ok && testing.Short() {
			break
		}
	}

	// Anything retried later must not have stored a marker meanwhile.
	h.settleInbox(t)
	for i, c := range cases {
		if c.stored || i >= len(markers) {
			continue
		}
		if where := findMarker(t, h.Store.DB().DB, markers[i]); where != "" {
			t.Errorf("%s: marker stored by the end: %s", c.name, where)
		}
	}

	t.Run("every page forbids inline script", func(t *testing.T) {
		for _, p := range []string{"/", "/f/general", threadPath, "/u/alice", "/signin", "/register", "/search?q=bread",
			"/p/" + first.String() + "/edit", "/nowhere", "/feed.atom", "/static/nonexistent.css"} {
			resp, err := alice.c.Get(h.Base + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
				strings.Contains(csp, "unsafe-eval") || !strings.Contains(csp, "object-src 'none'") {
				t.Errorf("GET %s (%d): Content-Security-Policy %q", p, resp.StatusCode, csp)
			}
		}
	})

	// Last: it uses up the sign-in attempts of 127.0.0.1.
	t.Run("sign-in brute force is slowed", func(t *testing.T) {
		limited := 0
		for i := range 12 {
			code := formPost(t, hostileClient, h.Base+"/signin", url.Values{"handle": {"alice"}, "password": {fmt.Sprintf("guess %d", i)}}, nil)
			switch code {
			case http.StatusTooManyRequests:
				limited++
			case http.StatusUnauthorized:
			default:
				t.Errorf("attempt %d: status %d", i, code)
			}
		}
		if limited < 6 {
			t.Errorf("%d of 12 wrong passwords were slowed down, want most", limited)
		}
		// The right password is refused too while the limit holds.
		if code := formPost(t, hostileClient, h.Base+"/signin", url.Values{"handle": {"alice"}, "password": {testPassword}}, nil); code != http.StatusTooManyRequests {
			t.Errorf("right password during the lockout: %d, want 429", code)
		}
	})
}

// notQueued checks that an activity answered 202 was dropped unstored.
func notQueued(h *hostileNode) func(t *testing.T, marker string) {
	return func(t *testing.T, marker string) {
		if found, _, _ := h.itemOutcome(t, marker); found {
			t.Errorf("queued, want it dropped")
		}
	}
}

// Markers inside hostile actor documents, which exist before any case.
var (
	hugeNameMarker   = newMarker(90)
	longHandleMarker = newMarker(91)
)

// formPost sends a form as a browser would from the node's own pages
// (Origin is the target's) unless headers say otherwise, and returns the
// status.
func formPost(t *testing.T, c *http.Client, target string, form url.Values, headers map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	u, _ := url.Parse(target)
	req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	for k, v := range headers {
		req.Header.Set(k, v)
		if k != "Origin" {
			req.Header.Del("Origin")
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", target, err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
