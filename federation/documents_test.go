package federation_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/markup"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// multiValued lists the fields that must always be JSON arrays, wherever
// they appear in a document.
var multiValued = []string{"to", "cc", "bto", "bcc", "tag", "orderedItems", "items", "attachment"}

// checkShape applies the rules every top-level document follows: the
// exact @context, the id equal to the URL it was fetched from, the type,
// and arrays for multi-valued fields at every depth.
func checkShape(t *testing.T, m map[string]any, url, typ string) {
	t.Helper()
	ctx, ok := m["@context"].([]any)
	if !ok || len(ctx) != 3 || ctx[0] != "https://www.w3.org/ns/activitystreams" || ctx[1] != "https://w3id.org/security/v1" {
		t.Fatalf("%s: @context = %#v", url, m["@context"])
	}
	terms, _ := ctx[2].(map[string]any)
	for _, term := range []string{"sensitive", "manuallyApprovesFollowers", "quote", "quoteUrl", "_misskey_quote", "discoverable"} {
		if terms[term] == nil {
			t.Errorf("%s: @context defines no %q", url, term)
		}
	}
	if m["id"] != url {
		t.Errorf("id = %v, want the URL %s", m["id"], url)
	}
	if m["type"] != typ {
		t.Errorf("%s: type = %v, want %s", url, m["type"], typ)
	}
	checkArrays(t, url, m)
}

func checkArrays(t *testing.T, where string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if slices.Contains(multiValued, k) {
				if _, ok := x.([]any); !ok {
					t.Errorf("%s: %q is %T, want an array", where, k, x)
				}
			}
			if k != "@context" {
				checkArrays(t, where+"."+k, x)
			}
		}
	case []any:
		for _, x := range v {
			checkArrays(t, where, x)
		}
	}
}

func str(m map[string]any, path ...string) string {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[k]
	}
	s, _ := v.(string)
	return s
}

var handleRE = regexp.MustCompile(`^[a-z0-9_.-]+$`)

func TestActorDocuments(t *testing.T) {
	n := testnode.New(t, nil)
	th := n.Fx.Thread
	cases := []struct {
		url, typ, username, name string
	}{
		{n.URLs.Member("alice"), "Person", "alice", "Alice Liddell"},
		{n.URLs.Forum("kitchen"), "Group", "kitchen", "The Kitchen"},
		{n.URLs.Thread(th.ID), "Group", "t." + th.ID.String(), "Sourdough starter keeps dying"},
		{n.URLs.InstanceActor(), "Application", site.InstanceActorName, n.URLs.Host()},
	}
	for _, c := range cases {
		t.Run(c.typ+" "+c.username, func(t *testing.T) {
			m := n.Doc(c.url, http.StatusOK)
			checkShape(t, m, c.url, c.typ)
			if m["preferredUsername"] != c.username || !handleRE.MatchString(c.username) {
				t.Errorf("preferredUsername = %v, want %s", m["preferredUsername"], c.username)
			}
			if m["name"] != c.name {
				t.Errorf("name = %v, want %q", m["name"], c.name)
			}
			for _, f := range []string{"inbox", "outbox", "followers", "following"} {
				if str(m, f) != c.url+"/"+f {
					t.Errorf("%s = %v", f, m[f])
				}
			}
			if str(m, "endpoints", "sharedInbox") != n.URLs.SharedInbox() {
				t.Errorf("endpoints = %v", m["endpoints"])
			}
			if str(m, "publicKey", "id") != c.url+"#main-key" || str(m, "publicKey", "owner") != c.url {
				t.Errorf("publicKey = %v", m["publicKey"])
			}
			block, _ := pem.Decode([]byte(str(m, "publicKey", "publicKeyPem")))
			if block == nil {
				t.Fatalf("publicKeyPem is not PEM")
			}
			pub, err := x509.ParsePKIXPublicKey(block.Bytes)
			if rsaPub, ok := pub.(*rsa.PublicKey); err != nil || !ok || rsaPub.N.BitLen() != 2048 {
				t.Fatalf("publicKeyPem is not an RSA-2048 key: %v", err)
			}
			if _, ok := m["manuallyApprovesFollowers"].(bool); !ok {
				t.Errorf("manuallyApprovesFollowers missing")
			}
		})
	}

	// The thread actor is what a Mastodon user follows: its summary is the
	// opening post, its url the thread page, and it links its posts.
	m := n.Doc(n.URLs.Thread(th.ID), http.StatusOK)
	if s := str(m, "summary"); !strings.Contains(s, "Mine goes flat after three days") || strings.Contains(s, "<strong>") {
		t.Errorf("thread summary = %q", s)
	}
	if str(m, "url") != n.URLs.Thread(th.ID) || str(m, "posts") != n.URLs.ThreadPosts(th.ID) {
		t.Errorf("thread url/posts = %v / %v", m["url"], m["posts"])
	}
	if str(m, "audience") != n.URLs.Forum("kitchen") {
		t.Errorf("thread audience = %v", m["audience"])
	}
	f := n.Doc(n.URLs.Forum("kitchen"), http.StatusOK)
	if str(f, "threads") != n.URLs.ForumThreads("kitchen") || str(f, "summary") != "<p>Cooking, baking and fermenting.</p>" {
		t.Errorf("forum threads/summary = %v / %v", f["threads"], f["summary"])
	}

	// Unknown actors are 404; a deleted thread is gone.
	for _, u := range []string{n.URLs.Member("nobody"), n.URLs.Forum("nowhere"), n.URLs.Thread(12345), n.URLs.Base() + "/t/NOT-AN-ID"} {
		if resp := n.Get(u, testnode.APAccept); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", u, resp.StatusCode)
		}
	}
	if err := n.Store.DeleteThread(context.Background(), th.ID); err != nil {
		t.Fatal(err)
	}
	gone := n.Doc(n.URLs.Thread(th.ID), http.StatusGone)
	checkShape(t, gone, n.URLs.Thread(th.ID), "Tombstone")
	if gone["formerType"] != "Group" {
		t.Errorf("formerType = %v", gone["formerType"])
	}
}

func TestNoteDocuments(t *testing.T) {
	n := testnode.New(t, nil)
	ctx := context.Background()
	first, reply, quote := n.Fx.Posts[0], n.Fx.Posts[1], n.Fx.Posts[2]
	th := n.Fx.Thread
	if _, err := n.Store.LikePost(ctx, first.ID, n.Fx.Bob.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Store.EditPost(ctx, reply.ID, "Switch to *rye*.", "<p>Switch to <em>rye</em>.</p>"); err != nil {
		t.Fatal(err)
	}

	// Rules every Note follows.
	for _, p := range n.Fx.Posts {
		url := n.URLs.Post(p.ID)
		m := n.Doc(url, http.StatusOK)
		checkShape(t, m, url, "Note")
		author, _ := n.Store.AccountByID(ctx, p.AuthorID)
		if str(m, "attributedTo") != n.URLs.Member(author.Handle) {
			t.Errorf("%s attributedTo = %v", url, m["attributedTo"])
		}
		if str(m, "context") != n.URLs.ThreadPosts(th.ID) || str(m, "audience") != n.URLs.Forum("kitchen") {
			t.Errorf("%s context/audience = %v / %v", url, m["context"], m["audience"])
		}
		if to := m["to"].([]any); len(to) != 1 || to[0] != as.Public {
			t.Errorf("%s to = %v", url, to)
		}
		cc := m["cc"].([]any)
		if cc[0] != n.URLs.Forum("kitchen") { // FEP-1b12: NodeBB files a post under the first group
			t.Errorf("%s cc = %v: the forum is not the first group addressed", url, cc)
		}
		for _, want := range []string{n.URLs.Member(author.Handle) + "/followers", n.URLs.Thread(th.ID) + "/followers"} {
			if !slices.Contains(cc, any(want)) {
				t.Errorf("%s cc = %v, missing %s", url, cc, want)
			}
		}
		tags := m["tag"].([]any)
		mention, _ := tags[0].(map[string]any)
		if mention["type"] != "Mention" || mention["href"] != n.URLs.Thread(th.ID) || mention["name"] != "@t."+th.ID.String()+"@"+n.URLs.Host() {
			t.Errorf("%s tag = %v", url, tags)
		}
		if str(m, "source", "mediaType") != "text/markdown" || str(m, "source", "content") == "" {
			t.Errorf("%s source = %v", url, m["source"])
		}
		if str(m, "url") != n.URLs.Base()+site.PostPermalinkPath(p) {
			t.Errorf("%s url = %v", url, m["url"])
		}
		if str(m, "published") == "" || str(m, "content") == "" {
			t.Errorf("%s lacks published or content", url)
		}
		// The first page of the replies is embedded: GoToSocial walks
		// a conversation only through an embedded page.
		if str(m, "replies", "id") != url+"/replies" || str(m, "replies", "first", "id") != url+"/replies?page=true" ||
			str(m, "replies", "first", "type") != "OrderedCollectionPage" {
			t.Errorf("%s replies = %v", url, m["replies"])
		}
		if _, ok := m["likes"].(map[string]any)["totalItems"].(float64); !ok || str(m, "likes", "id") != url+"/likes" {
			t.Errorf("%s likes = %v", url, m["likes"])
		}
	}

	// The opening post's content opens with the thread's title, in bold
	// (Lemmy and NodeBB take a nameless post's first line as its title),
	// and it has no name (GoToSocial would show it as a content warning);
	// it replies to nothing.
	m := n.Doc(n.URLs.Post(first.ID), http.StatusOK)
	if m["name"] != nil || m["summary"] != nil || m["sensitive"] != false || m["inReplyTo"] != nil {
		t.Errorf("first post name/summary/sensitive/inReplyTo = %v / %v / %v / %v", m["name"], m["summary"], m["sensitive"], m["inReplyTo"])
	}
	if m["likes"].(map[string]any)["totalItems"] != float64(1) {
		t.Errorf("likes = %v", m["likes"])
	}
	if m["content"] != "<p><strong>"+th.Title+"</strong></p><p>Mine goes flat after <strong>three days</strong>. Flour or water?</p>" {
		t.Errorf("content = %v", m["content"])
	}
	// A reply answers the post it replies to, has no title, and shows
	// its edit.
	m = n.Doc(n.URLs.Post(reply.ID), http.StatusOK)
	if m["name"] != nil || m["inReplyTo"] != n.URLs.Post(first.ID) || str(m, "updated") == "" {
		t.Errorf("reply name/inReplyTo/updated = %v / %v / %v", m["name"], m["inReplyTo"], m["updated"])
	}
	if m["quote"] != nil {
		t.Errorf("a plain reply has quote %v", m["quote"])
	}
	// A quote carries FEP-044f's quote and the two older spellings.
	m = n.Doc(n.URLs.Post(quote.ID), http.StatusOK)
	want := n.URLs.Post(reply.ID)
	if m["quote"] != want || m["quoteUrl"] != want || m["_misskey_quote"] != want || m["inReplyTo"] != want {
		t.Errorf("quote fields = %v %v %v, inReplyTo %v", m["quote"], m["quoteUrl"], m["_misskey_quote"], m["inReplyTo"])
	}
	if m["updated"] != nil {
		t.Errorf("unedited post has updated %v", m["updated"])
	}
}

// A reply to a remote post points at the remote post's own id.
func TestNoteRepliesToRemotePost(t *testing.T) {
	n := testnode.New(t, nil)
	ctx := context.Background()
	remote := n.AddRemoteAccount("zed", "remote.example")
	apid := "https://remote.example/notes/1"
	rp, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: n.Fx.Thread.ID, AuthorID: remote.ID, Source: "hi",
		HTML: "<p>hi</p>", APID: &apid, URL: apid})
	if err != nil {
		t.Fatal(err)
	}
	local, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: n.Fx.Thread.ID, AuthorID: n.Fx.Bob.ID, Source: "hello",
		HTML: "<p>hello</p>", ReplyToID: &rp.ID})
	if err != nil {
		t.Fatal(err)
	}
	m := n.Doc(n.URLs.Post(local.ID), http.StatusOK)
	if m["inReplyTo"] != apid {
		t.Errorf("inReplyTo = %v, want %s", m["inReplyTo"], apid)
	}
	// It mentions and addresses the author it answers, as Mastodon-family
	// servers expect, in the document served as in the one delivered.
	if !hasMention(m, *remote.APID, "@zed@remote.example") || !slices.Contains(m["cc"].([]any), any(*remote.APID)) {
		t.Errorf("reply to zed: tag %v, cc %v", m["tag"], m["cc"])
	}
	// The node does not speak for the remote post.
	if resp := n.Get(n.URLs.Post(rp.ID), testnode.APAccept); resp.StatusCode != http.StatusNotFound {
		t.Errorf("remote post served locally: %d", resp.StatusCode)
	}
}

func TestDeletedPostIsTombstone(t *testing.T) {
	n := testnode.New(t, nil)
	p := n.Fx.Posts[1]
	if err := n.Store.DeletePost(context.Background(), p.ID); err != nil {
		t.Fatal(err)
	}
	url := n.URLs.Post(p.ID)
	m := n.Doc(url, http.StatusGone)
	checkShape(t, m, url, "Tombstone")
	if m["formerType"] != "Note" || str(m, "deleted") == "" || m["content"] != nil {
		t.Errorf("tombstone = %v", m)
	}
	// Its collections are gone too.
	if resp := n.Get(url+"/replies", testnode.APAccept); resp.StatusCode != http.StatusGone {
		t.Errorf("replies of a deleted post: %d", resp.StatusCode)
	}
}

func TestContentNegotiation(t *testing.T) {
	n := testnode.New(t, nil)
	urls := []string{
		n.URLs.Member("alice"), n.URLs.Forum("kitchen"), n.URLs.Thread(n.Fx.Thread.ID), n.URLs.Post(n.Fx.Posts[0].ID),
	}
	for _, accept := range []string{testnode.APAccept, testnode.LDAccept} {
		for _, u := range urls {
			resp := n.Get(u, accept)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/activity+json; charset=utf-8" {
				t.Errorf("GET %s Accept %s: %d %s", u, accept, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if !strings.Contains(string(body), fmt.Sprintf(`"id":%q`, u)) {
				t.Errorf("GET %s: id is not the URL: %.200s", u, body)
			}
		}
	}
}

func TestConditionalRequests(t *testing.T) {
	n := testnode.New(t, nil)
	// Actors change without leaving a time behind: ETag only.
	member := n.URLs.Member("alice")
	resp := n.Get(member, testnode.APAccept)
	resp.Body.Close()
	if etag := resp.Header.Get("ETag"); etag == "" {
		t.Errorf("GET %s: no ETag", member)
	} else if r := n.Get(member, testnode.APAccept, "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
		t.Errorf("GET %s If-None-Match: %d, want 304", member, r.StatusCode)
	}
	// A Note with replies embeds them: ETag only, as a reply deleted
	// from the embedded page leaves no time behind.
	first := n.URLs.Post(n.Fx.Posts[0].ID)
	resp = n.Get(first, testnode.APAccept)
	resp.Body.Close()
	if etag := resp.Header.Get("ETag"); etag == "" || resp.Header.Get("Last-Modified") != "" {
		t.Errorf("GET %s: ETag %q, Last-Modified %q", first, etag, resp.Header.Get("Last-Modified"))
	} else if r := n.Get(first, testnode.APAccept, "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
		t.Errorf("GET %s If-None-Match: %d, want 304", first, r.StatusCode)
	}
	for _, u := range []string{
		n.URLs.Post(n.Fx.Posts[2].ID), // no replies
		n.URLs.Thread(n.Fx.Thread.ID),
		n.URLs.ThreadPosts(n.Fx.Thread.ID),
		n.URLs.ThreadPosts(n.Fx.Thread.ID) + "?page=true&from=1",
	} {
		resp := n.Get(u, testnode.APAccept)
		resp.Body.Close()
		etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
		if resp.StatusCode != http.StatusOK || etag == "" || lm == "" {
			t.Fatalf("GET %s: %d, ETag %q, Last-Modified %q", u, resp.StatusCode, etag, lm)
		}
		if r := n.Get(u, testnode.APAccept, "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s If-None-Match: %d, want 304", u, r.StatusCode)
		}
		if r := n.Get(u, testnode.APAccept, "If-None-Match", `"other"`); r.StatusCode != http.StatusOK {
			t.Errorf("GET %s If-None-Match other: %d, want 200", u, r.StatusCode)
		}
		if r := n.Get(u, testnode.APAccept, "If-Modified-Since", lm); r.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s If-Modified-Since: %d, want 304", u, r.StatusCode)
		}
	}
	// An edit changes the ETag.
	u := n.URLs.Post(n.Fx.Posts[1].ID)
	before := n.Get(u, testnode.APAccept).Header.Get("ETag")
	if _, err := n.Store.EditPost(context.Background(), n.Fx.Posts[1].ID, "New text.", "<p>New text.</p>"); err != nil {
		t.Fatal(err)
	}
	if r := n.Get(u, testnode.APAccept, "If-None-Match", before); r.StatusCode != http.StatusOK {
		t.Errorf("after an edit: %d, want 200", r.StatusCode)
	}
}

// The web pages take queries; the documents redirect so their ids stay
// equal to the URLs they are fetched from.
func TestDocumentQueriesRedirect(t *testing.T) {
	n := testnode.New(t, nil)
	th := n.URLs.Thread(n.Fx.Thread.ID)
	for u, want := range map[string]string{
		th + "?page=3":                        site.ThreadPostsPath(n.Fx.Thread.ID) + "?page=true&from=41",
		th + "?page=1":                        site.ThreadPath(n.Fx.Thread.ID),
		th + "?page=x":                        site.ThreadPath(n.Fx.Thread.ID),
		n.URLs.Member("alice") + "?tab=posts": "/u/alice",
	} {
		resp := n.Get(u, testnode.APAccept)
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want %q", u, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}

// hasMention reports whether a Note tags href as a Mention named name.
func hasMention(m map[string]any, href, name string) bool {
	tags, _ := m["tag"].([]any)
	for _, t := range tags {
		tag, _ := t.(map[string]any)
		if tag["type"] == "Mention" && tag["href"] == href && tag["name"] == name {
			return true
		}
	}
	return false
}

// A content warning federates as summary with sensitive set; a post
// without one has neither.
func TestNoteContentWarning(t *testing.T) {
	n := testnode.New(t, nil)
	ctx := context.Background()
	p, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: n.Fx.Thread.ID, AuthorID: n.Fx.Bob.ID, Source: "The ending",
		HTML: "<p>The ending</p>", Summary: "Spoilers for the book"})
	if err != nil {
		t.Fatal(err)
	}
	m := n.Doc(n.URLs.Post(p.ID), http.StatusOK)
	if m["summary"] != "Spoilers for the book" || m["sensitive"] != true {
		t.Errorf("summary/sensitive = %v / %v", m["summary"], m["sensitive"])
	}
	m = n.Doc(n.URLs.Post(n.Fx.Posts[1].ID), http.StatusOK)
	if _, ok := m["summary"]; ok || m["sensitive"] != false {
		t.Errorf("a post without a warning: summary/sensitive = %v / %v", m["summary"], m["sensitive"])
	}
}

// An ampersand a member typed is escaped once in the Note's content, and
// the JSON keeps the HTML readable (no \u0026).
func TestNoteContentEscapesAmpersand(t *testing.T) {
	n := testnode.New(t, nil)
	src := "Salt & pepper, AT&T, 1 < 2"
	p, err := n.Store.CreatePost(context.Background(), storage.NewPost{ThreadID: n.Fx.Thread.ID, AuthorID: n.Fx.Bob.ID,
		Source: src, HTML: markup.RenderMarkdown(src)})
	if err != nil {
		t.Fatal(err)
	}
	want := "<p>Salt &amp; pepper, AT&amp;T, 1 &lt; 2</p>"
	url := n.URLs.Post(p.ID)
	if m := n.Doc(url, http.StatusOK); strings.TrimSpace(str(m, "content")) != want || str(m, "source", "content") != src {
		t.Errorf("content %q, source %q", m["content"], m["source"])
	}
	resp := n.Get(url, testnode.APAccept)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "Salt &amp; pepper") {
		t.Errorf("the Note's JSON spells the content otherwise: %s", body)
	}
}
