package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// The browser tests drive a real Chromium (Debian's chromium package, or
// the binary SKEIN_CHROMIUM names) against a real node on a real SQLite
// file. They skip, and say why, when there is no browser; the
// accessibility check also needs axe-core (SKEIN_AXE_JS, installed by
// .ci/browser-deps). Screenshots of every step land in the test's artifact
// directory (go test -artifacts), or under SKEIN_ARTIFACTS when it is set.

// chromiumPath finds the browser or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("SKEIN_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}
	for _, p := range candidates {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	t.Skip("no browser: install Debian's chromium (.ci/browser-deps does) or set SKEIN_CHROMIUM to run the browser tests")
	return ""
}

// tab is one browser tab on the test site, with a numbered screenshot for
// each step.
type tab struct {
	t     *testing.T
	ctx   context.Context
	site  *testSite
	shots string
	n     int
}

func newTab(t *testing.T, ts *testSite) *tab {
	t.Helper()
	chrome := chromiumPath(t)
	shots := t.ArtifactDir()
	if dir := os.Getenv("SKEIN_ARTIFACTS"); dir != "" {
		shots = filepath.Join(dir, t.Name())
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", shots)

	// One deadline for the whole browser: when it passes the browser stops
	// and every later step fails instead of hanging.
	parent, cancelParent := context.WithTimeout(context.Background(), 90*time.Second)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent,
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Remote images in the tests come from loopback TLS servers.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc(); cancelParent() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", chrome, err)
	}
	return &tab{t: t, ctx: ctx, site: ts, shots: shots}
}

// do runs actions; on failure it saves a screenshot of the page as it
// was, then stops the test.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	start := time.Now()
	defer func() {
		if d := time.Since(start); d > 3*time.Second {
			b.t.Logf("%s took %s", what, d.Round(time.Millisecond))
		}
	}()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed-" + what)
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Fatalf("%s (at %s): %v", what, loc, err)
	}
}

// shot saves a full-page screenshot, numbered in the order of the steps.
func (b *tab) shot(name string) {
	b.t.Helper()
	b.n++
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) eval(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor evaluates a JavaScript condition until it holds. Errors while
// a page is being replaced (its script context gone) count as "not yet".
func (b *tab) waitFor(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	b.shot("failed-" + what)
	b.t.Fatalf("%s: %s never held (last error: %v)", what, cond, lastErr)
}

func (b *tab) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.site.URL+path), chromedp.WaitReady(chromedp.CSS("main")))
	// The script rewrites times once the page has loaded, which moves
	// what follows them: steps start on a page that has settled.
	b.waitFor("loaded "+path, `document.readyState === "complete"`)
}

func (b *tab) colorScheme(scheme string) {
	b.t.Helper()
	b.do("prefer "+scheme, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	}))
}

func (b *tab) viewport(width, height int64) {
	b.t.Helper()
	b.do(fmt.Sprintf("viewport %dx%d", width, height), chromedp.EmulateViewport(width, height))
}

// A reader's whole visit, in a real browser.
func TestBrowserVisit(t *testing.T) {
	ts := newSite(t)
	b := newTab(t, ts)
	fx := ts.FX
	storagetest.Replies(t, ts.Store, fx.Thread.ID, fx.Bob.ID, 25) // two pages
	threadPath := "/t/" + fx.Thread.ID.String()
	bobPost := fx.Posts[1].ID.String()

	// A guest reads the thread and its second page.
	b.open(threadPath)
	if h1 := b.eval(`document.querySelector("h1").textContent`); h1 != fx.Thread.Title {
		t.Fatalf("thread heading %q", h1)
	}
	b.shot("guest-thread")
	b.do("next page", chromedp.Click(chromedp.CSS(`.pager a[rel="next"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#p`+bobPost), chromedp.NodeNotPresent))
	b.waitFor("page 2", `location.search === "?page=2"`)
	b.waitFor("page 2 posts", `document.querySelectorAll("article.post").length === 8 && document.readyState === "complete"`)
	b.shot("guest-thread-page-2")

	// Registers (from the header), signs out and in again.
	b.do("register", chromedp.Click(chromedp.CSS(`header.site a[href^="/register"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#handle`)),
		chromedp.SendKeys(chromedp.CSS(`#handle`), "carol"),
		chromedp.SendKeys(chromedp.CSS(`#display_name`), "Carol Baker"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "rising dough 42"),
		chromedp.SendKeys(chromedp.CSS(`#password2`), "rising dough 42"))
	b.shot("register")
	b.do("send registration", chromedp.Submit(chromedp.CSS(`#password2`)),
		chromedp.WaitVisible(chromedp.CSS(`header.site button.link`)))
	b.do("sign out", chromedp.Click(chromedp.CSS(`header.site button.link`)),
		chromedp.WaitVisible(chromedp.CSS(`header.site a[href^="/signin"]`)))
	b.do("sign in", chromedp.Click(chromedp.CSS(`header.site a[href^="/signin"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#password`)),
		chromedp.SendKeys(chromedp.CSS(`#handle`), "carol"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "rising dough 42"))
	b.shot("sign-in")
	b.do("send sign-in", chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`header.site a[href="/u/carol"]`)))

	// Starts a thread.
	b.open("/f/kitchen")
	b.do("start a thread", chromedp.Click(chromedp.CSS(`a.button[href="/f/kitchen/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#title`)),
		chromedp.SendKeys(chromedp.CSS(`#title`), "Rye or spelt for a first loaf?"),
		chromedp.SendKeys(chromedp.CSS(`#body`), "Which flour forgives a beginner's mistakes? Asking @bob."))
	b.shot("new-thread")
	b.do("send the thread", chromedp.Submit(chromedp.CSS(`#title`)),
		chromedp.WaitVisible(chromedp.CSS(`article.post a.mention[href$="/u/bob"]`)))
	if h1 := b.eval(`document.querySelector("h1").textContent`); h1 != "Rye or spelt for a first loaf?" {
		t.Fatalf("new thread heading %q", h1)
	}
	b.shot("thread-started")

	// Replies quoting Bob: the script fills the reply box without a
	// reload; the stored reply cites Bob's post.
	b.open(threadPath)
	b.eval(`window.notReloaded = "yes"`)
	b.do("quote", chromedp.Click(chromedp.CSS(`#p`+bobPost+` a.quote-link`)))
	b.waitFor("quotation in the reply box", `document.getElementById("reply-body").value.includes("> Switch to rye")`)
	if v := b.eval(`window.notReloaded + "/" + document.querySelector("input[name=quote_id]").value`); v != "yes/"+bobPost {
		t.Fatalf("after quoting: %q", v)
	}
	b.do("type the reply", chromedp.SendKeys(chromedp.CSS(`#reply-body`), "Rye saved mine too."))
	b.shot("reply-with-quote")
	b.do("send the reply", chromedp.Submit(chromedp.CSS(`#reply-body`)),
		chromedp.WaitVisible(chromedp.CSS(`blockquote.quote .cite a[href="`+ts.URLs.Post(fx.Posts[1].ID)+`"]`)))
	b.shot("quoted-reply")

	// Likes Bob's post and sees the count change.
	b.open(threadPath)
	before := b.eval(`document.querySelector("#p` + bobPost + ` button.like .count").textContent`)
	b.do("like", chromedp.Click(chromedp.CSS(`#p`+bobPost+` button.like`)),
		chromedp.WaitVisible(chromedp.CSS(`#p`+bobPost+` button.like[aria-pressed="true"]`)))
	after := b.eval(`document.querySelector("#p` + bobPost + ` button.like .count").textContent`)
	if before != "0" || after != "1" {
		t.Fatalf("like count %s → %s, want 0 → 1", before, after)
	}
	b.shot("liked")

	// "Follow from your server": the form sends the reader to their
	// server's authorize_interaction page. The server resolves nowhere
	// (.invalid), so the browser's request for it is caught and answered
	// here, and the URL it asked for is checked.
	const server = "home.skein-test.invalid"
	asked := make(chan string, 1)
	b.do("catch requests to "+server, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, fetch.Enable, fetch.EnableParams{
			Patterns: []*fetch.RequestPattern{{URLPattern: "https://" + server + "/*"}}})
		return err
	}))
	paused := chromedp.Events(b.ctx, fetch.RequestPaused)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			select {
			case asked <- ev.Request.URL:
			default:
			}
			target := chromedp.FromContext(b.ctx).Target
			_, _ = cdp.Call(b.ctx, target, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID,
				ResponseCode: 200, ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/html"}},
				Body: []byte("<!doctype html><title>Your server</title><h1>Your server would ask you to confirm.</h1>")})
		}
	}()
	b.open(threadPath)
	b.do("follow from your server", chromedp.SendKeys(chromedp.CSS(`#follow-server`), server))
	b.shot("follow-from-your-server")
	b.do("send the follow form", chromedp.Submit(chromedp.CSS(`#follow-server`)))
	want := "https://" + server + "/authorize_interaction?uri=" + url.QueryEscape(ts.URLs.Thread(fx.Thread.ID))
	select {
	case got := <-asked:
		if got != want {
			t.Fatalf("follow sent the browser to %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the follow form did not send the browser to the reader's server")
	}
	b.waitFor("the reader's server", `location.href.startsWith("https://`+server+`/authorize_interaction?uri=")`)
	b.shot("followed-to-server")

	// Searches from the header and finds Bob's post, the words marked.
	b.open("/")
	b.do("search", chromedp.SendKeys(chromedp.CSS(`#site-search-q`), "rye"),
		chromedp.Submit(chromedp.CSS(`#site-search-q`)),
		chromedp.WaitVisible(chromedp.CSS(`ol.results a[href="/p/`+bobPost+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`ol.results mark`)))
	b.shot("search")

	// Dark mode follows the system setting.
	b.open(threadPath)
	light := b.eval(`getComputedStyle(document.body).backgroundColor`)
	b.colorScheme("dark")
	dark := b.eval(`getComputedStyle(document.body).backgroundColor`)
	if light == dark || dark != "rgb(18, 19, 22)" {
		t.Fatalf("background light %s, dark %s", light, dark)
	}
	b.shot("dark")
	b.colorScheme("light")
}

// axeViolation is what the check prints of each problem axe-core finds.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// Every main page passes axe-core without serious or critical
// violations, in light and dark, and fits a phone without sideways
// scrolling.
func TestBrowserAccessibility(t *testing.T) {
	axePath := os.Getenv("SKEIN_AXE_JS")
	ts := newSite(t)
	b := newTab(t, ts)
	if axePath == "" {
		t.Skip("SKEIN_AXE_JS is not set: run . .ci/browser-deps to install axe-core from npm")
	}
	axeSource, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatalf("read axe-core: %v", err)
	}
	storagetest.Replies(t, ts.Store, ts.FX.Thread.ID, ts.FX.Bob.ID, 3)
	// A post behind a content warning, which also notifies Alice.
	if _, err := ts.Store.CreatePost(context.Background(), storage.NewPost{ThreadID: ts.FX.Thread.ID, AuthorID: ts.FX.Bob.ID,
		Source: "The ending.", HTML: "<p>The ending.</p>", Summary: "film spoilers"}); err != nil {
		t.Fatal(err)
	}
	pages := []struct{ name, path string }{
		{"home", "/"},
		{"forum", "/f/kitchen"},
		{"thread", "/t/" + ts.FX.Thread.ID.String()},
		{"profile", "/u/bob"},
		{"sign-in", "/signin"},
		{"search", "/search?q=rye"},
		{"latest", "/latest"},
	}
	check := func(who, scheme string) {
		b.colorScheme(scheme)
		for _, p := range pages {
			b.open(p.path)
			// DevTools evaluation is not bound by the page's CSP, which
			// refuses inline and foreign scripts.
			if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void](string(axeSource))); err != nil {
				t.Fatalf("inject axe-core: %v", err)
			}
			res, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
				JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
					nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))))`, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("run axe-core on %s: %v", p.path, err)
			}
			var vs []axeViolation
			if err := json.Unmarshal([]byte(res), &vs); err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				if v.Impact == "serious" || v.Impact == "critical" {
					t.Errorf("%s page (%s, %s): %s [%s] %s: %s", p.name, who, scheme, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, " | "))
				} else {
					t.Logf("%s page (%s, %s): %s [%s] %s", p.name, who, scheme, v.Impact, v.ID, v.Help)
				}
			}
		}
	}
	check("guest", "light")
	check("guest", "dark")

	// Phone and desktop widths: nothing scrolls sideways.
	for _, w := range []struct {
		name          string
		width, height int64
	}{{"phone", 390, 844}, {"desktop", 1280, 900}} {
		b.viewport(w.width, w.height)
		for _, scheme := range []string{"light", "dark"} {
			b.colorScheme(scheme)
			for _, p := range pages {
				b.open(p.path)
				if over := b.eval(`String(document.documentElement.scrollWidth - window.innerWidth)`); over != "0" {
					t.Errorf("%s page at %dpx scrolls sideways by %spx", p.name, w.width, over)
				}
				if scheme == "light" || p.name == "thread" {
					b.shot(w.name + "-" + scheme + "-" + p.name)
				}
			}
		}
	}

	// A member's thread page, with the reply box and like buttons.
	b.viewport(1280, 900)
	b.open("/signin")
	b.do("sign in", chromedp.SendKeys(chromedp.CSS(`#handle`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#password`), storagetest.Password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`header.site a[href="/u/alice"]`)))
	pages = append(pages[2:3], struct{ name, path string }{"notifications", "/notifications"},
		struct{ name, path string }{"new thread", "/f/kitchen/new"},
		struct{ name, path string }{"delete", "/p/" + ts.FX.Posts[0].ID.String() + "/delete"})
	check("member", "light")
	check("member", "dark")
	b.shot("member-thread")
}
