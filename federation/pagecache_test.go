package federation_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/storage/storagetest"
)

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
