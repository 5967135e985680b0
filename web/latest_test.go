package web_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// wantListed checks that a page lists each of shown, in that order, and
// none of hidden.
func wantListed(t *testing.T, r *response, shown, hidden []string) {
	t.Helper()
	at := 0
	for _, s := range shown {
		i := strings.Index(r.Body[at:], s)
		if i < 0 {
			t.Fatalf("%s is not listed after byte %d", s, at)
		}
		at += i + len(s)
	}
	r.wantLacks(t, hidden...)
}

// /latest lists threads by their newest post, a page at a time: the
// first page lists the newest and links the next from the last of them,
// in the page and in its head; the next has its own canonical address,
// links back to the newest and, being the last, no further; past the end
// there is nothing here. A before that is no id is not found.
func TestLatestPages(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	for i := range 31 {
		if _, _, err := ts.Store.CreateThread(ctx, storage.NewThread{ForumID: ts.FX.Forum.ID, AuthorID: ts.FX.Bob.ID,
			Title: "Loaf " + strconv.Itoa(i+1), Source: "Crumb.", HTML: "<p>Crumb.</p>"}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := ts.Store.ListLatestThreads(ctx, 0, 100)
	if err != nil || len(all) != 32 {
		t.Fatalf("%d threads, %v", len(all), err)
	}
	links := func(threads []storage.Thread) []string {
		var out []string
		for _, th := range threads {
			out = append(out, `<h2><a href="`+site.ThreadPath(th.ID)+`">`)
		}
		return out
	}
	alice := ts.browser()
	alice.signIn("alice")
	next := "/latest?before=" + all[29].LastPostID.String()
	first := alice.get("/latest").wantStatus(t, http.StatusOK)
	first.wantContains(t, `<link rel="canonical" href="`+ts.URLs.Abs("/latest")+`">`, `<link rel="next" href="`+next+`">`,
		`<a href="`+next+`" rel="next">Older threads</a>`).wantLacks(t, `rel="prev"`)
	wantListed(t, first, links(all[:30]), links(all[30:]))

	last := alice.get(next).wantStatus(t, http.StatusOK)
	last.wantContains(t, `<link rel="canonical" href="`+ts.URLs.Abs(next)+`">`, `<link rel="prev" href="/latest">`,
		`<a href="/latest" rel="prev">Newest threads</a>`).wantLacks(t, `rel="next"`)
	wantListed(t, last, links(all[30:]), links(all[:30]))

	alice.get("/latest?before="+all[31].LastPostID.String()).wantStatus(t, http.StatusOK).
		wantContains(t, "<p>No threads here.</p>", `<a href="/latest" rel="prev">`).wantLacks(t, `rel="next"`, `class="thread`)
	alice.get("/latest?before=x!").wantStatus(t, http.StatusNotFound)
}
