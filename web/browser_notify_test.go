package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// A member finds a mention in their notifications, follows it to the
// post, and reads a post behind a content warning, which stays folded
// until opened, with the script turned off.
func TestBrowserNotificationsAndContentWarning(t *testing.T) {
	ts := newSite(t)
	b := newTab(t, ts)
	fx := ts.FX
	ctx := context.Background()
	storagetest.Replies(t, ts.Store, fx.Thread.ID, fx.Alice.ID, 25) // her own: the post lands on page 2
	cw, err := ts.Store.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID,
		Source: "@alice the secret is rye.", HTML: `<p><a href="` + ts.URLs.Member("alice") + `" class="mention">@alice</a> the secret is rye.</p>`,
		Summary: "bread spoilers", Mentions: []storage.ID{fx.Alice.ID}})
	if err != nil {
		t.Fatal(err)
	}

	b.open("/signin")
	b.do("sign in", chromedp.SendKeys(chromedp.CSS(`#handle`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#password`), storagetest.Password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`header.site a[href="/u/alice"]`)))
	// The seed's reply to Alice, and Bob's mention.
	if n := b.eval(`document.querySelector("header.site a.notifications-link .unread-count").firstChild.textContent`); n != "2" {
		t.Fatalf("header unread count %q, want 2", n)
	}
	b.shot("header-count")
	b.do("open notifications", chromedp.Click(chromedp.CSS(`header.site a.notifications-link`)),
		chromedp.WaitVisible(chromedp.CSS(`ol.notifications li.unread`)))
	if got := b.eval(`document.querySelector("ol.notifications li .excerpt").textContent`); got != "Content warning: bread spoilers" {
		t.Fatalf("the newest entry's excerpt is %q", got)
	}
	b.shot("notifications")

	// With the script off, the folded post still works: <details>.
	b.do("script off", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	b.do("open the mention", chromedp.Click(chromedp.CSS(`ol.notifications li.unread a.target`)),
		chromedp.WaitVisible(chromedp.CSS(`#p`+cw.ID.String()+` details.cw summary`)))
	b.do("script on", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
		return err
	}))
	b.waitFor("the post's page and anchor", `location.search === "?page=2" && location.hash === "#p`+cw.ID.String()+`"`)
	body := `document.querySelector("#p` + cw.ID.String() + ` details.cw .body")`
	if v := b.eval(`String(` + body + `.checkVisibility())`); v != "false" {
		t.Fatalf("the text behind the warning is visible before opening: %s", v)
	}
	b.shot("folded")
	b.do("unfold", chromedp.Click(chromedp.CSS(`#p`+cw.ID.String()+` details.cw summary`)))
	b.waitFor("the text shows", body+`.checkVisibility() && `+body+`.textContent.includes("the secret is rye")`)
	b.shot("unfolded")

	// Opening the entry marked it read.
	if n := b.eval(`document.querySelector("header.site a.notifications-link .unread-count").firstChild.textContent`); n != "1" {
		t.Fatalf("after opening one, the header says %q", n)
	}
	b.open("/notifications")
	b.do("mark all read", chromedp.Click(chromedp.CSS(`form[action="/notifications/read"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`ol.notifications li.unread`)))
	if n := b.eval(`String(document.querySelectorAll("header.site .unread-count").length)`); n != "0" {
		t.Fatalf("after marking all read the header still counts: %s", n)
	}
	b.shot("all-read")
}
