package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

var tokenField = regexp.MustCompile(`name="form_token" value="([^"]+)"`)

// formToken is the one-time token of the composer on a page.
func formToken(t *testing.T, r *response) string {
	t.Helper()
	m := tokenField.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("%s: no form token on the page", r.Request.URL)
	}
	return m[1]
}

// bobAtTheThread is a site with Bob signed in on the fixture thread's
// page, and the token of its reply box.
func bobAtTheThread(t *testing.T) (*testSite, *browser, string, string) {
	ts := newSite(t)
	bob := ts.browser()
	bob.signIn("bob")
	threadPath := site.ThreadPath(ts.FX.Thread.ID)
	return ts, bob, threadPath, formToken(t, bob.get(threadPath))
}

func TestComposerTokenStopsDoubleSubmit(t *testing.T) {
	ts := newSite(t)
	bob := ts.browser()
	bob.signIn("bob")
	threadPath := site.ThreadPath(ts.FX.Thread.ID)
	page := bob.get(threadPath).wantStatus(t, http.StatusOK)
	tok := formToken(t, page)
	if again := formToken(t, bob.get(threadPath)); again == tok {
		t.Fatal("two page loads got the same form token")
	}
	before := ts.thread(ts.FX.Thread.ID).PostCount
	form := url.Values{"body": {"Only once, please."}, "form_token": {tok}}
	first := bob.post(threadPath+"/reply", form).wantStatus(t, http.StatusSeeOther).location(t)
	second := bob.post(threadPath+"/reply", form).wantStatus(t, http.StatusSeeOther).location(t)
	if first != second {
		t.Errorf("the second submit went to %s, the first to %s", second, first)
	}
	if n := ts.thread(ts.FX.Thread.ID).PostCount; n != before+1 {
		t.Errorf("post count %d after a double submit, want %d", n, before+1)
	}

	// A new thread sent twice is one thread.
	newPath := site.ForumPath(ts.FX.Forum.Slug) + "/new"
	tok = formToken(t, bob.get(newPath).wantStatus(t, http.StatusOK))
	tf := url.Values{"title": {"Rye or wheat?"}, "body": {"Which flour feeds a starter best?"}, "form_token": {tok}}
	a := bob.post(newPath, tf).wantStatus(t, http.StatusSeeOther).location(t)
	b := bob.post(newPath, tf).wantStatus(t, http.StatusSeeOther).location(t)
	if a != b {
		t.Errorf("the new thread form sent twice went to %s and %s", a, b)
	}
	threads, err := ts.Store.ListThreads(context.Background(), ts.FX.Forum.ID, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, th := range threads {
		if th.Title == "Rye or wheat?" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d threads made from one form sent twice", n)
	}
}

func TestReplyKeptWhenSignedOut(t *testing.T) {
	ts, _, threadPath, tok := bobAtTheThread(t)
	before := ts.thread(ts.FX.Thread.ID).PostCount

	// The session ended while Bob typed: the same browser, no cookie.
	later := ts.browser()
	r := later.post(threadPath+"/reply", url.Values{"body": {"A long reply typed over lunch."}, "form_token": {tok}})
	loc := r.wantStatus(t, http.StatusSeeOther).location(t)
	if !strings.HasPrefix(loc, "/signin?next=") {
		t.Fatalf("signed-out reply went to %s, want sign-in", loc)
	}
	next, _ := url.Parse(loc)
	back := next.Query().Get("next")
	if !strings.Contains(back, "draft=") || !strings.HasSuffix(back, "#reply") {
		t.Fatalf("sign-in goes back to %q, want the reply box with the kept text", back)
	}
	// Nobody else can open it, and it is not shown to a guest.
	later.get(back).wantLacks(t, "A long reply typed over lunch.")
	alice := ts.browser()
	alice.signIn("alice")

	later.post("/signin", url.Values{"handle": {"bob"}, "password": {"correct horse battery staple"}, "next": {back}}).
		wantStatus(t, http.StatusSeeOther)
	page := later.get(strings.TrimSuffix(back, "#reply")).wantStatus(t, http.StatusOK)
	page.wantContains(t, "A long reply typed over lunch.", "You were signed out before your reply was posted", `value="`+tok+`"`)
	alice.get(strings.TrimSuffix(back, "#reply")).wantLacks(t, "A long reply typed over lunch.")
	if n := ts.thread(ts.FX.Thread.ID).PostCount; n != before {
		t.Fatalf("a signed-out reply was posted")
	}
	// Sent from the page it came back on, it posts once.
	later.post(threadPath+"/reply", url.Values{"body": {"A long reply typed over lunch."}, "form_token": {tok}}).
		wantStatus(t, http.StatusSeeOther)
	if n := ts.thread(ts.FX.Thread.ID).PostCount; n != before+1 {
		t.Fatalf("post count %d, want %d", n, before+1)
	}
	// The draft link now leads to the post.
	loc = later.get(strings.TrimSuffix(back, "#reply")).wantStatus(t, http.StatusSeeOther).location(t)
	if !strings.HasPrefix(loc, "/t/") || !strings.Contains(loc, "#p") {
		t.Errorf("the used draft link goes to %s, want the post", loc)
	}
}

func TestReplyKeptWhenThreadLocked(t *testing.T) {
	ts, bob, threadPath, tok := bobAtTheThread(t)
	if err := ts.Store.LockThread(context.Background(), ts.FX.Mod.ID, ts.FX.Thread.ID, true); err != nil {
		t.Fatal(err)
	}
	loc := bob.post(threadPath+"/reply", url.Values{"body": {"Words typed before the lock."}, "form_token": {tok}}).
		wantStatus(t, http.StatusSeeOther).location(t)
	bob.get(strings.TrimSuffix(loc, "#reply")).wantStatus(t, http.StatusOK).
		wantContains(t, "locked while you were writing", "Words typed before the lock.", "readonly")
}

func TestComposerErrorReloadsAtTheForm(t *testing.T) {
	ts, bob, threadPath, tok := bobAtTheThread(t)
	long := strings.Repeat("é", storage.MaxBodyLen+1)
	loc := bob.post(threadPath+"/reply", url.Values{"body": {long}, "form_token": {tok}}).
		wantStatus(t, http.StatusSeeOther).location(t)
	if !strings.HasSuffix(loc, "#reply") {
		t.Errorf("an error sends the member to %s, want the reply box", loc)
	}
	for range 2 { // the URL reloads
		bob.get(strings.TrimSuffix(loc, "#reply")).wantStatus(t, http.StatusOK).
			wantContains(t, "The post is 65,537 characters long; the limit is 65,536.", `id="reply-error"`)
	}
	// The limit counts characters: as many two-byte letters fit.
	bob.post(threadPath+"/reply", url.Values{"body": {long[2:]}}).wantStatus(t, http.StatusSeeOther)

	// A title too long says its limit, on the new thread form.
	newPath := site.ForumPath(ts.FX.Forum.Slug) + "/new"
	tok = formToken(t, bob.get(newPath))
	loc = bob.post(newPath, url.Values{"title": {strings.Repeat("ß", 201)}, "body": {"x"}, "form_token": {tok}}).
		wantStatus(t, http.StatusSeeOther).location(t)
	bob.get(strings.TrimSuffix(loc, "#compose")).wantStatus(t, http.StatusOK).
		wantContains(t, "The title is 201 characters long; the limit is 200.", strings.Repeat("ß", 201))
}

func TestComposerPreview(t *testing.T) {
	ts := newSite(t)
	bob := ts.browser()
	bob.signIn("bob")
	threadPath := site.ThreadPath(ts.FX.Thread.ID)
	before := ts.thread(ts.FX.Thread.ID).PostCount
	bob.post(threadPath+"/reply", url.Values{"body": {"Try **rye**"}, "preview": {"1"}, "form_token": {"tok-preview-0000000000"}}).
		wantStatus(t, http.StatusOK).wantContains(t, "<strong>rye</strong>", "Try **rye**</textarea>", `value="tok-preview-0000000000"`)
	if n := ts.thread(ts.FX.Thread.ID).PostCount; n != before {
		t.Errorf("a preview posted")
	}
	bob.post(site.ForumPath(ts.FX.Forum.Slug)+"/new", url.Values{"title": {"T"}, "body": {"# Heading"}, "preview": {"1"}}).
		wantStatus(t, http.StatusOK).wantContains(t, "<h2>Heading</h2>")
	// The script's live preview.
	bob.post("/preview", url.Values{"body": {"_soft_"}}).wantStatus(t, http.StatusOK).wantContains(t, "<em>soft</em>")
	ts.browser().post("/preview", url.Values{"body": {"_soft_"}}).wantStatus(t, http.StatusForbidden)
}

func TestDeleteAsksFirst(t *testing.T) {
	ts := newSite(t)
	alice := ts.browser()
	alice.signIn("alice")
	last := ts.FX.Posts[len(ts.FX.Posts)-1]
	postPath := site.PostPath(last.ID)
	alice.get(site.ThreadPath(ts.FX.Thread.ID)).wantContains(t, `<a href="`+postPath+`/delete"`).
		wantLacks(t, `action="`+postPath+`/delete"`)
	alice.get(postPath+"/delete").wantStatus(t, http.StatusOK).
		wantContains(t, "Delete this post?", `<form method="post" action="`+postPath+`/delete"`)
	if p, _ := ts.Store.PostByID(context.Background(), last.ID); p.IsDeleted() {
		t.Fatal("asking deleted the post")
	}
	alice.post(postPath+"/delete", nil).wantStatus(t, http.StatusSeeOther)
	if p, _ := ts.Store.PostByID(context.Background(), last.ID); !p.IsDeleted() {
		t.Fatal("confirming did not delete the post")
	}
	alice.get(site.PostPath(ts.FX.Posts[0].ID)+"/delete").wantContains(t, "Delete this thread?")
	ts.browser().get(postPath+"/delete").wantStatus(t, http.StatusSeeOther)

	mod := ts.browser()
	mod.signIn(ts.FX.Mod.Handle)
	threadPath := site.ThreadPath(ts.FX.Thread.ID)
	mod.get(threadPath+"/delete").wantStatus(t, http.StatusOK).
		wantContains(t, "Delete the thread", `action="`+threadPath+`/delete"`)
	alice.get(threadPath+"/delete").wantStatus(t, http.StatusForbidden)
}

// A post may say anything, a composer's token slot included: what it says
// is never taken for a slot, on a member's page (which has a composer) or
// a guest's, and its thread page is still kept for guests.
func TestPostTextIsNeverATokenSlot(t *testing.T) {
	ts, bob, threadPath, tok := bobAtTheThread(t)
	// The slot as it once was, and as markup it could look like now.
	text := "My token read skein-form-token-slot0, or `<!--skein-form-slot-->` in the source."
	bob.post(threadPath+"/reply", url.Values{"body": {text}, "form_token": {tok}}).wantStatus(t, http.StatusSeeOther)
	said := strings.TrimSpace(lastPost(t, ts, threadPath).HTML)
	if said != "<p>My token read skein-form-token-slot0, or <code>&lt;!--skein-form-slot--&gt;</code> in the source.</p>" {
		t.Fatalf("the reply was stored as %s", said)
	}
	page := bob.get(threadPath).wantStatus(t, http.StatusOK).wantContains(t, said)
	if tok := formToken(t, page); len(tok) != len(storage.NewFormToken()) || strings.Contains(tok, "slot") {
		t.Fatalf("the composer's token is %q", tok)
	}
	guest := ts.browser()
	guest.get(threadPath).wantStatus(t, http.StatusOK).wantContains(t, said, ts.FX.Bob.DisplayName)
	// A rename does not change the thread's version: a page kept for
	// guests shows the old name (for up to the cache's 30 seconds), a
	// page rendered afresh the new.
	if _, err := ts.Store.DB().NewRaw("UPDATE accounts SET display_name = ? WHERE id = ?", "Robert Renamed", ts.FX.Bob.ID).
		Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	guest.get(threadPath).wantStatus(t, http.StatusOK).wantContains(t, said, ts.FX.Bob.DisplayName).wantLacks(t, "Robert Renamed")
	bob.get(threadPath).wantContains(t, said, "Robert Renamed")
}
