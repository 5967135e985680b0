package federation_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// WebFinger round trip for every kind of actor, on a host with a port:
// acct:NAME@HOST leads to an actor whose preferredUsername@HOST is the
// same address again.
func TestWebFingerRoundTrip(t *testing.T) {
	n := testnode.New(t, nil)
	host := n.URLs.Host()
	if !strings.Contains(host, ":") {
		t.Fatalf("test host %q has no port", host)
	}
	th := n.Fx.Thread
	for name, actor := range map[string]string{
		"alice":                n.URLs.Member("alice"),
		"kitchen":              n.URLs.Forum("kitchen"),
		"t." + th.ID.String():  n.URLs.Thread(th.ID),
		site.InstanceActorName: n.URLs.InstanceActor(),
	} {
		resource := "acct:" + name + "@" + host
		resp, jrd := n.WebFinger(resource)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/jrd+json") {
			t.Fatalf("webfinger %s: %d %s", resource, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if jrd["subject"] != resource {
			t.Errorf("subject = %v, want %s", jrd["subject"], resource)
		}
		var self string
		for _, l := range jrd["links"].([]any) {
			l := l.(map[string]any)
			if l["rel"] == "self" && l["type"] == "application/activity+json" {
				self, _ = l["href"].(string)
			}
		}
		if self != actor {
			t.Fatalf("webfinger %s: self = %q, want %s", resource, self, actor)
		}
		doc := n.Doc(self, http.StatusOK)
		if got := str(doc, "preferredUsername") + "@" + host; got != name+"@"+host || !handleRE.MatchString(str(doc, "preferredUsername")) {
			t.Errorf("round trip: %s gave %s", resource, got)
		}
		// The actor's id works as a resource too.
		if resp, jrd := n.WebFinger(actor); resp.StatusCode != http.StatusOK || jrd["subject"] != actor {
			t.Errorf("webfinger by id %s: %d %v", actor, resp.StatusCode, jrd["subject"])
		}
	}

	// The subject echoes the resource exactly, even in another case.
	if resp, jrd := n.WebFinger("acct:Alice@" + strings.ToUpper(host)); resp.StatusCode != http.StatusOK || jrd["subject"] != "acct:Alice@"+strings.ToUpper(host) {
		t.Errorf("mixed case: %d %v", resp.StatusCode, jrd["subject"])
	}

	if err := n.Store.DeleteThread(context.Background(), th.ID); err != nil {
		t.Fatal(err)
	}
	for resource, status := range map[string]int{
		"acct:nobody@" + host:                   404,
		"acct:alice@other.example":              404,
		"acct:alice@" + n.URLs.Host() + "0":     404,
		"acct:t." + th.ID.String() + "@" + host: 410, // deleted, as its document
		"acct:t.zz@" + host:                     404,
		"acct:@" + host:                         404,
		"https://elsewhere.example/u/alice":     404,
		n.URLs.Base() + "/u/kitchen":            404, // a forum is not a member
		"":                                      400,
	} {
		if resp, _ := n.WebFinger(resource); resp.StatusCode != status {
			t.Errorf("webfinger %q: %d, want %d", resource, resp.StatusCode, status)
		}
	}
}

// WebFinger answers for an actor with the status of its document: a
// member who deleted their account or was suspended, and a deleted
// thread, are gone (410: Mastodon drops its copy of an account whose
// WebFinger answers so); a registration awaiting approval, the hidden
// forum of mirrored threads and a mirror are not found (404); the rest
// answer (see TestWebFingerRoundTrip for live threads). By name and by
// id alike.
func TestWebFingerAgreesWithTheActorDocument(t *testing.T) {
	n := testnode.New(t, nil)
	ctx := context.Background()
	member := func(handle string, pending bool) *storage.Account {
		t.Helper()
		a, err := n.Store.CreateMember(ctx, storage.NewMember{Handle: handle, PasswordHash: "x", ApprovalPending: pending})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	departed, benched := member("departed", false), member("benched", false)
	member("newcomer", true)
	if err := n.Store.DeleteOwnAccount(ctx, departed.ID); err != nil {
		t.Fatal(err)
	}
	if err := n.Store.SuspendAccount(ctx, n.Fx.Mod.ID, benched.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := n.Store.DeleteThread(ctx, n.Fx.Thread.ID); err != nil {
		t.Fatal(err)
	}
	mirrors, err := n.Store.MirrorForum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ana := n.AddRemoteAccount("ana", "social.example")
	note := "https://social.example/users/ana/statuses/1"
	mirror, err := n.Store.MirrorThread(ctx, storage.NewMirror{APID: note, RemoteActorID: &ana.ID, Title: "Rye elsewhere",
		First: storage.NewPost{AuthorID: ana.ID, HTML: "<p>Rye elsewhere</p>", APID: &note, URL: note}})
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, actor string
		status      int
	}{
		{"alice", n.URLs.Member("alice"), http.StatusOK},
		{"departed", n.URLs.Member("departed"), http.StatusGone},
		{"benched", n.URLs.Member("benched"), http.StatusGone},
		{"newcomer", n.URLs.Member("newcomer"), http.StatusNotFound},
		{"kitchen", n.URLs.Forum("kitchen"), http.StatusOK},
		{mirrors.Slug, n.URLs.Forum(mirrors.Slug), http.StatusNotFound},
		{"t." + n.Fx.Thread.ID.String(), n.URLs.Thread(n.Fx.Thread.ID), http.StatusGone},
		{"t." + mirror.ID.String(), n.URLs.Thread(mirror.ID), http.StatusNotFound},
	} {
		resp := n.Get(c.actor, testnode.APAccept)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("GET %s: %d, want %d", c.actor, resp.StatusCode, c.status)
		}
		for _, res := range []string{"acct:" + c.name + "@" + n.URLs.Host(), c.actor} {
			if resp, _ := n.WebFinger(res); resp.StatusCode != c.status {
				t.Errorf("WebFinger %s: %d, want %d as its document", res, resp.StatusCode, c.status)
			}
		}
	}
}

// One namespace: a forum cannot take a member's name or the reverse, and
// the instance actor's name is reserved.
func TestOneNamespace(t *testing.T) {
	n := testnode.New(t, nil)
	ctx := context.Background()
	if _, err := n.Store.CreateForum(ctx, storage.NewForum{Slug: "alice", Title: "Alice's"}); !errors.Is(err, storage.ErrNameTaken) {
		t.Errorf("forum named like a member: %v", err)
	}
	if _, err := n.Store.CreateMember(ctx, storage.NewMember{Handle: "kitchen"}); !errors.Is(err, storage.ErrNameTaken) {
		t.Errorf("member named like a forum: %v", err)
	}
	if _, err := n.Store.CreateMember(ctx, storage.NewMember{Handle: site.InstanceActorName}); !errors.Is(err, storage.ErrNameTaken) {
		t.Errorf("member named like the instance actor: %v", err)
	}
}

func TestNodeInfo(t *testing.T) {
	n := testnode.New(t, nil)
	resp := n.Get(n.URLs.Base()+"/.well-known/nodeinfo", "application/json")
	var index struct {
		Links []struct{ Rel, Href string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&index); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hrefs := map[string]string{}
	for _, l := range index.Links {
		hrefs[l.Rel] = l.Href
	}
	if hrefs["https://www.w3.org/ns/activitystreams#Application"] != n.URLs.InstanceActor() {
		t.Errorf("no FEP-2677 link to the instance actor: %v", hrefs)
	}
	for _, v := range []string{"2.0", "2.1"} {
		href := hrefs["http://nodeinfo.diaspora.software/ns/schema/"+v]
		if href != n.URLs.Base()+"/nodeinfo/"+v {
			t.Fatalf("nodeinfo %s link = %q", v, href)
		}
		resp := n.Get(href, "application/json")
		if !strings.Contains(resp.Header.Get("Content-Type"), "schema/"+v) {
			t.Errorf("nodeinfo %s Content-Type %q", v, resp.Header.Get("Content-Type"))
		}
		var ni map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&ni); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		users, _ := ni["usage"].(map[string]any)["users"].(map[string]any)
		if ni["version"] != v || str(ni, "software", "name") != "skein" || str(ni, "software", "version") != "0.1.0-test" ||
			ni["openRegistrations"] != true || ni["protocols"].([]any)[0] != "activitypub" ||
			users["total"] != float64(3) || users["activeMonth"] != float64(2) || users["activeHalfyear"] != float64(2) ||
			ni["usage"].(map[string]any)["localPosts"] != float64(3) {
			t.Errorf("nodeinfo %s = %v", v, ni)
		}
	}
	resp = n.Get(n.URLs.Base()+"/.well-known/host-meta", "")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `template="`+n.URLs.Base()+`/.well-known/webfinger?resource={uri}"`) {
		t.Errorf("host-meta = %s", body)
	}
}

// FuzzWebFingerResource throws arbitrary resources at WebFinger. Whatever
// arrives, the answer is 200 (a real local actor whose subject echoes the
// resource), 400 or 404 — never a server error, never a panic.
func FuzzWebFingerResource(f *testing.F) {
	n := testnode.New(f, nil)
	host := n.URLs.Host()
	for _, seed := range []string{
		"acct:alice@" + host, "acct:kitchen@" + host, "acct:instance@" + host,
		"acct:t." + n.Fx.Thread.ID.String() + "@" + host, "@alice@" + host, "alice@" + host,
		"acct:ALICE@" + strings.ToUpper(host), "acct:@" + host, "acct:alice@", "acct:alice@other.example",
		n.URLs.Member("alice"), n.URLs.Thread(n.Fx.Thread.ID), n.URLs.Base() + "/u/", n.URLs.Base() + "/t/zz/x",
		"acct:t.@" + host, "acct:t.-1@" + host, "acct:" + strings.Repeat("a", 5000) + "@" + host,
		"acct:al\x00ice@" + host, "acct:\xff\xfe@" + host, "", "http://", "acct:a@b@c",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, resource string) {
		req := httptest.NewRequest("GET", "/.well-known/webfinger?resource="+url.QueryEscape(resource), nil)
		rec := httptest.NewRecorder()
		n.Mux.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			if !utf8.ValidString(resource) {
				t.Fatalf("invalid UTF-8 resource %q found an actor", resource)
			}
			if !strings.Contains(rec.Body.String(), `"subject"`) {
				t.Fatalf("200 without a subject for %q: %s", resource, rec.Body.String())
			}
		case http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("resource %q: status %d: %s", resource, rec.Code, rec.Body.String())
		}
	})
}
