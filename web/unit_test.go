package web

import (
	"bytes"
	"context"
	"errors"
	"html"
	htmltemplate "html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

func TestRemoteServer(t *testing.T) {
	good := map[string]string{
		"mastodon.social":          "mastodon.social",
		" Mastodon.Social ":        "mastodon.social",
		"https://mastodon.social/": "mastodon.social",
		"@me@fosstodon.org":        "fosstodon.org",
		"social.example:8443":      "social.example:8443",
		"localhost:3000":           "localhost:3000",
		"xn--bcher-kva.example":    "xn--bcher-kva.example",
		"a-b.c-d.example":          "a-b.c-d.example",
	}
	for in, want := range good {
		if got, ok := remoteServer(in); !ok || got != want {
			t.Errorf("remoteServer(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "evil.example/x", "u@evil.example", "evil.example#x", "evil.example?x", "-bad.example",
		"bad-.example", "nodot", "a..b", "evil.example:0", "evil.example:http", "ev il.example", "évil.example",
		"https://evil.example/authorize", "evil.example\\x", "%65vil.example"} {
		if got, ok := remoteServer(in); ok {
			t.Errorf("remoteServer(%q) = %q, want a refusal", in, got)
		}
	}
}

func TestWantsActivityPub(t *testing.T) {
	cases := map[string]bool{
		"application/activity+json": true,
		`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`: true,
		"application/ld+json":                        true,
		"text/html, application/activity+json;q=0.5": true,
		"application/activity+json;q=0":              false,
		"text/html,application/xhtml+xml,*/*;q=0.8":  false,
		"application/json":                           false,
		"":                                           false,
		"*/*":                                        false,
	}
	for accept, want := range cases {
		r := httptest.NewRequest("GET", "/t/1", nil)
		r.Header.Set("Accept", accept)
		if got := wantsActivityPub(r); got != want {
			t.Errorf("Accept %q: %v, want %v", accept, got, want)
		}
	}
}

func TestSmallHelpers(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 1307: "1,307", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	for in, want := range map[string]string{"/t/1?page=2": "/t/1?page=2", "": "/", "//evil.example": "/",
		"https://evil.example": "/", "/\\evil.example": "/", "/ok\r\nSet-Cookie: x": "/",
		// Browsers drop tabs and newlines and read \ as /: each of these
		// would leave the site.
		"/\t/evil.example/": "/", "/\n/evil.example": "/", "/\\/evil.example": "/", "/x\\..\\\\evil": "/",
		"/\x00/evil.example": "/", "/\x7f": "/", "\t//evil.example": "/",
		// Ordinary site paths survive, query and fragment included.
		"/admin/members?after=abc#top": "/admin/members?after=abc#top", "/search?q=a%2Fb": "/search?q=a%2Fb"} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
	for _, text := range []string{"", "One line", "Two\nlines", "A <b> & c\n\nSecond para\nwith a break"} {
		if got := bioText(bioHTML(text)); got != text {
			t.Errorf("bio round trip of %q gave %q", text, got)
		}
	}
}

func TestSessionCookieSecureOnHTTPS(t *testing.T) {
	for base, secure := range map[string]bool{"https://forum.example": true, "http://localhost:8080": false} {
		s := &Server{URLs: site.MustNew(base)}
		w := httptest.NewRecorder()
		s.setSessionCookie(w, "token")
		c := w.Result().Cookies()[0]
		if c.Secure != secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Name != "skein_session" {
			t.Errorf("%s: cookie %+v", base, c)
		}
	}
}

// A client that closes the connection while its session is read is not
// an error an admin must hear about: it is logged at DEBUG, not ERROR.
func TestAbandonedSessionLoadIsNotAnError(t *testing.T) {
	store := storagetest.Open(t, "sqlite")
	fx := storagetest.Seed(t, store)
	token, err := store.CreateSession(context.Background(), fx.Alice.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s := &Server{Store: store, URLs: site.MustNew("http://forum.example"),
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, "GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
	ran := false
	s.withViewer(func(http.ResponseWriter, *http.Request) { ran = true }).ServeHTTP(httptest.NewRecorder(), r)
	if !ran {
		t.Fatal("the page did not run")
	}
	if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "level=DEBUG") {
		t.Fatalf("log:\n%s", logs.String())
	}
}

// TestSearchResultItem covers the list item a search result is written
// as by hand: the same bytes as the template it stands for (in the item
// method's comment) writes, for authors' names and links of every kind
// (remote links the template must rewrite or refuse among them), with
// and without an author.
func TestSearchResultItem(t *testing.T) {
	ref := htmltemplate.Must(htmltemplate.New("item").Parse(`<li>
<h2><a href="{{.Path}}"><bdi>{{.Title}}</bdi></a> <span class="meta">#{{.Position}}</span></h2>
<p class="snippet">{{.Snippet}}</p>
<p class="meta">{{if .AuthorName}}by <a href="{{.AuthorLink}}"><bdi>{{.AuthorName}}</bdi></a> · {{end}}<time datetime="{{.PostedAt}}">{{.Posted}}</time></p>
</li>`))
	names := []string{"", "Bob Marsh", `Al "Crusty" O'Dough <b>+1</b> & co`, "nul\x00byte", "bad \xff utf8", "Ünïcode ☃", "a=b`c"}
	links := []string{"/u/bob", "/forum/p/3k2j", "https://remote.example/@carol", "https://remote.example/users/carol?x=1&y=2+3",
		"http://remote.example/a b", "javascript:alert(1)", "JavaScript:alert(1)", "mailto:carol@remote.example", "",
		"https://remote.example/ü", "https://remote.example/it's", `https://remote.example/"q"`, "//remote.example/x", "/p/%zz", "https://r.example/<x>",
		"ftp://remote.example/x", "https://r.example/a=b;c,d!$*[]@~", "/u/x\x00"}
	for i, name := range names {
		for _, link := range links {
			res := searchResult{Title: highlight("Rye & spelt", []string{"rye"}), Snippet: highlight(`The "rye" <crumb>`, []string{"rye"}),
				Path: "/p/" + strings.Repeat("z", i), Position: int64(40 * i), AuthorName: name, AuthorLink: link,
				Posted: formatDate(time.Date(2026, 12, 6, 19, 0, 0, 0, time.UTC)), PostedAt: formatDateTime(time.Date(2026, 12, 6, 19, 0, 0, 0, time.UTC))}
			var want strings.Builder
			if err := ref.Execute(&want, res); err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			res.writeItem(&got)
			if got.String() != want.String() {
				t.Errorf("name %q, link %q:\n got %s\nwant %s", name, link, got.String(), want.String())
			}
		}
	}
}

// TestSearchExcerpts pins what a search result shows: every word whose
// stem a term starts marked (any case, letters beyond ASCII and digits
// as word characters), the rest escaped, and an excerpt cut on spaces
// around the first match.
func TestSearchExcerpts(t *testing.T) {
	terms := []string{"baking", "2024"}
	got := string(highlight(`Baked <b>Brot</b> in 2024, baker's café-bakes; prebake`, terms))
	want := `<mark>Baked</mark> &lt;b&gt;Brot&lt;/b&gt; in <mark>2024</mark>, <mark>baker</mark>&#39;s café-<mark>bakes</mark>; prebake`
	if got != want {
		t.Errorf("highlight:\n got %s\nwant %s", got, want)
	}
	if got := string(highlight("Ünïcode ünïcodes", []string{"ünïcode"})); got != "<mark>Ünïcode</mark> <mark>ünïcodes</mark>" {
		t.Errorf("highlight beyond ASCII: %s", got)
	}
	text := strings.Repeat("flour water salt ", 20) + "the levain rose " + strings.Repeat("crumb crust oven ", 20)
	s := snippet(text, []string{"levain"}, 60)
	if !strings.HasPrefix(s, "…") || !strings.HasSuffix(s, "…") || !strings.Contains(s, "the levain rose") || len(s) > 60+2*len("…") {
		t.Errorf("snippet: %q", s)
	}
	if s := snippet("short text", []string{"levain"}, 60); s != "short text" {
		t.Errorf("short snippet: %q", s)
	}
}

// A result's excerpt, made from a prefix of its post, is the one the
// post's whole plain text gives, for posts whose first match is early,
// late, past several tags, in no word at all, or not there, and for
// excerpts of several lengths (short ones cut most often).
func TestExcerptIsSnippetOfWholeText(t *testing.T) {
	posts := append([]string{"", "<p>rye</p>", "<p>" + strings.Repeat("flour water ", 200) + "rye</p>"},
		storagetest.Soup(5, 2000, 300, "<p>", "</p>", "<b>", "</b>", "<br>", " ", "\n", "flour ", "water", "Rye", "rye ", "ryes", "&amp;", "&am", "p;", "é",
			"<a href=\"https://bread.example/notes/1\" rel=\"nofollow noopener\">https://bread.example/notes/1</a>", "<blockquote>", "</blockquote>",
			"<", ">", "\xff", "&nbsp;", "crumb, ", "levain. ")...)
	for _, terms := range [][]string{{"rye"}, {"levain", "crumb"}, {"absent"}} {
		for _, n := range []int{20, 60, 240} {
			for _, h := range posts {
				if got, want := excerpt(h, terms, n), snippet(storage.PlainText(h), terms, n); got != want {
					t.Fatalf("excerpt(%q, %q, %d) = %q, want %q", h, terms, n, got, want)
				}
			}
		}
	}
}

// highlight marks and escapes what the plain way (lower-case each word,
// html.EscapeString each piece) would, on random text of ASCII words in
// any case, words beyond ASCII (the Kelvin sign lower-cases to ASCII),
// punctuation and every character escaping changes.
func TestHighlightMatchesReference(t *testing.T) {
	ref := func(text string, terms []string) string {
		st := stems(terms)
		var b strings.Builder
		last := 0
		for from, to := range words(text) {
			w := strings.ToLower(text[from:to])
			if !slices.ContainsFunc(st, func(s string) bool { return strings.HasPrefix(w, s) }) {
				continue
			}
			b.WriteString(html.EscapeString(text[last:from]) + "<mark>" + html.EscapeString(text[from:to]) + "</mark>")
			last = to
		}
		return b.String() + html.EscapeString(text[last:])
	}
	for _, text := range storagetest.Soup(7, 3000, 30, "Rye", "rye", "RYES", "ry", "Baking", "baked", "\u212Aelvin", "kelvin", "Ünïcode", "ünï", "İstanbul", "2024",
		" ", ", ", "&", "'", "<", ">", "\"", "\x00", "\xff", "-", "é") {
		for _, terms := range [][]string{{"rye"}, {"baking", "2024"}, {"kelvin"}, {"ünïcode"}, {"istanbul"}} {
			if got, want := string(highlight(text, terms)), ref(text, terms); got != want {
				t.Fatalf("highlight(%q, %q) = %q, want %q", text, terms, got, want)
			}
		}
	}
}

// A list read with one row more than a page is cut to the page and links
// the next from the key of the page's last row; a shorter one is the
// last page. A before that is no id is not found, and never read.
func TestKeysetPages(t *testing.T) {
	s := &Server{prefix: "/forum"}
	key := func(id *storage.ID) storage.ID { return *id }
	rows, next := pageAndNext(s, []storage.ID{9, 8, 7}, 2, "/latest?before=", key)
	if !slices.Equal(rows, []storage.ID{9, 8}) || next != "/forum/latest?before="+storage.ID(8).String() {
		t.Fatalf("a page and one more: %v, %q", rows, next)
	}
	for _, short := range [][]storage.ID{{9, 8}, {9}, nil} {
		if rows, next := pageAndNext(s, short, 2, "/latest?before=", key); !slices.Equal(rows, short) || next != "" {
			t.Fatalf("the last page %v: %v, %q", short, rows, next)
		}
	}

	var asked []storage.ID
	list := func(_ context.Context, before storage.ID, n int) ([]storage.ID, error) {
		asked = append(asked, before)
		return []storage.ID{before - 1, before - 2, before - 3}[:n], nil
	}
	r := httptest.NewRequest("GET", "/admin/audit?before="+storage.ID(100).String(), nil)
	rows, next, err := beforePage(s, r, 2, "/admin/audit?before=", list, key)
	if err != nil || !slices.Equal(rows, []storage.ID{99, 98}) || next != "/forum/admin/audit?before="+storage.ID(98).String() {
		t.Fatalf("before 100: %v, %q, %v", rows, next, err)
	}
	r = httptest.NewRequest("GET", "/admin/audit?before=x!", nil)
	if _, _, err := beforePage(s, r, 2, "/admin/audit?before=", list, key); !errors.Is(err, storage.ErrNotFound) || len(asked) != 1 {
		t.Fatalf("a bad before: %v, the list read %d times", err, len(asked))
	}
}

// The guest page cache keeps a page without a composer and serves it as
// kept; a page with a composer's token slot is not kept, so each guest
// gets a token of their own.
func TestGuestCacheKeepsNoTokenSlots(t *testing.T) {
	s, err := New(Config{Store: storagetest.Open(t, "sqlite"), URLs: site.MustNew("http://forum.example"),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.pages["plain"] = htmltemplate.Must(htmltemplate.New("plain").Parse(`{{define "layout"}}<p>Read on.</p>{{end}}`))
	s.pages["composer"] = htmltemplate.Must(htmltemplate.New("composer").Funcs(htmltemplate.FuncMap{"formTokenValue": formTokenValue}).
		Parse(`{{define "layout"}}<input name="form_token" {{formTokenValue}}>{{end}}`))
	get := func(name, path string) string {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", path, nil)
		if !s.serveCachedGuestPage(w, r, 7) {
			s.renderCached(w, r, name, &page{}, time.Time{}, 7)
		}
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d", path, w.Code)
		}
		return w.Body.String()
	}
	if first, again := get("plain", "/plain"), get("plain", "/plain"); first != "<p>Read on.</p>" || again != first {
		t.Fatalf("plain page %q, then %q", first, again)
	}
	if kept := s.guestCache.Get("/plain", 7, time.Now()); kept == nil || string(kept.Body) != "<p>Read on.</p>" {
		t.Fatalf("the plain page was not kept: %v", kept)
	}
	// The token is copied over the slot in place.
	if len(formTokenSlot) != len(storage.NewFormToken()) {
		t.Fatalf("the slot is %d bytes, a token %d", len(formTokenSlot), len(storage.NewFormToken()))
	}
	first, again := get("composer", "/composer"), get("composer", "/composer")
	if first == again || strings.Contains(first, formTokenSlot) || strings.Contains(again, formTokenSlot) ||
		len(first) != len(`<input name="form_token" value="">`)+len(formTokenSlot) || len(first) != len(again) {
		t.Fatalf("two guests got %q and %q", first, again)
	}
	if kept := s.guestCache.Get("/composer", 7, time.Now()); kept != nil {
		t.Fatalf("a page with a token slot was kept: %q", kept.Body)
	}
}

// Every slot on a page is filled, wherever it stands, and nothing else
// is: not the slot's text without its "<", nor what is left of a page.
func TestFillFormTokens(t *testing.T) {
	n, tail := len(formTokenSlot), formTokenSlot[1:]
	for _, c := range []struct {
		page  string
		slots []int // where the slots stand
	}{
		{"", nil},
		{"<", nil},
		{tail, nil},
		{formTokenSlot[:n-1], nil},
		{formTokenSlot, []int{0}},
		{"a" + formTokenSlot, []int{1}},
		{formTokenSlot + "<p>!" + tail + "<" + formTokenSlot + "</p>", []int{0, n + 4 + n}},
	} {
		page := []byte(c.page)
		fillFormTokens(page)
		for _, at := range c.slots {
			if tok := string(page[at : at+n]); !tokenRE.MatchString(tok) {
				t.Errorf("%q: the slot at %d was filled with %q", c.page, at, tok)
			}
			copy(page[at:], formTokenSlot)
		}
		if string(page) != c.page {
			t.Errorf("%q: filled, the rest reads %q", c.page, page)
		}
	}
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

// BenchmarkFillFormTokens fills the one slot of a 30 kB page of posts,
// as every page with a composer is (a member's thread page), copying the
// page first to put the slot back.
func BenchmarkFillFormTokens(b *testing.B) {
	post := `<article class="post" id="p2y5ngtjaowe9"><header class="byline"><a class="author" href="/u/alice"><bdi>Alice Liddell</bdi></a>` +
		`<span class="handle">@alice@forum.example</span></header><div class="content"><p class="meta"><a class="permalink" href="/p/2y5ngtjaowe9">#1</a>` +
		`Posted <time datetime="2026-12-07T00:37:19Z">7 December 2026</time></p><div class="body"><p>Mine goes flat after <strong>three days</strong>.` +
		` Flour or water? Switch to rye for a week, and keep it somewhere warm!</p></div></div></article>` + "\n"
	page := []byte(strings.Repeat(post, 30000/len(post)) + `<input type="hidden" name="form_token" value="` + formTokenSlot + `">` + "\n</main>")
	buf := make([]byte, len(page))
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, page)
		fillFormTokens(buf)
	}
}
