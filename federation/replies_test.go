package federation_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/skein-forum/skein/federation"
	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// walkReplies follows a Note's replies from the page embedded in it to
// the last page, checking each page's shape, and returns the items.
func walkReplies(t *testing.T, n *testnode.Node, note map[string]any) []string {
	t.Helper()
	replies, _ := note["replies"].(map[string]any)
	page, _ := replies["first"].(map[string]any)
	if page == nil {
		t.Fatalf("%s: replies.first is not embedded: %v", note["id"], replies)
	}
	var items []string
	for pages := 0; ; pages++ {
		if page["type"] != "OrderedCollectionPage" || page["partOf"] != replies["id"] {
			t.Fatalf("replies page = %v", page)
		}
		for _, it := range page["orderedItems"].([]any) {
			items = append(items, itemID(t, it))
		}
		next := str(page, "next")
		if next == "" {
			return items
		}
		if pages > 10 {
			t.Fatal("replies pages do not end")
		}
		page = n.Doc(next, http.StatusOK)
		checkShape(t, page, next, "OrderedCollectionPage")
	}
}

// A Note's replies are the Notes that name it as inReplyTo: for the
// opening post, the thread's posts that reply to nothing in particular
// as well as the explicit replies; oldest first, a thread page at a time.
func TestRepliesAreWhatAnswersThePost(t *testing.T) {
	n := testnode.New(t, nil)
	ctx := context.Background()
	th, fx := n.Fx.Thread, n.Fx
	more := storagetest.Replies(t, n.Store, th.ID, fx.Bob.ID, 2*federation.PostsPageSize+3)
	if err := n.Store.DeletePost(ctx, more[5].ID); err != nil {
		t.Fatal(err)
	}
	answer, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: th.ID, AuthorID: fx.Alice.ID,
		Source: "Rye it is.", HTML: "<p>Rye it is.</p>", ReplyToID: &fx.Posts[1].ID})
	if err != nil {
		t.Fatal(err)
	}

	firstURL := n.URLs.Post(fx.Posts[0].ID)
	want := []string{n.URLs.Post(fx.Posts[1].ID)}
	for i, p := range more {
		if i != 5 {
			want = append(want, n.URLs.Post(p.ID))
		}
	}
	got := walkReplies(t, n, n.Doc(firstURL, http.StatusOK))
	if len(got) != len(want) {
		t.Fatalf("the opening post has %d replies, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("reply %d is %s, want %s", i, got[i], want[i])
		}
	}
	// Each reply listed names the post as inReplyTo, and so does nothing
	// else in the thread.
	listed := make(map[string]bool)
	for _, id := range got {
		listed[id] = true
		if m := n.Doc(id, http.StatusOK); m["inReplyTo"] != firstURL {
			t.Errorf("%s is listed as a reply but answers %v", id, m["inReplyTo"])
		}
	}
	for _, p := range []*storage.Post{fx.Posts[2], answer} {
		if listed[n.URLs.Post(p.ID)] {
			t.Errorf("%s is listed, but answers something else", n.URLs.Post(p.ID))
		}
	}

	// Bob's reply is answered by Alice's quote and Alice's reply.
	got = walkReplies(t, n, n.Doc(n.URLs.Post(fx.Posts[1].ID), http.StatusOK))
	if len(got) != 2 || got[0] != n.URLs.Post(fx.Posts[2].ID) || got[1] != n.URLs.Post(answer.ID) {
		t.Errorf("replies of the reply = %v", got)
	}
	if got := walkReplies(t, n, n.Doc(n.URLs.Post(answer.ID), http.StatusOK)); len(got) != 0 {
		t.Errorf("a post nobody answered has replies %v", got)
	}

	// The collection links the same pages.
	coll := n.URLs.PostReplies(fx.Posts[0].ID)
	m := n.Doc(coll, http.StatusOK)
	checkShape(t, m, coll, "OrderedCollection")
	page := n.Doc(str(m, "first"), http.StatusOK)
	checkShape(t, page, coll+"?page=true", "OrderedCollectionPage")
	if items := page["orderedItems"].([]any); len(items) != federation.PostsPageSize || items[0] != want[0] {
		t.Errorf("first page = %v", items)
	}
	for q, status := range map[string]int{"?page=true&after=abc": 400, "?page=true&after=0": 400, "?page=true&before=3": 400} {
		resp := n.Get(coll+q, testnode.APAccept)
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Errorf("GET replies%s: %d, want %d", q, resp.StatusCode, status)
		}
	}
}

// The Note served at /p/ID is kept between requests and rebuilt when a
// reply comes or goes.
func TestNoteCacheSeesNewReplies(t *testing.T) {
	n := testnode.New(t, nil)
	ctx := context.Background()
	fx := n.Fx
	url := n.URLs.Post(fx.Posts[2].ID)
	body := func() string {
		t.Helper()
		resp := n.Get(url, testnode.APAccept)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", url, resp.StatusCode)
		}
		return string(b)
	}
	before := body()
	if body() != before {
		t.Fatal("an unchanged post served a different Note")
	}
	reply, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID,
		Source: "Good luck.", HTML: "<p>Good luck.</p>", ReplyToID: &fx.Posts[2].ID})
	if err != nil {
		t.Fatal(err)
	}
	if got := walkReplies(t, n, n.Doc(url, http.StatusOK)); len(got) != 1 || got[0] != n.URLs.Post(reply.ID) {
		t.Fatalf("after a reply the Note lists %v", got)
	}
	if err := n.Store.DeletePost(ctx, reply.ID); err != nil {
		t.Fatal(err)
	}
	if got := walkReplies(t, n, n.Doc(url, http.StatusOK)); len(got) != 0 {
		t.Fatalf("after the reply's deletion the Note lists %v", got)
	}
	if body() != before {
		t.Error("the Note differs from before the reply came and went")
	}
}

// Behind a proxy that re-encodes queries (sorting the parameters, as
// url.Values.Encode does) every collection page is served as asked:
// redirecting to the node's own order would be an endless loop.
func TestCollectionQueriesInAnyOrder(t *testing.T) {
	n := testnode.New(t, nil)
	th, fx := n.Fx.Thread, n.Fx
	storagetest.Replies(t, n.Store, th.ID, fx.Bob.ID, 2*federation.PostsPageSize)
	target, _ := url.Parse(n.Srv.URL)
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.URL.RawQuery = r.In.URL.Query().Encode()
	}})
	t.Cleanup(proxy.Close)

	for _, path := range []string{
		site.ThreadPostsPath(th.ID) + "?page=true&from=21",
		site.PostRepliesPath(fx.Posts[0].ID) + "?page=true&after=22",
		"/u/alice/outbox?page=true&before=" + fx.Posts[2].ID.String(),
		site.ThreadPath(th.ID) + "/outbox?page=true&before=30",
		"/f/kitchen/threads?page=true&after=" + th.ID.String(),
	} {
		req, _ := http.NewRequest(http.MethodGet, proxy.URL+path, nil)
		req.Header.Set("Accept", testnode.APAccept)
		resp, err := http.DefaultClient.Do(req) // follows redirects, at most ten
		if err != nil {
			t.Errorf("GET %s through the proxy: %v", path, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.Response != nil {
			t.Errorf("GET %s through the proxy: %d at %s, redirected: %v", path, resp.StatusCode, resp.Request.URL, resp.Request.Response != nil)
		}
	}
}
