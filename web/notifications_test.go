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
	"github.com/skein-forum/skein/storage/storagetest"
)

// unreadCount reads the count in the page header; 0 when there is none.
func unreadCount(t *testing.T, r *response) string {
	t.Helper()
	m := regexp.MustCompile(`<span class="unread-count">([0-9,]+)<span class="sr-only"> unread</span></span>`).FindStringSubmatch(r.Body)
	if m == nil {
		return "0"
	}
	return m[1]
}

// Members mentioning, replying to, quoting and liking each other notify
// the member concerned; the header counts what is unread; opening an
// entry marks it read and goes to the post in its thread.
func TestNotificationsPage(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	fx := ts.FX
	threadPath := site.ThreadPath(fx.Thread.ID)

	// Guests are sent to sign in.
	guest := ts.browser()
	if loc := guest.get("/notifications").wantStatus(t, http.StatusSeeOther).location(t); !strings.HasPrefix(loc, "/signin?next=") {
		t.Fatalf("guest sent to %q", loc)
	}

	alice, bob, morgan := ts.browser(), ts.browser(), ts.browser()
	alice.signIn("alice")
	bob.signIn("bob")
	morgan.signIn("morgan")
	// The seed: Bob's reply to Alice's post notified her.
	if n := unreadCount(t, alice.get("/")); n != "1" {
		t.Fatalf("alice's header says %s unread, want 1", n)
	}

	// Bob replies mentioning Morgan (and Alice, whose thread it is: one
	// notification for her, as a reply), then likes Alice's post.
	r := bob.post(threadPath+"/reply", url.Values{"body": {"Agreed, @morgan and @Alice: rye."}})
	r.wantStatus(t, http.StatusSeeOther)
	reply := lastPost(t, ts, threadPath)
	if !strings.Contains(reply.HTML, `class="mention">@morgan</a>`) {
		t.Fatalf("mention not linked: %s", reply.HTML)
	}
	bob.post(site.PostPath(fx.Posts[0].ID)+"/like", nil).wantStatus(t, http.StatusSeeOther)

	page := alice.get("/notifications").wantStatus(t, http.StatusOK)
	if n := unreadCount(t, page); n != "3" {
		t.Fatalf("alice's header says %s unread, want 3", n)
	}
	page.wantContains(t, "<h1>Notifications</h1>", "Bob Marsh</bdi></a> liked your post in", "Bob Marsh</bdi></a> replied to your post in",
		"Sourdough starter keeps dying", "Agreed, @morgan and @Alice: rye.", `<span class="badge">New</span>`, "Mark all read")
	if got := page.Header.Get("Cache-Control"); got != "private, no-store" {
		t.Fatalf("Cache-Control %q", got)
	}
	morgan.get("/notifications").wantContains(t, "Bob Marsh</bdi></a> mentioned you in")
	if n := unreadCount(t, bob.get("/")); n != "1" { // Alice's quote in the seed
		t.Fatalf("bob's header says %s unread, want 1", n)
	}

	// Opening the newest reply notification: marked read, and the
	// browser goes to the post on its page of the thread.
	entries, err := ts.Store.Notifications(ctx, fx.Alice.ID, 0, 10)
	if err != nil || len(entries) != 3 {
		t.Fatalf("entries: %d %v", len(entries), err)
	}
	open := "/notifications/" + entries[1].ID.String()
	page.wantContains(t, `href="`+open+`"`)
	// Nobody else can open it.
	bob.get(open).wantStatus(t, http.StatusNotFound)
	loc := alice.get(open).wantStatus(t, http.StatusSeeOther).location(t)
	if loc != site.PostPermalinkPath(reply) {
		t.Fatalf("opening went to %q, want %q", loc, site.PostPermalinkPath(reply))
	}
	if n := unreadCount(t, alice.get("/")); n != "2" {
		t.Fatalf("after opening one: %s unread, want 2", n)
	}
	// One marked read with its button, then the rest at once.
	alice.post("/notifications/"+entries[0].ID.String()+"/read", nil).wantStatus(t, http.StatusSeeOther)
	if n := unreadCount(t, alice.get("/")); n != "1" {
		t.Fatalf("after marking one: %s unread, want 1", n)
	}
	r = alice.post("/notifications/read", url.Values{"up_to": {entries[0].ID.String()}})
	if r.wantStatus(t, http.StatusSeeOther).location(t) != "/notifications" {
		t.Fatalf("mark all read went to %q", r.location(t))
	}
	page = alice.get("/notifications")
	if n := unreadCount(t, page); n != "0" {
		t.Fatalf("after mark all read: %s unread", n)
	}
	page.wantLacks(t, `<span class="badge">New</span>`, "Mark all read").wantContains(t, "liked your post in")

	// Morgan quotes Alice's post: a quote notification (a quotation says
	// more than a reply to her thread).
	morgan.post(threadPath+"/reply", url.Values{"body": {"> Flour or water?\n\nFlour."}, "quote_id": {fx.Posts[0].ID.String()}}).
		wantStatus(t, http.StatusSeeOther)
	alice.get("/notifications").wantContains(t, "Morgan the Moderator</bdi></a> quoted your post in")
}

// A remote follower's notification opens their profile; a remote
// reply's leading mentions of the thread and of the member it answers are
// not shown in the thread.
func TestRemoteNotificationsAndMentionNoise(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	fx := ts.FX
	apID := "https://social.example/users/carol"
	carol, err := ts.Store.UpsertRemoteAccount(ctx, &storage.Account{Handle: "carol", Domain: "social.example", APID: &apID,
		Inbox: apID + "/inbox", URL: "https://social.example/@carol", DisplayName: "Carol Remote"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Store.AddFollow(ctx, carol.ID, storage.FollowAccount, fx.Bob.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	bob := ts.browser()
	bob.signIn("bob")
	bob.get("/notifications").wantContains(t, "Carol Remote</bdi></a> followed you")
	entries, _ := ts.Store.Notifications(ctx, fx.Bob.ID, 0, 1)
	if loc := bob.get("/notifications/" + entries[0].ID.String()).location(t); loc != "https://social.example/@carol" {
		t.Fatalf("a follow opens %q", loc)
	}

	mention := func(href, name string) string {
		return `<span class="h-card"><a href="` + href + `" class="u-url mention" rel="nofollow ugc noopener">@<span>` + name + `</span></a></span>`
	}
	threadMention := mention(ts.URLs.Thread(fx.Thread.ID), storage.ThreadHandle(fx.Thread.ID))
	noteID := "https://social.example/notes/1"
	res, err := ts.Store.CreatePosts(ctx, []storage.NewPost{{ThreadID: fx.Thread.ID, AuthorID: carol.ID, APID: &noteID,
		HTML: "<p>" + mention(ts.URLs.Member("bob"), "bob") + " " + threadMention + " Rye it is.</p>", ReplyToID: &fx.Posts[1].ID,
		Mentions: []storage.ID{fx.Bob.ID}}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("remote reply: %v %+v", err, res)
	}
	th := bob.get(site.PostPermalinkPath(res[0].Post)).wantStatus(t, http.StatusOK)
	th.wantContains(t, "<p>Rye it is.</p>").wantLacks(t, "@<span>"+storage.ThreadHandle(fx.Thread.ID))
	bob.get("/notifications").wantContains(t, "Carol Remote</bdi></a> replied to your post in", "Rye it is.")
}

// Content warnings: set in the composer, shown folded (without the
// script), kept out of feeds, search results, page descriptions, and
// kept on quotations.
func TestContentWarningsOnTheWeb(t *testing.T) {
	ts := newSite(t)
	fx := ts.FX
	bob := ts.browser()
	bob.signIn("bob")

	// A thread whose opening post has a warning.
	bob.get("/f/kitchen/new").wantContains(t, `name="summary"`, "Content warning")
	r := bob.post("/f/kitchen/new", url.Values{"title": {"Film night"}, "body": {"The butler did it."}, "summary": {"ending spoilers"}})
	threadPath := r.wantStatus(t, http.StatusSeeOther).location(t)
	page := ts.browser().get(threadPath).wantStatus(t, http.StatusOK)
	page.wantContains(t, `<details class="cw">`, `<span class="cw-label">Content warning:</span> ending spoilers`,
		`<meta name="description" content="Content warning: ending spoilers">`,
		`<meta property="og:description" content="Content warning: ending spoilers">`)
	if !regexp.MustCompile(`(?s)<details class="cw">.*<p>The butler did it.</p>.*</details>`).MatchString(page.Body) {
		t.Fatalf("the text is not inside the folded part:\n%s", page.Body)
	}
	for _, feed := range []string{"/feed.atom", "/feed.rss", threadPath + "/feed.atom", "/f/kitchen/feed.rss"} {
		ts.browser().get(feed).wantStatus(t, http.StatusOK).wantContains(t, "ending spoilers").wantLacks(t, "butler")
	}
	ts.browser().get("/search?q=butler").wantStatus(t, http.StatusOK).
		wantContains(t, "Content warning: ending spoilers", "Film night").wantLacks(t, "butler did")

	// Quoting it: the reply box offers the same warning, and a reply that
	// keeps the quotation keeps the warning even if the field is cleared.
	first := lastPost(t, ts, threadPath)
	alice := ts.browser()
	alice.signIn("alice")
	alice.get(threadPath+"?quote="+first.ID.String()).wantContains(t, `name="summary" value="ending spoilers"`)
	alice.post(threadPath+"/reply", url.Values{"body": {"> The butler did it.\n\nNo!"}, "quote_id": {first.ID.String()}, "summary": {""}}).
		wantStatus(t, http.StatusSeeOther)
	if q := lastPost(t, ts, threadPath); q.Summary != "ending spoilers" {
		t.Fatalf("the quoting reply's warning is %q", q.Summary)
	}
	// Without the quotation, no warning is forced on it.
	alice.post(threadPath+"/reply", url.Values{"body": {"Great film."}, "quote_id": {first.ID.String()}}).wantStatus(t, http.StatusSeeOther)
	if q := lastPost(t, ts, threadPath); q.Summary != "" {
		t.Fatalf("an unquoting reply got the warning %q", q.Summary)
	}

	// Editing shows the warning and changes it.
	edit := site.PostPath(first.ID) + "/edit"
	bob.get(edit).wantContains(t, `name="summary" value="ending spoilers"`)
	bob.post(edit, url.Values{"body": {"The butler did it."}, "summary": {""}}).wantStatus(t, http.StatusSeeOther)
	page = ts.browser().get(threadPath)
	article := regexp.MustCompile(`(?s)<article class="post" id="p` + first.ID.String() + `">.*?</article>`).FindString(page.Body)
	if !strings.Contains(article, "<p>The butler did it.</p>") || strings.Contains(article, "<details") {
		t.Fatalf("after taking the warning off, the post shows as:\n%s", article)
	}

	// A warning too long is refused beside the form, the text kept.
	r = bob.post(site.ThreadPath(fx.Thread.ID)+"/reply", url.Values{"body": {"kept text"}, "summary": {strings.Repeat("w", 501)}})
	r.wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "content warning is 501 characters long; the limit is 500", "kept text")
}

// A typed @name@host:port links, dotless hosts included; a member's full
// address on this node is a local mention.
func TestMentionsWithPortsLink(t *testing.T) {
	ts := newSite(t)
	bob := ts.browser()
	bob.signIn("bob")
	threadPath := site.ThreadPath(ts.FX.Thread.ID)
	body := "Ask @ann@localhost:8081 or @alice@" + ts.URLs.Host() + "."
	bob.post(threadPath+"/reply", url.Values{"body": {body}}).wantStatus(t, http.StatusSeeOther)
	p := lastPost(t, ts, threadPath)
	for _, want := range []string{
		`<a href="https://localhost:8081/@ann" class="mention" rel="nofollow ugc noopener">@ann@localhost:8081</a>`,
		`<a href="` + ts.URLs.Member("alice") + `" class="mention"`,
	} {
		if !strings.Contains(p.HTML, want) {
			t.Errorf("post HTML %s\nlacks %s", p.HTML, want)
		}
	}
	entries, _ := ts.Store.Notifications(context.Background(), ts.FX.Alice.ID, 0, 1)
	if len(entries) == 0 || entries[0].PostID != p.ID {
		t.Fatalf("alice was not notified of the post: %+v", entries)
	}
}

// /notifications pages newest first: the first page links the next from
// its last entry and marks read up to its newest; the last page links no
// further and names no newest (marking all read then marks everything).
// A before that is no id is not found.
func TestNotificationsPages(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	// Each reply in Alice's thread notifies her, after the seed's one.
	storagetest.Replies(t, ts.Store, ts.FX.Thread.ID, ts.FX.Bob.ID, 31)
	entries, err := ts.Store.Notifications(ctx, ts.FX.Alice.ID, 0, 100)
	if err != nil || len(entries) != 32 {
		t.Fatalf("%d notifications, %v", len(entries), err)
	}
	ids := func(es []storage.NotificationEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, `id="n`+e.ID.String()+`"`)
		}
		return out
	}
	alice := ts.browser()
	alice.signIn("alice")
	next := "/notifications?before=" + entries[29].ID.String()
	first := alice.get("/notifications").wantStatus(t, http.StatusOK)
	first.wantContains(t, `<link rel="next" href="`+next+`">`, `<a href="`+next+`" rel="next">Older notifications</a>`,
		`name="up_to" value="`+entries[0].ID.String()+`"`).wantLacks(t, `rel="prev"`)
	wantListed(t, first, ids(entries[:30]), ids(entries[30:]))

	last := alice.get(next).wantStatus(t, http.StatusOK)
	last.wantContains(t, `<link rel="canonical" href="`+ts.URLs.Abs("/notifications")+`">`, `name="up_to" value=""`).
		wantLacks(t, `rel="next"`)
	wantListed(t, last, ids(entries[30:]), ids(entries[:30]))
	alice.get("/notifications?before=x!").wantStatus(t, http.StatusNotFound)
}
