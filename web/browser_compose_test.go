package web_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// signIn signs the tab in through the form.
func (b *tab) signIn(handle string) {
	b.t.Helper()
	b.open("/signin")
	b.do("sign in as "+handle, chromedp.SendKeys(chromedp.CSS(`#handle`), handle),
		chromedp.SendKeys(chromedp.CSS(`#password`), storagetest.Password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`header.site a[href="/u/`+handle+`"]`)))
}

// countPosts counts the thread's live posts whose text is src.
func countPosts(t *testing.T, ts *testSite, threadID storage.ID, src string) int {
	t.Helper()
	n := 0
	for page := int64(1); ; page++ {
		posts, err := ts.Store.ThreadPage(context.Background(), threadID, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range posts {
			if p.Source == src && !p.IsDeleted() {
				n++
			}
		}
		if len(posts) < storage.PostsPerPage {
			return n
		}
	}
}

// A member writes in a real browser: preview (live and by the button),
// a form sent twice makes one post, a session that ends mid-reply keeps
// the text, an image goes up with its alt text and shows, and deleting
// asks first.
func TestBrowserComposer(t *testing.T) {
	ts, _ := mediaSite(t)
	b := newTab(t, ts)
	thread := ts.FX.Thread.ID
	threadPath := "/t/" + thread.String()
	b.signIn("bob")

	// Preview: live while typing, and the button (no script needed).
	b.open(threadPath)
	b.do("type", chromedp.SendKeys(chromedp.CSS(`#reply-body`), "Feed it **rye**."))
	b.waitFor("live preview", `document.querySelector("#reply-form .preview:not([hidden]) strong")?.textContent === "rye"`)
	b.eval(`window.oldPage = "yes"`)
	b.do("press Preview", chromedp.Click(chromedp.CSS(`#reply-form button[name=preview]`)))
	b.waitFor("preview page", `window.oldPage === undefined && document.readyState === "complete" &&
		document.querySelector("#reply-form .preview strong")?.textContent === "rye" &&
		document.getElementById("reply-body").value.includes("Feed it **rye**.")`)
	if n := countPosts(t, ts, thread, "Feed it **rye**."); n != 0 {
		t.Fatalf("previewing posted %d times", n)
	}

	// The unsent text was saved in the browser: it is back on the next
	// visit, with a note saying so.
	b.open(threadPath)
	b.waitFor("the draft back", `document.getElementById("reply-body").value === "Feed it **rye**." && !!document.querySelector(".draft-note")`)

	// The same form sent twice at once: one post.
	b.eval(`document.getElementById("reply-body").value = ""`)
	b.do("type", chromedp.SendKeys(chromedp.CSS(`#reply-body`), "Sent twice."))
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => { const f = document.getElementById("reply-form");
		const d = new FormData(f);
		return Promise.all([fetch(f.action, {method: "POST", body: d, redirect: "manual"}),
			fetch(f.action, {method: "POST", body: d, redirect: "manual"})]).then(() => ""); })()`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("send the form twice: %v", err)
	}
	if n := countPosts(t, ts, thread, "Sent twice."); n != 1 {
		t.Fatalf("a form sent twice made %d posts", n)
	}
	b.eval(`localStorage.clear(), ""`) // the fetches left the draft saved

	// The session ends while typing: the text comes back after signing in.
	b.open(threadPath)
	const kept = "Typed while my session ran out."
	b.do("type", chromedp.SendKeys(chromedp.CSS(`#reply-body`), kept))
	b.do("end the session", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
		return err
	}))
	b.do("post", chromedp.Click(chromedp.CSS(`#reply-form button[type=submit]:not([name])`)),
		chromedp.WaitVisible(chromedp.CSS(`#password`)))
	b.do("sign in again", chromedp.SendKeys(chromedp.CSS(`#handle`), "bob"),
		chromedp.SendKeys(chromedp.CSS(`#password`), storagetest.Password),
		chromedp.Submit(chromedp.CSS(`#password`)))
	b.waitFor("the kept reply", `document.getElementById("reply-body")?.value.includes(`+fmt.Sprintf("%q", kept)+`) &&
		location.hash === "#reply" && !!document.getElementById("reply-error")`)
	b.shot("kept-after-sign-in")
	b.do("post it", chromedp.Click(chromedp.CSS(`#reply-form button[type=submit]:not([name])`)))
	b.waitFor("the kept reply posted", `[...document.querySelectorAll("article.post .body")].some(e => e.textContent.includes(`+fmt.Sprintf("%q", kept)+`))`)

	// An image with alt text, picked in the file picker (the script sends
	// it at once), shown in the thread.
	img := filepath.Join(t.TempDir(), "loaf.png")
	if err := os.WriteFile(img, pngImage(t, 640, 480), 0o644); err != nil {
		t.Fatal(err)
	}
	b.open(threadPath)
	b.do("type", chromedp.SendKeys(chromedp.CSS(`#reply-body`), "My loaf."))
	b.do("pick an image", chromedp.SetUploadFiles(chromedp.CSS(`#reply-files`), []string{img}))
	b.waitFor("the image to describe", `!!document.querySelector("#reply-form textarea[name^=alt-]")`)
	b.do("describe it", chromedp.SendKeys(chromedp.CSS(`#reply-form textarea[name^=alt-]`), "A round loaf with a deep ear"))
	b.shot("image-attached")
	b.do("post", chromedp.Click(chromedp.CSS(`#reply-form button[type=submit]:not([name])`)))
	b.waitFor("the image in the thread", `(() => { const i = document.querySelector('article.post img[alt="A round loaf with a deep ear"]');
		return !!i && i.complete && i.naturalWidth === 400; })()`)
	b.shot("image-posted")

	// Dropped on the composer, an image goes up the same way.
	b.open(threadPath)
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`new Promise(done => {
		const c = document.createElement("canvas"); c.width = 80; c.height = 60;
		c.getContext("2d").fillRect(0, 0, 40, 30);
		c.toBlob(blob => {
			const dt = new DataTransfer();
			dt.items.add(new File([blob], "dropped.png", {type: "image/png"}));
			document.getElementById("reply-form").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
			done("");
		}, "image/png");
	})`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("drop an image: %v", err)
	}
	b.waitFor("the dropped image to describe", `!!document.querySelector("#reply-form textarea[name^=alt-]")`)

	// Deleting asks first.
	b.do("delete", chromedp.Click(chromedp.CSS(`article.post:last-of-type a[href$="/delete"]`)))
	b.waitFor("the question", `document.querySelector("h1")?.textContent === "Delete this post?"`)
	b.shot("delete-asks")
	if n := countPosts(t, ts, thread, "My loaf."); n != 1 {
		t.Fatal("asking deleted the post")
	}
	b.do("confirm", chromedp.Click(chromedp.CSS(`form.confirm button`)))
	b.waitFor("back on the thread", `location.pathname === "`+threadPath+`"`)
	if n := countPosts(t, ts, thread, "My loaf."); n != 0 {
		t.Fatal("confirming did not delete the post")
	}
}

// A reader sees a remote post's image (a sensitive one blurred until
// clicked), a page with a 300-character unbroken title fits a phone,
// and a right-to-left override in a name stays inside the name.
func TestBrowserReading(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	remoteImg := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngImage(t, 300, 200))
	}))
	t.Cleanup(remoteImg.Close)
	remoteImg.Config.TLSConfig = &tls.Config{}
	apID := "https://social.example/users/dana"
	dana, err := ts.Store.UpsertRemoteAccount(ctx, &storage.Account{Handle: "dana", Domain: "social.example",
		DisplayName: "Dana", APID: &apID, ActorType: "Person"})
	if err != nil {
		t.Fatal(err)
	}
	note := "https://social.example/users/dana/statuses/1"
	if _, err := ts.Store.CreatePost(ctx, storage.NewPost{ThreadID: ts.FX.Thread.ID, AuthorID: dana.ID, APID: &note,
		Source: "", HTML: "<p>My crumb.</p>", RemoteMedia: []storage.RemoteAttachment{
			{URL: remoteImg.URL + "/crumb.png", ContentType: "image/png", Description: "Dana's crumb", Width: 300, Height: 200, Sensitive: true}}}); err != nil {
		t.Fatal(err)
	}
	hash, _ := storage.HashPassword(storagetest.Password)
	mallory, err := ts.Store.CreateMember(ctx, storage.NewMember{Handle: "mallory", DisplayName: "Mal\u202Eyrol", PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	// Titles stop at storage.MaxTitleLen characters; the 300-letter word
	// is in the post.
	word := strings.Repeat("W", 300)
	long, _, err := ts.Store.CreateThread(ctx, storage.NewThread{ForumID: ts.FX.Forum.ID, AuthorID: mallory.ID,
		Title: word[:storage.MaxTitleLen], Source: word, HTML: "<p>" + word + "</p>"})
	if err != nil {
		t.Fatal(err)
	}

	b := newTab(t, ts)
	b.open("/t/" + ts.FX.Thread.ID.String())
	sel := `img[alt="Dana's crumb"]`
	b.waitFor("the remote image", `(() => { const i = document.querySelector(`+fmt.Sprintf("%q", sel)+`);
		return !!i && i.complete && i.naturalWidth === 300 && i.referrerPolicy === "no-referrer"; })()`)
	if f := b.eval(`getComputedStyle(document.querySelector(` + fmt.Sprintf("%q", sel) + `)).filter`); !strings.HasPrefix(f, "blur") {
		t.Errorf("a sensitive image shows with filter %q, want blurred", f)
	}
	b.do("reveal", chromedp.Click(chromedp.CSS(`details.sensitive summary`)))
	b.waitFor("unblurred", `getComputedStyle(document.querySelector(`+fmt.Sprintf("%q", sel)+`)).filter === "none"`)
	b.shot("remote-image")

	// A phone: nothing scrolls sideways, even with a 300-letter word.
	b.viewport(390, 844)
	for _, path := range []string{"/t/" + long.ID.String(), "/f/kitchen", "/latest"} {
		b.open(path)
		if over := b.eval(`String(document.documentElement.scrollWidth - window.innerWidth)`); over != "0" {
			t.Errorf("%s at 390px scrolls sideways by %spx", path, over)
		}
		b.shot("phone" + strings.ReplaceAll(path, "/", "-"))
	}

	// The override in Mallory's name does not reverse what follows it:
	// the date after "Started by NAME," stays to the right of the name.
	b.viewport(1280, 900)
	b.open("/f/kitchen")
	row := `document.querySelector('li.thread a[href="/t/` + long.ID.String() + `"]').closest("li")`
	if got := b.eval(`(() => { const li = ` + row + `; const name = li.querySelector(".meta bdi");
		const time = li.querySelector(".meta time");
		return name.textContent + "|" + (time.getBoundingClientRect().left > name.getBoundingClientRect().right); })()`); got != "Mal\u202Eyrol|true" {
		t.Errorf("name and date: %q, want the date after the isolated name", got)
	}
	b.shot("rtl-name")
}
