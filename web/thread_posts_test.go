package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/web"
)

// A member's page joins posts kept for every reader with what is theirs:
// each reader gets their own controls on the same kept posts, read once
// per thread version, a like shows at once, and so does a change to the
// member's own name; other people's names lag at most the guest cache's
// bound.
func TestMemberThreadPageControls(t *testing.T) {
	var clock sync.Mutex
	var later time.Duration // how far the site's clock is ahead
	ts := newSiteWith(t, func(c *web.Config) {
		c.Now = func() time.Time {
			clock.Lock()
			defer clock.Unlock()
			return time.Now().Add(later)
		}
	})
	ctx := context.Background()
	threadPath := "/t/" + ts.FX.Thread.ID.String()
	postPath := func(i int) string { return "/p/" + ts.FX.Posts[i].ID.String() }
	guest, alice, bob, mod := ts.browser(), ts.browser(), ts.browser(), ts.browser()
	alice.signIn("alice")
	bob.signIn("bob")
	mod.signIn("morgan")

	// visit has b read the thread page and checks whether its posts were
	// the kept ones or read (and kept) again.
	visit := func(b *browser, kept bool) *response {
		t.Helper()
		before := ts.Web.ThreadPostsStats()
		r := b.get(threadPath)
		after := ts.Web.ThreadPostsStats()
		hits, misses := after.Hits-before.Hits, after.Misses-before.Misses
		if kept && (hits != 1 || misses != 0) || !kept && (hits != 0 || misses != 1) {
			t.Errorf("%d hits and %d misses of the kept posts, want them kept: %v", hits, misses, kept)
		}
		return r
	}

	visit(guest, false).wantLacks(t, postPath(0)+"/edit", postPath(1)+"/report", "&amp;quote=", `class="like"`)
	visit(bob, true).wantContains(t, postPath(1)+"/edit", postPath(0)+"/report", postPath(2)+"/report",
		"&amp;quote="+ts.FX.Posts[0].ID.String(), `aria-pressed="false">Like`).
		wantLacks(t, postPath(0)+"/edit", postPath(1)+"/report", postPath(0)+"/delete")
	visit(alice, true).wantContains(t, postPath(0)+"/edit", postPath(2)+"/delete", postPath(1)+"/report").
		wantLacks(t, postPath(1)+"/edit", postPath(1)+"/delete")
	visit(mod, true).wantContains(t, postPath(0)+"/delete", postPath(1)+"/delete", postPath(2)+"/delete").
		wantLacks(t, postPath(0)+"/edit")
	// What follows the posts is kept once for guests and once for
	// members: each gets their own, whoever came first.
	guest.get(threadPath).wantLacks(t, `id="reply-form"`)
	bob.get(threadPath).wantContains(t, `id="reply-form"`)

	// The thread's tools show each member's own state.
	bob.post(threadPath+"/follow", url.Values{"on": {"1"}, "page": {"1"}}).wantStatus(t, http.StatusSeeOther)
	bob.get(threadPath).wantContains(t, `aria-pressed="true">Following</button>`)
	alice.get(threadPath).wantContains(t, `aria-pressed="false">Follow thread</button>`, `aria-pressed="false" title="Hear nothing`)
	bob.post(threadPath+"/mute", url.Values{"on": {"1"}, "page": {"1"}}).wantStatus(t, http.StatusSeeOther)
	bob.get(threadPath).wantContains(t, `aria-pressed="true" title="Hear of this thread again">Muted</button>`)

	if _, err := ts.Store.LikePost(ctx, ts.FX.Posts[0].ID, ts.FX.Bob.ID, nil); err != nil {
		t.Fatal(err)
	}
	// The like changed the thread: the next visit reads its posts again
	// and keeps them for the one after.
	visit(bob, false).wantContains(t, `aria-pressed="true">Liked <span class="count">1</span>`)
	visit(alice, true).wantContains(t, "1 like").wantLacks(t, ">Liked ")

	if err := ts.Store.UpdateProfile(ctx, ts.FX.Alice.ID, "Alice Pleasance", ""); err != nil {
		t.Fatal(err)
	}
	visit(alice, true).wantContains(t, "<bdi>Alice Pleasance</bdi>").wantLacks(t, "<bdi>Alice Liddell</bdi>")
	clock.Lock()
	later = 31 * time.Second
	clock.Unlock()
	visit(bob, false).wantContains(t, "<bdi>Alice Pleasance</bdi>").wantLacks(t, "<bdi>Alice Liddell</bdi>")

	// Readers of a changed page at once: one reads and keeps it, all
	// render their controls on it (go test -race watches the sharing).
	if _, err := ts.Store.CreatePost(ctx, storage.NewPost{ThreadID: ts.FX.Thread.ID, AuthorID: ts.FX.Bob.ID,
		Source: "Fed it twice a day.", HTML: "<p>Fed it twice a day.</p>"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, b := range []*browser{guest, alice, bob, mod, alice, bob} {
		wg.Go(func() {
			for range 4 {
				resp, err := b.c.Get(ts.URL + threadPath)
				if err != nil {
					t.Error(err)
					return
				}
				var body bytes.Buffer
				_, _ = body.ReadFrom(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.Contains(body.Bytes(), []byte("Fed it twice a day.")) {
					t.Errorf("status %d without the new post", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
}
