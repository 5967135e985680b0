package federation_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// itemID is the id of an orderedItems entry: an embedded object's id or
// a bare id.
func itemID(t *testing.T, v any) string {
	t.Helper()
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		return str(v, "id")
	}
	t.Fatalf("item %T", v)
	return ""
}

// A thread of 120 posts walked through its collection forwards and
// backwards: every post once, in thread order, no gaps, no repeats.
func TestThreadCollectionPaging(t *testing.T) {
	n := testnode.New(t, nil)
	ctx := context.Background()
	th := n.Fx.Thread
	storagetest.Replies(t, n.Store, th.ID, n.Fx.Bob.ID, 117)
	// A deleted post keeps its place as a Tombstone.
	all, err := n.Store.PostsInRange(ctx, th.ID, 1, 1000)
	if err != nil || len(all) != 120 {
		t.Fatalf("posts: %d, %v", len(all), err)
	}
	if err := n.Store.DeletePost(ctx, all[64].ID); err != nil {
		t.Fatal(err)
	}
	want := make([]string, len(all))
	for i := range all {
		want[i] = n.URLs.Post(all[i].ID)
	}

	collURL := n.URLs.ThreadPosts(th.ID)
	coll := n.Doc(collURL, http.StatusOK)
	checkShape(t, coll, collURL, "OrderedCollection")
	if coll["totalItems"] != float64(120) || str(coll, "attributedTo") != n.URLs.Thread(th.ID) {
		t.Fatalf("collection = %v", coll)
	}

	walk := func(start, link string) []string {
		var ids []string
		seen := map[string]bool{}
		for url := start; url != ""; url = str(n.Doc(url, http.StatusOK), link) {
			if seen[url] {
				t.Fatalf("page %s visited twice", url)
			}
			seen[url] = true
			page := n.Doc(url, http.StatusOK)
			checkShape(t, page, url, "OrderedCollectionPage")
			if str(page, "partOf") != collURL {
				t.Errorf("%s partOf = %v", url, page["partOf"])
			}
			items := page["orderedItems"].([]any)
			if len(items) == 0 || len(items) > 50 || (len(items) < 20 && str(page, "next") != "") {
				t.Errorf("%s has %d items", url, len(items))
			}
			var pageIDs []string
			for _, it := range items {
				pageIDs = append(pageIDs, itemID(t, it))
			}
			if link == "prev" {
				ids = append(pageIDs, ids...)
			} else {
				ids = append(ids, pageIDs...)
			}
		}
		return ids
	}
	forward := walk(str(coll, "first"), "next")
	backward := walk(str(coll, "last"), "prev")
	for name, got := range map[string][]string{"forward": forward, "backward": backward} {
		if len(got) != len(want) {
			t.Fatalf("%s walk: %d items, want %d", name, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s walk: item %d is %s, want %s", name, i, got[i], want[i])
			}
		}
	}

	// Items are full Notes whose context is this collection; the deleted
	// post is a Tombstone in its place.
	page := n.Doc(collURL+"?page=true&from=61", http.StatusOK)
	items := page["orderedItems"].([]any)
	if ts := items[4].(map[string]any); ts["type"] != "Tombstone" {
		t.Errorf("deleted post in page = %v", ts)
	}
	if note := items[0].(map[string]any); note["type"] != "Note" || note["context"] != collURL {
		t.Errorf("page item = %v", note)
	}

	// Cursors: garbage is 400, past the end 404, parameters in another
	// order are the same page, and a query that leaves out a value
	// redirects to the URL that names it.
	for q, status := range map[string]int{
		"?page=true&from=0": 400, "?page=true&from=5": 400, "?page=true&from=abc": 400, "?page=false": 400,
		"?page=true&from=1&from=21": 400, "?from=21": 400, "?page=true&after=1": 400, "?page=true&from=%zz": 400,
		"?page=true&from=141": 404, "?from=21&page=true": 200, "?page=true": 302,
	} {
		resp := n.Get(collURL+q, testnode.APAccept)
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Errorf("GET posts%s: %d, want %d", q, resp.StatusCode, status)
		}
		if status == 302 && resp.Header.Get("Location") == "" {
			t.Errorf("GET posts%s: redirect without Location", q)
		}
	}
}

func TestForumThreadsCollection(t *testing.T) {
	n := testnode.New(t, nil)
	ctx := context.Background()
	ids := []storage.ID{n.Fx.Thread.ID}
	for i := range 44 {
		th, _, err := n.Store.CreateThread(ctx, storage.NewThread{ForumID: n.Fx.Forum.ID, AuthorID: n.Fx.Bob.ID,
			Title: "Thread " + string(rune('a'+i%26)), Source: "Body.", HTML: "<p>Body.</p>"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, th.ID)
	}
	url := n.URLs.ForumThreads("kitchen")
	coll := n.Doc(url, http.StatusOK)
	checkShape(t, coll, url, "OrderedCollection")
	if coll["totalItems"] != float64(45) {
		t.Fatalf("totalItems = %v", coll["totalItems"])
	}
	var got []string
	var last map[string]any
	for page := str(coll, "first"); page != ""; page = str(last, "next") {
		last = n.Doc(page, http.StatusOK)
		checkShape(t, last, page, "OrderedCollectionPage")
		for _, it := range last["orderedItems"].([]any) {
			got = append(got, itemID(t, it))
		}
	}
	if len(got) != len(ids) {
		t.Fatalf("forward: %d threads, want %d", len(got), len(ids))
	}
	for i, id := range ids {
		if got[i] != n.URLs.Thread(id) {
			t.Fatalf("thread %d = %s, want %s", i, got[i], n.URLs.Thread(id))
		}
	}
	// And back from the last page.
	var back []string
	for page := str(last, "prev"); page != ""; {
		p := n.Doc(page, http.StatusOK)
		var ids []string
		for _, it := range p["orderedItems"].([]any) {
			ids = append(ids, itemID(t, it))
		}
		back = append(ids, back...)
		page = str(p, "prev")
	}
	back = append(back, got[len(got)-len(last["orderedItems"].([]any)):]...)
	if len(back) != len(got) {
		t.Fatalf("backward: %d threads, want %d", len(back), len(got))
	}
	for i := range got {
		if back[i] != got[i] {
			t.Fatalf("backward item %d = %s, want %s", i, back[i], got[i])
		}
	}
}

func TestSmallCollections(t *testing.T) {
	n := testnode.New(t, nil)
	ctx := context.Background()
	first := n.Fx.Posts[0]
	remote := n.AddRemoteAccount("zed", "remote.example")
	if _, err := n.Store.AddFollow(ctx, remote.ID, storage.FollowThread, n.Fx.Thread.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Store.AddFollow(ctx, n.Fx.Alice.ID, storage.FollowForum, n.Fx.Forum.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Store.LikePost(ctx, first.ID, n.Fx.Bob.ID, nil); err != nil {
		t.Fatal(err)
	}
	thread := n.URLs.Thread(n.Fx.Thread.ID)
	counts := map[string]float64{
		site.Followers(thread):                  1,
		site.Followers(n.URLs.Forum("kitchen")): 1,
		site.Following(n.URLs.Member("alice")):  1,
		site.Followers(n.URLs.Member("alice")):  0,
		site.Following(thread):                  0,
		site.Followers(n.URLs.InstanceActor()):  0,
		site.Outbox(thread):                     3,
		site.Outbox(n.URLs.Forum("kitchen")):    1,
		site.Outbox(n.URLs.InstanceActor()):     0,
		site.Outbox(n.URLs.Member("alice")):     2,
		n.URLs.PostLikes(first.ID):              1,
	}
	for url, want := range counts {
		m := n.Doc(url, http.StatusOK)
		typ := "OrderedCollection"
		if url == n.URLs.PostLikes(first.ID) {
			typ = "Collection"
		}
		checkShape(t, m, url, typ)
		if m["totalItems"] != want {
			t.Errorf("%s totalItems = %v, want %v", url, m["totalItems"], want)
		}
	}

	// A member's outbox pages hold the Creates of their posts, newest
	// first, each with its Note.
	outbox := site.Outbox(n.URLs.Member("alice"))
	page := n.Doc(outbox+"?page=true", http.StatusOK)
	checkShape(t, page, outbox+"?page=true", "OrderedCollectionPage")
	items := page["orderedItems"].([]any)
	if len(items) != 2 {
		t.Fatalf("outbox items = %v", items)
	}
	create := items[0].(map[string]any)
	note, _ := create["object"].(map[string]any)
	if create["type"] != "Create" || create["actor"] != n.URLs.Member("alice") || note["id"] != n.URLs.Post(n.Fx.Posts[2].ID) ||
		str(create, "id") != n.URLs.Post(n.Fx.Posts[2].ID)+"#create" {
		t.Errorf("outbox item = %v", create)
	}

	// Replies of the first post: Bob's reply (the quote replies to Bob).
	replies := n.URLs.PostReplies(first.ID)
	coll := n.Doc(replies, http.StatusOK)
	checkShape(t, coll, replies, "OrderedCollection")
	rp := n.Doc(str(coll, "first"), http.StatusOK)
	checkShape(t, rp, replies+"?page=true", "OrderedCollectionPage")
	if it := rp["orderedItems"].([]any); len(it) != 1 || it[0] != n.URLs.Post(n.Fx.Posts[1].ID) {
		t.Errorf("replies = %v", it)
	}
}

// The collection page cache never serves a page older than the thread:
// every change a page shows (a new post, an edit, a like, a deletion, a
// member's likes withdrawn with their account) is seen by the next
// request, and an unchanged thread is served from the cache.
func TestCollectionPageCacheInvalidation(t *testing.T) {
	n := testnode.New(t, nil)
	ctx := context.Background()
	th, fx := n.Fx.Thread, n.Fx
	page := n.URLs.ThreadPosts(th.ID) + "?page=true&from=1"
	coll := n.URLs.ThreadPosts(th.ID)
	body := func(url string) string {
		t.Helper()
		resp := n.Get(url, testnode.APAccept)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
		}
		return string(b)
	}
	items := func() []any {
		t.Helper()
		return n.Doc(page, http.StatusOK)["orderedItems"].([]any)
	}
	likes := func(i int) float64 {
		t.Helper()
		note := items()[i].(map[string]any)
		return note["likes"].(map[string]any)["totalItems"].(float64)
	}

	first := body(page)
	if again := body(page); again != first {
		t.Fatal("an unchanged thread served a different page")
	}
	if entries, _ := n.Fed.PageCacheStats(); entries != 1 {
		t.Fatalf("cache holds %d pages, want 1", entries)
	}
	if total := n.Doc(coll, http.StatusOK)["totalItems"]; total != float64(3) {
		t.Fatalf("totalItems %v", total)
	}

	// A new post.
	reply := storagetest.Replies(t, n.Store, th.ID, fx.Bob.ID, 1)[0]
	if got := len(items()); got != 4 {
		t.Fatalf("after a reply the page has %d items, want 4", got)
	}
	if total := n.Doc(coll, http.StatusOK)["totalItems"]; total != float64(4) {
		t.Fatalf("after a reply totalItems is %v", total)
	}

	// An edit.
	if _, err := n.Store.EditPost(ctx, reply.ID, "edited text", "<p>edited text</p>"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body(page), "edited text") {
		t.Fatal("the page does not show the edit")
	}

	// A like, then its removal with the liker's account.
	if _, err := n.Store.LikePost(ctx, reply.ID, fx.Mod.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := likes(3); got != 1 {
		t.Fatalf("likes after a like: %v", got)
	}
	if err := n.Store.DeleteOwnAccount(ctx, fx.Mod.ID); err != nil {
		t.Fatal(err)
	}
	if got := likes(3); got != 0 {
		t.Fatalf("likes after the liker's account was deleted: %v", got)
	}

	// A deletion.
	if err := n.Store.DeletePost(ctx, reply.ID); err != nil {
		t.Fatal(err)
	}
	if typ := items()[3].(map[string]any)["type"]; typ != "Tombstone" {
		t.Fatalf("a deleted post is served as %v", typ)
	}

	// Deleting the thread: the collection is gone, not served from cache.
	if err := n.Store.DeletePost(ctx, fx.Posts[0].ID); err != nil {
		t.Fatal(err)
	}
	resp := n.Get(page, testnode.APAccept)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("page of a deleted thread: %d", resp.StatusCode)
	}
}

// A cached page answers conditional requests like a built one.
func TestCollectionPageCacheConditional(t *testing.T) {
	n := testnode.New(t, nil)
	page := n.URLs.ThreadPosts(n.Fx.Thread.ID) + "?page=true&from=1"
	resp := n.Get(page, testnode.APAccept)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	resp = n.Get(page, testnode.APAccept, "If-None-Match", etag)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match of the current ETag: %d", resp.StatusCode)
	}
	storagetest.Replies(t, n.Store, n.Fx.Thread.ID, n.Fx.Bob.ID, 1)
	resp = n.Get(page, testnode.APAccept, "If-None-Match", etag)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("If-None-Match of an old ETag after a reply: %d", resp.StatusCode)
	}
}
