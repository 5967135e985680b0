package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// The whole life of a conversation through the browser: register, sign
// out and in again, start a thread, reply, quote, like, edit, delete.
func TestMemberFlow(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	carol := ts.browser()

	// Register: carol is signed in at once and lands where she came from.
	r := carol.post("/register", url.Values{"handle": {"carol"}, "display_name": {"Carol Baker"},
		"password": {"rising dough 42"}, "password2": {"rising dough 42"}, "next": {"/f/kitchen"}})
	r.wantStatus(t, http.StatusSeeOther)
	if loc := r.location(t); loc != "/f/kitchen" {
		t.Fatalf("after registering: Location %q", loc)
	}
	cookie := r.Header.Get("Set-Cookie")
	for _, attr := range []string{"skein_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("session cookie %q lacks %s", cookie, attr)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("cookie on a plain-http node is Secure: %q", cookie)
	}
	carol.get("/").wantStatus(t, http.StatusOK).wantContains(t, "Carol Baker", "Sign out")

	// Sign out, and in again.
	carol.post("/signout", nil).wantStatus(t, http.StatusSeeOther)
	carol.get("/").wantContains(t, "Sign in").wantLacks(t, "Sign out")
	r = carol.post("/signin", url.Values{"handle": {"Carol"}, "password": {"rising dough 42"}, "next": {"/f/kitchen/new"}})
	if r.wantStatus(t, http.StatusSeeOther).location(t) != "/f/kitchen/new" {
		t.Fatalf("sign-in went to %q", r.location(t))
	}

	// Start a thread.
	carol.get("/f/kitchen/new").wantStatus(t, http.StatusOK).wantContains(t, `name="title"`, `name="body"`)
	r = carol.post("/f/kitchen/new", url.Values{"title": {"Crumb too dense"}, "body": {"My loaf is **heavy**. Ideas?"}})
	r.wantStatus(t, http.StatusSeeOther)
	threadPath := r.location(t)
	page := carol.get(threadPath).wantStatus(t, http.StatusOK)
	page.wantContains(t, "<h1><bdi>Crumb too dense</bdi></h1>", "Carol Baker", "@carol@"+ts.URLs.Host(), "heavy", `<time datetime="`, "Posted ")
	page.wantContains(t, `id="reply-body"`) // members get a reply box

	// Bob replies.
	bob := ts.browser()
	bob.signIn("bob")
	r = bob.post(threadPath+"/reply", url.Values{"body": {"Longer proof, and more water."}})
	r.wantStatus(t, http.StatusSeeOther)
	loc := r.location(t)
	if !strings.HasPrefix(loc, threadPath+"#p") {
		t.Fatalf("reply went to %q", loc)
	}
	bobPostID, err := storage.ParseID(strings.TrimPrefix(loc[strings.Index(loc, "#p"):], "#p"))
	if err != nil {
		t.Fatal(err)
	}

	// Carol quotes Bob: the reply box opens with the quotation and its id.
	page = carol.get(threadPath + "?quote=" + bobPostID.String())
	page.wantStatus(t, http.StatusOK).wantContains(t, "&gt; Longer proof, and more water.", `name="quote_id" value="`+bobPostID.String()+`"`)
	r = carol.post(threadPath+"/reply", url.Values{"body": {"> Longer proof, and more water.\n\nWill try."}, "quote_id": {bobPostID.String()}})
	r.wantStatus(t, http.StatusSeeOther)
	quote := lastPost(t, ts, threadPath)
	if quote.QuoteID == nil || *quote.QuoteID != bobPostID {
		t.Fatalf("quote stored with quote_id %v, want %v", quote.QuoteID, bobPostID)
	}
	// The quotation is a cited block linking to Bob's post.
	carol.get(threadPath).wantContains(t, `<blockquote class="quote" cite="`+ts.URLs.Post(bobPostID)+`">`,
		`<p class="cite"><a href="`+ts.URLs.Post(bobPostID)+`">Bob Marsh wrote:</a></p>`, "Will try.")

	// Carol likes Bob's reply: Bob's reputation and the count rise; a
	// second press takes the like back.
	bobBefore := ts.account(ts.FX.Bob.ID).Reputation
	carol.post("/p/"+bobPostID.String()+"/like", nil).wantStatus(t, http.StatusSeeOther)
	if got := ts.account(ts.FX.Bob.ID).Reputation; got != bobBefore+1 {
		t.Fatalf("bob's reputation after a like = %d, want %d", got, bobBefore+1)
	}
	carol.get(threadPath).wantContains(t, `aria-pressed="true"`)
	bob.get(threadPath).wantContains(t, "1 like")
	carol.post("/p/"+bobPostID.String()+"/like", nil).wantStatus(t, http.StatusSeeOther)
	if got := ts.account(ts.FX.Bob.ID).Reputation; got != bobBefore {
		t.Fatalf("bob's reputation after unlike = %d, want %d", got, bobBefore)
	}
	// Nobody likes their own post.
	carol.post("/p/"+quote.ID.String()+"/like", nil).wantStatus(t, http.StatusBadRequest).wantContains(t, "your own post")

	// Carol edits her quote reply: it is marked edited.
	editPath := "/p/" + quote.ID.String() + "/edit"
	carol.get(editPath).wantStatus(t, http.StatusOK).wantContains(t, "Will try.")
	carol.post(editPath, url.Values{"body": {"Will try tonight."}}).wantStatus(t, http.StatusSeeOther)
	carol.get(threadPath).wantContains(t, "Will try tonight.", "edited")

	// And deletes it: a placeholder keeps its place.
	carol.post("/p/"+quote.ID.String()+"/delete", nil).wantStatus(t, http.StatusSeeOther)
	carol.get(threadPath).wantContains(t, "Post #3 was deleted.").wantLacks(t, "Will try tonight.")
	if p, _ := ts.Store.PostByID(ctx, quote.ID); !p.IsDeleted() {
		t.Fatal("post not deleted")
	}
}

// lastPost reads the newest post of the thread at threadPath.
func lastPost(t *testing.T, ts *testSite, threadPath string) *storage.Post {
	t.Helper()
	id, err := storage.ParseID(strings.TrimPrefix(threadPath, "/t/"))
	if err != nil {
		t.Fatal(err)
	}
	th := ts.thread(id)
	p, err := ts.Store.PostByID(context.Background(), th.LastPostID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGuestSeesPromptAndCannotPost(t *testing.T) {
	ts := newSite(t)
	guest := ts.browser()
	threadPath := "/t/" + ts.FX.Thread.ID.String()
	page := guest.get(threadPath).wantStatus(t, http.StatusOK)
	page.wantContains(t, "Sign in or register to reply", `href="/signin?next=`, `href="/register?next=`)
	page.wantLacks(t, `id="reply-body"`, "/like\"")

	before := ts.thread(ts.FX.Thread.ID).PostCount
	r := guest.post(threadPath+"/reply", url.Values{"body": {"Drive-by post"}})
	r.wantStatus(t, http.StatusSeeOther)
	if loc := r.location(t); !strings.HasPrefix(loc, "/signin?next=") {
		t.Fatalf("guest reply went to %q, want the sign-in page", loc)
	}
	guest.post("/f/kitchen/new", url.Values{"title": {"x"}, "body": {"y"}}).wantStatus(t, http.StatusSeeOther)
	guest.post("/p/"+ts.FX.Posts[1].ID.String()+"/like", nil).wantStatus(t, http.StatusSeeOther)
	if after := ts.thread(ts.FX.Thread.ID).PostCount; after != before {
		t.Fatalf("guest reply stored: %d posts, want %d", after, before)
	}
	if p, _ := ts.Store.PostByID(context.Background(), ts.FX.Posts[1].ID); p.LikeCount != 0 {
		t.Fatal("guest like stored")
	}
	f, _ := ts.Store.ForumBySlug(context.Background(), "kitchen")
	if f.ThreadCount != 1 {
		t.Fatalf("guest thread stored: forum has %d threads", f.ThreadCount)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	ts := newSite(t)
	bob := ts.browser()
	bob.signIn("bob")
	threadPath := "/t/" + ts.FX.Thread.ID.String()
	before := ts.thread(ts.FX.Thread.ID).PostCount
	r := bob.postWith(threadPath+"/reply", url.Values{"body": {"Forged by another site"}},
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	r.wantStatus(t, http.StatusForbidden)
	if r.Header.Get("Content-Security-Policy") == "" {
		t.Error("the refusal page has no CSP")
	}
	// An old browser without Sec-Fetch-Site, with a foreign Origin.
	bob.postWith(threadPath+"/reply", url.Values{"body": {"Forged again"}}, "Origin", "https://evil.example").
		wantStatus(t, http.StatusForbidden)
	if after := ts.thread(ts.FX.Thread.ID).PostCount; after != before {
		t.Fatalf("cross-origin reply stored: %d posts, want %d", after, before)
	}
}

// Server-to-server POSTs carry neither Origin nor Sec-Fetch-Site; the
// cross-origin protection must let them through to the inbox.
func TestInboxPostWithoutOriginPasses(t *testing.T) {
	ts := newSite(t)
	req, _ := http.NewRequest("POST", ts.URL+"/inbox", strings.NewReader(`{"type":"Follow"}`))
	req.Header.Set("Content-Type", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("inbox POST: status %d, want 202", resp.StatusCode)
	}
	if got := ts.inboxBodies(); len(got) != 1 || got[0] != `{"type":"Follow"}` {
		t.Fatalf("inbox received %q", got)
	}
}

func TestThreadPaging(t *testing.T) {
	ts := newSite(t)
	// 3 fixture posts + 42 replies = 45 posts: pages of 20, 20 and 5.
	replies := storagetest.Replies(t, ts.Store, ts.FX.Thread.ID, ts.FX.Bob.ID, 42)
	threadPath := "/t/" + ts.FX.Thread.ID.String()
	guest := ts.browser()
	post := regexp.MustCompile(`<article class="post" id="p`)

	p1 := guest.get(threadPath).wantStatus(t, http.StatusOK)
	if n := len(post.FindAllString(p1.Body, -1)); n != 20 {
		t.Fatalf("page 1 has %d posts, want 20", n)
	}
	p1.wantContains(t, `<link rel="next" href="`+threadPath+`?page=2">`, `aria-current="page"><span class="sr-only">Page </span>1</a>`,
		`href="`+threadPath+`?page=3"><span class="sr-only">Page </span>3</a>`, `max="3" value="1"`)
	p1.wantLacks(t, `rel="prev"`)

	p3 := guest.get(threadPath+"?page=3").wantStatus(t, http.StatusOK)
	if n := len(post.FindAllString(p3.Body, -1)); n != 5 {
		t.Fatalf("page 3 has %d posts, want 5", n)
	}
	p3.wantContains(t, `<link rel="prev" href="`+threadPath+`?page=2">`, `aria-current="page"><span class="sr-only">Page </span>3</a>`, `href="`+threadPath+`"><span class="sr-only">Page </span>1</a>`,
		"Reply number 42,", `<link rel="canonical" href="`+ts.URL+threadPath+`?page=3">`)
	p3.wantLacks(t, `rel="next"`, "Reply number 37,")

	p2 := guest.get(threadPath+"?page=2").wantStatus(t, http.StatusOK)
	p2.wantContains(t, `rel="prev" href="`+threadPath+`"`, `rel="next" href="`+threadPath+`?page=3"`)

	// The 45th post's permalink lands on page 3 at its anchor.
	last := replies[len(replies)-1]
	if last.Position != 45 {
		t.Fatalf("last reply has position %d", last.Position)
	}
	r := guest.get("/p/" + last.ID.String())
	if r.StatusCode != http.StatusFound && r.StatusCode != http.StatusSeeOther {
		t.Fatalf("permalink: status %d", r.StatusCode)
	}
	if want := threadPath + "?page=3#p" + last.ID.String(); r.location(t) != want {
		t.Fatalf("permalink went to %q, want %q", r.location(t), want)
	}
	// The 20th post stays on page 1.
	if loc := guest.get("/p/" + replies[16].ID.String()).location(t); loc != threadPath+"#p"+replies[16].ID.String() {
		t.Fatalf("post 20 permalink = %q", loc)
	}

	// Pages past the end, and nonsense pages, are 404s.
	for _, q := range []string{"?page=4", "?page=0", "?page=-1", "?page=abc", "?page=99999999999999999999"} {
		guest.get(threadPath+q).wantStatus(t, http.StatusNotFound)
	}
}

func TestPageLinksNumberAWindow(t *testing.T) {
	ts := newSite(t)
	storagetest.Replies(t, ts.Store, ts.FX.Thread.ID, ts.FX.Bob.ID, 9*storage.PostsPerPage)
	threadPath := "/t/" + ts.FX.Thread.ID.String()
	page := ts.browser().get(threadPath+"?page=5").wantStatus(t, http.StatusOK)
	pager := regexp.MustCompile(`(?s)<ol class="pages">.*?</ol>`).FindString(page.Body)
	nums := regexp.MustCompile(`</span>(\d+)</a>|(…)`).FindAllStringSubmatch(pager, -1)
	var got []string
	for _, m := range nums {
		got = append(got, m[1]+m[2])
	}
	if want := "1 … 3 4 5 6 7 … 10"; strings.Join(got, " ") != want {
		t.Errorf("page 5 of 10 numbers %q, want %q", strings.Join(got, " "), want)
	}
	// Jump to page: the form asks for ?page=N of the thread.
	page.wantContains(t, `<form method="get" action="`+threadPath+`" class="jump">`)
	ts.browser().get(threadPath+"?page=10").wantStatus(t, http.StatusOK)
}

func TestLatestAcrossForums(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	garden, err := ts.Store.CreateForum(ctx, storage.NewForum{Slug: "garden", Title: "The Garden"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.Store.CreateThread(ctx, storage.NewThread{ForumID: garden.ID, AuthorID: ts.FX.Bob.ID,
		Title: "Tomatoes in December", Source: "x", HTML: "<p>x</p>"}); err != nil {
		t.Fatal(err)
	}
	alice := ts.browser()
	alice.signIn("alice")
	alice.get("/t/" + ts.FX.Thread.ID.String()) // read to the end
	if _, err := ts.Store.CreatePost(ctx, storage.NewPost{ThreadID: ts.FX.Thread.ID, AuthorID: ts.FX.Bob.ID,
		Source: "y", HTML: "<p>y</p>"}); err != nil {
		t.Fatal(err)
	}
	page := alice.get("/latest").wantStatus(t, http.StatusOK)
	page.wantContains(t, "Tomatoes in December", `In <a href="/f/garden"><bdi>The Garden</bdi></a>`,
		ts.FX.Thread.Title, `In <a href="/f/kitchen">`, `1 new</a>`)
	// Latest activity first: the thread Bob just answered leads.
	if strings.Index(page.Body, ts.FX.Thread.Title) > strings.Index(page.Body, "Tomatoes in December") {
		t.Error("Latest is not in order of latest activity")
	}
	ts.browser().get("/latest").wantStatus(t, http.StatusOK).wantLacks(t, "new</a>")
}

func TestForumPageNumbers(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	for i := range 64 {
		if _, _, err := ts.Store.CreateThread(ctx, storage.NewThread{ForumID: ts.FX.Forum.ID, AuthorID: ts.FX.Bob.ID,
			Title: fmt.Sprintf("Topic %02d", i), Source: "x", HTML: "<p>x</p>"}); err != nil {
			t.Fatal(err)
		}
	}
	guest := ts.browser()
	p1 := guest.get("/f/kitchen").wantStatus(t, http.StatusOK)
	p1.wantContains(t, `href="/f/kitchen?page=3"><span class="sr-only">Page </span>3</a>`, `rel="next"`, "Topic 63")
	p3 := guest.get("/f/kitchen?page=3").wantStatus(t, http.StatusOK)
	p3.wantContains(t, `aria-current="page"><span class="sr-only">Page </span>3</a>`, "Topic 00", ts.FX.Thread.Title,
		`<link rel="canonical" href="`+ts.URL+`/f/kitchen?page=3">`).wantLacks(t, "Topic 63", `rel="next"`)
	guest.get("/f/kitchen?page=0").wantStatus(t, http.StatusNotFound)
}
