package web_test

import (
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
	"github.com/skein-forum/skein/web"
)

// A reply that arrives without the web view (over ActivityPub, or from
// another process on the same database) shows on the very next guest
// page: the guest cache is keyed by the thread's version, not emptied by
// web forms.
func TestGuestCacheNeverServesAStalePage(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	guest := ts.browser()
	threadPath := "/t/" + ts.FX.Thread.ID.String()
	first := guest.get(threadPath).wantStatus(t, http.StatusOK)
	if again := guest.get(threadPath); again.Body != first.Body {
		t.Fatal("a second guest read rendered a different page")
	}

	if _, err := ts.Store.CreatePost(ctx, storage.NewPost{ThreadID: ts.FX.Thread.ID, AuthorID: ts.FX.Bob.ID,
		Source: "Arrived from elsewhere.", HTML: "<p>Arrived from elsewhere.</p>"}); err != nil {
		t.Fatal(err)
	}
	guest.get(threadPath).wantContains(t, "Arrived from elsewhere.")

	if _, err := ts.Store.LikePost(ctx, ts.FX.Posts[1].ID, ts.FX.Alice.ID, nil); err != nil {
		t.Fatal(err)
	}
	guest.get(threadPath).wantContains(t, "1 like")
	if err := ts.Store.SetThreadLocked(ctx, ts.FX.Thread.ID, true); err != nil {
		t.Fatal(err)
	}
	guest.get(threadPath).wantContains(t, "This thread is locked")

	// The forum's list too.
	guest.get("/f/kitchen").wantLacks(t, "Proofing baskets")
	if _, _, err := ts.Store.CreateThread(ctx, storage.NewThread{ForumID: ts.FX.Forum.ID, AuthorID: ts.FX.Bob.ID,
		Title: "Proofing baskets", Source: "Cane or wood?", HTML: "<p>Cane or wood?</p>"}); err != nil {
		t.Fatal(err)
	}
	guest.get("/f/kitchen").wantContains(t, "Proofing baskets")
}

// Minimal shapes of the two formats, to read the feeds back.
type atomDoc struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string   `xml:"title"`
	ID      string   `xml:"id"`
	Updated string   `xml:"updated"`
	Links   []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
	Entries []struct {
		Title   string `xml:"title"`
		ID      string `xml:"id"`
		Author  string `xml:"author>name"`
		Content struct {
			Type string `xml:"type,attr"`
			Text string `xml:",chardata"`
		} `xml:"content"`
	} `xml:"entry"`
}

type rssDoc struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title string `xml:"title"`
		Link  string `xml:"link"`
		Items []struct {
			Title       string `xml:"title"`
			Link        string `xml:"link"`
			GUID        string `xml:"guid"`
			PubDate     string `xml:"pubDate"`
			Description string `xml:"description"`
		} `xml:"item"`
	} `xml:"channel"`
}

func TestFeeds(t *testing.T) {
	ts := newSite(t)
	guest := ts.browser()
	th := ts.FX.Thread.ID.String()

	// Pages advertise their feeds.
	for page, feed := range map[string]string{"/": "/feed", "/f/kitchen": "/f/kitchen/feed", "/t/" + th: "/t/" + th + "/feed"} {
		guest.get(page).wantContains(t,
			`<link rel="alternate" type="application/atom+xml" title="`,
			`href="`+ts.URL+feed+`.atom">`, `<link rel="alternate" type="application/rss+xml"`, `href="`+ts.URL+feed+`.rss">`)
	}

	for _, tc := range []struct {
		path      string
		entries   int
		firstName string
	}{
		{"/feed", 1, "Sourdough starter keeps dying"},
		{"/f/kitchen/feed", 1, "Sourdough starter keeps dying"},
		{"/t/" + th + "/feed", 3, "Re: Sourdough starter keeps dying (#3)"},
	} {
		r := guest.get(tc.path+".atom").wantStatus(t, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "application/atom+xml; charset=utf-8" {
			t.Errorf("%s.atom: Content-Type %q", tc.path, ct)
		}
		var a atomDoc
		if err := xml.Unmarshal([]byte(r.Body), &a); err != nil {
			t.Fatalf("%s.atom does not parse: %v\n%s", tc.path, err, r.Body)
		}
		if len(a.Entries) != tc.entries || a.Entries[0].Title != tc.firstName || a.Updated == "" || a.ID == "" {
			t.Fatalf("%s.atom: %+v", tc.path, a)
		}
		if e := a.Entries[0]; e.Author == "" || e.Content.Type != "html" || !strings.Contains(e.Content.Text, "<p>") ||
			!strings.HasPrefix(e.ID, ts.URL+"/") {
			t.Errorf("%s.atom entry: %+v", tc.path, e)
		}
		var self bool
		for _, l := range a.Links {
			self = self || (l.Rel == "self" && l.Href == ts.URL+tc.path+".atom")
		}
		if !self {
			t.Errorf("%s.atom has no self link: %+v", tc.path, a.Links)
		}
		// A reader polling with the validators gets 304.
		if r2 := guest.get(tc.path+".atom", "If-None-Match", r.Header.Get("ETag")); r2.StatusCode != http.StatusNotModified {
			t.Errorf("%s.atom with its ETag: status %d", tc.path, r2.StatusCode)
		}

		r = guest.get(tc.path+".rss").wantStatus(t, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "application/rss+xml; charset=utf-8" {
			t.Errorf("%s.rss: Content-Type %q", tc.path, ct)
		}
		var rs rssDoc
		if err := xml.Unmarshal([]byte(r.Body), &rs); err != nil {
			t.Fatalf("%s.rss does not parse: %v\n%s", tc.path, err, r.Body)
		}
		if rs.Version != "2.0" || len(rs.Channel.Items) != tc.entries || rs.Channel.Items[0].Title != tc.firstName ||
			rs.Channel.Items[0].GUID == "" || rs.Channel.Items[0].PubDate == "" || !strings.Contains(rs.Channel.Items[0].Description, "<p>") {
			t.Fatalf("%s.rss: %+v", tc.path, rs)
		}
	}
	guest.get("/f/nowhere/feed.atom").wantStatus(t, http.StatusNotFound)
	guest.get("/t/zz/feed.rss").wantStatus(t, http.StatusNotFound)
}

func TestSearchPage(t *testing.T) {
	ts := newSite(t)
	guest := ts.browser()
	r := guest.get("/search?q=Rye").wantStatus(t, http.StatusOK)
	r.wantContains(t, `<mark>rye</mark>`, "Sourdough starter keeps dying", `href="/p/`+ts.FX.Posts[1].ID.String()+`"`, "Bob Marsh",
		`<meta name="robots" content="noindex">`)
	guest.get("/search?q=sourdough").wantContains(t, "<mark>Sourdough</mark> starter keeps dying")
	guest.get("/search?q=nothing+matches+this").wantContains(t, "Nothing matches")
	guest.get("/search").wantStatus(t, http.StatusOK).wantLacks(t, "Nothing matches")
	guest.get("/search?q=%3Cscript%3Ealert(1)%3C/script%3E").wantStatus(t, http.StatusOK).wantLacks(t, "<script>alert")
	guest.get("/search?q=rye&page=0").wantStatus(t, http.StatusNotFound)
	guest.get("/search?q=rye&page=99").wantStatus(t, http.StatusNotFound)

	// Text behind a content warning is found but not shown.
	if _, err := ts.Store.CreatePost(context.Background(), storage.NewPost{ThreadID: ts.FX.Thread.ID, AuthorID: ts.FX.Bob.ID,
		Summary: "bread spoilers", Source: "The secret is a zymotic crumb.", HTML: "<p>The secret is a zymotic crumb.</p>"}); err != nil {
		t.Fatal(err)
	}
	guest.get("/search?q=zymotic").wantContains(t, "Content warning: bread spoilers").wantLacks(t, "secret")
	guest.get("/search?q=spoilers").wantContains(t, "Content warning: bread <mark>spoilers</mark>").wantLacks(t, "secret")

	// A guest's page of results is kept until the index changes.
	guest.get("/search?q=hydration").wantContains(t, "Nothing matches")
	guest.get("/search?q=hydration").wantContains(t, "Nothing matches")
	storagetest.Replies(t, ts.Store, ts.FX.Thread.ID, ts.FX.Bob.ID, 25)
	r = guest.get("/search?q=hydration").wantContains(t, `rel="next"`, "/search?q=hydration&amp;page=2")
	if n := strings.Count(r.Body, "<mark>hydration</mark>"); n != 20 {
		t.Fatalf("page 1 has %d highlighted results", n)
	}
	r = guest.get("/search?q=hydration&page=2").wantContains(t, `rel="prev"`, `<ol class="results" start="21">`).wantLacks(t, `rel="next"`)
	if n := strings.Count(r.Body, "<mark>hydration</mark>"); n != 5 {
		t.Fatalf("page 2 has %d highlighted results", n)
	}
}

// TestSearchPageCacheFollowsItsOwnSetting covers the guest page cache on
// the search page: it keeps a guest's page of results whether or not the
// store keeps ranked results (--search-cache), and keeps nothing when
// turned off itself (--guest-cache=0). What shows it is a renamed author:
// a rename does not change the search index, so a kept page shows the
// old name (for up to the cache's 30 seconds) and a fresh one the new.
func TestSearchPageCacheFollowsItsOwnSetting(t *testing.T) {
	for _, c := range []struct {
		name                    string
		searchCache, guestCache int64
		keptForGuests           bool
	}{
		{"both caches", 0, 0, true},
		{"no search cache", -1, 0, true},
		{"no guest cache", 0, -1, false},
		{"neither", -1, -1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			opts := storagetest.Options(t, "sqlite")
			opts.SearchCache = int(c.searchCache)
			store := storagetest.OpenWith(t, opts)
			if _, err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			fx := storagetest.Seed(t, store)
			s, err := web.New(web.Config{Store: store, URLs: site.MustNew("https://forum.example"),
				Log: slog.New(slog.NewTextHandler(io.Discard, nil)), GuestCacheBytes: c.guestCache})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			s.Register(mux)
			srv := httptest.NewServer(s.Handler(mux))
			defer srv.Close()
			search := func() string {
				t.Helper()
				resp, err := http.Get(srv.URL + "/search?q=rye")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d, %v", resp.StatusCode, err)
				}
				return string(body)
			}
			if body := search(); !strings.Contains(body, fx.Bob.DisplayName) || !strings.Contains(body, "<mark>") {
				t.Fatalf("first search lacks its hit by %s:\n%s", fx.Bob.DisplayName, body)
			}
			if _, err := store.DB().NewRaw("UPDATE accounts SET display_name = ? WHERE id = ?", "Robert Renamed", fx.Bob.ID).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			body := search()
			if kept := strings.Contains(body, fx.Bob.DisplayName); kept != c.keptForGuests || kept == strings.Contains(body, "Robert Renamed") {
				t.Fatalf("page kept for guests: %v, want %v:\n%s", kept, c.keptForGuests, body)
			}
		})
	}
}

func TestUnreadAndFollowedThreads(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	bob := ts.browser()
	bob.signIn("bob")
	threadPath := "/t/" + ts.FX.Thread.ID.String()

	// Bob reads the thread: nothing is new.
	bob.get(threadPath).wantStatus(t, http.StatusOK).wantLacks(t, `class="unread-marker"`)
	bob.get("/f/kitchen").wantLacks(t, " new</a>")

	// Two replies later, the forum list counts them and links to the first.
	replies := storagetest.Replies(t, ts.Store, ts.FX.Thread.ID, ts.FX.Alice.ID, 2)
	bob.get("/f/kitchen").wantContains(t, `<a class="new" href="`+threadPath+`/unread">2 new</a>`)
	loc := bob.get(threadPath+"/unread").wantStatus(t, http.StatusFound).location(t)
	if loc != threadPath+"#p"+replies[0].ID.String() {
		t.Fatalf("unread went to %q", loc)
	}
	// The marker stands right before the first unread post, once; then
	// all is read.
	const marker = "\n" + `<p class="unread-marker" id="unread"><span>New since your last visit</span></p>` + "\n" + `<article class="post" id="p`
	page := bob.get(threadPath).Body
	if at := strings.Index(page, marker+replies[0].ID.String()+`"`); at < 0 || strings.Count(page, `class="unread-marker"`) != 1 ||
		at < strings.Index(page, `id="p`+ts.FX.Posts[2].ID.String()+`"`) {
		t.Fatalf("the marker is not once, right before the first unread post %s:\n%s", replies[0].ID, page)
	}
	bob.get(threadPath).wantLacks(t, `class="unread-marker"`)
	loc = bob.get(threadPath + "/unread").location(t)
	if loc != threadPath+"#p"+replies[1].ID.String() {
		t.Fatalf("unread of a read thread went to %q, want the last post", loc)
	}
	// Before a post of the reader's own, rendered for them, it is the same.
	own := storagetest.Replies(t, ts.Store, ts.FX.Thread.ID, ts.FX.Bob.ID, 1)
	bob.get(threadPath).wantContains(t, marker+own[0].ID.String()+`"`)
	// A guest's /unread is the thread; guests see no markers.
	guest := ts.browser()
	if loc := guest.get(threadPath + "/unread").location(t); loc != threadPath {
		t.Fatalf("a guest's unread went to %q", loc)
	}

	// "Jump to first unread" shows on a page read to its end when later
	// pages hold new posts.
	storagetest.Replies(t, ts.Store, ts.FX.Thread.ID, ts.FX.Alice.ID, storage.PostsPerPage)
	bob.get(threadPath).wantContains(t, "Jump to first unread", threadPath+"/unread")

	// Following: the button, the list, unfollowing.
	bob.get("/followed").wantStatus(t, http.StatusOK).wantContains(t, "You follow no threads yet")
	bob.get(threadPath).wantContains(t, `action="`+threadPath+`/follow"`, "Follow thread")
	bob.post(threadPath+"/follow", url.Values{"on": {"1"}}).wantStatus(t, http.StatusSeeOther)
	if _, err := ts.Store.FollowOf(ctx, ts.FX.Bob.ID, storage.FollowThread, ts.FX.Thread.ID); err != nil {
		t.Fatalf("follow not stored: %v", err)
	}
	bob.get(threadPath).wantContains(t, `aria-pressed="true">Following`)
	bob.get("/followed").wantContains(t, "Sourdough starter keeps dying", `new</a>`)
	bob.post(threadPath+"/follow", url.Values{"on": {"0"}}).wantStatus(t, http.StatusSeeOther)
	bob.get("/followed").wantContains(t, "You follow no threads yet")

	// Guests are sent to sign in.
	if loc := guest.get("/followed").location(t); !strings.HasPrefix(loc, "/signin?next=") {
		t.Fatalf("a guest's /followed went to %q", loc)
	}
	guest.post(threadPath+"/follow", url.Values{"on": {"1"}}).wantStatus(t, http.StatusSeeOther)
}

func TestMentionsAndQuotation(t *testing.T) {
	ts := newSite(t)
	alice := ts.browser()
	alice.signIn("alice")
	threadPath := "/t/" + ts.FX.Thread.ID.String()
	alice.post(threadPath+"/reply", url.Values{"body": {"Thanks @bob and @ann@social.example, not @nobody."}}).
		wantStatus(t, http.StatusSeeOther)
	alice.get(threadPath).wantContains(t,
		`<a href="`+ts.URL+`/u/bob" class="mention">@bob</a>`,
		`<a href="https://social.example/@ann" class="mention" rel="nofollow ugc noopener">@ann@social.example</a>`,
		"not @nobody.")

	// The script's quotation of a post, and the link it enhances.
	bobPost := ts.FX.Posts[1].ID.String()
	r := alice.get("/p/"+bobPost+"/quote").wantStatus(t, http.StatusOK)
	if r.Body != "> Switch to rye for a week.\n\n" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("quote text %q (%s)", r.Body, r.Header.Get("Content-Type"))
	}
	alice.get(threadPath).wantContains(t, `class="quote-link" data-quote="/p/`+bobPost+`/quote" data-post="`+bobPost+`"`)
}

// No framework: the stylesheet and the optional script stay under 30 KB
// together.
func TestStaticBudget(t *testing.T) {
	ts := newSite(t)
	guest := ts.browser()
	total := 0
	for _, f := range []string{"skein.css", "skein.js"} {
		r := guest.get("/static/"+f).wantStatus(t, http.StatusOK)
		total += len(r.Body)
	}
	if total > 30<<10 {
		t.Fatalf("stylesheet and script weigh %d bytes, over the 30 KB budget", total)
	}
}
