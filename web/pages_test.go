package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
	"github.com/skein-forum/skein/web"
)

func TestBadFormKeepsText(t *testing.T) {
	ts := newSite(t)
	alice := ts.browser()
	alice.signIn("alice")

	// An empty title: the error shows beside the form, the body survives.
	r := alice.post("/f/kitchen/new", url.Values{"title": {"   "}, "body": {"A <draft> I typed & want back"}})
	r.wantStatus(t, http.StatusUnprocessableEntity)
	r.wantContains(t, `role="alert"`, "The title is empty.", "A &lt;draft&gt; I typed &amp; want back</textarea>")

	// An empty reply keeps the quotation it was meant to carry.
	threadPath := "/t/" + ts.FX.Thread.ID.String()
	r = alice.post(threadPath+"/reply", url.Values{"body": {"  "}, "quote_id": {ts.FX.Posts[1].ID.String()}})
	r.wantStatus(t, http.StatusUnprocessableEntity)
	r.wantContains(t, "The post is empty.", `name="quote_id" value="`+ts.FX.Posts[1].ID.String()+`"`)
	if got := ts.thread(ts.FX.Thread.ID).PostCount; got != 3 {
		t.Fatalf("an empty reply was stored: %d posts", got)
	}

	// A registration with a short password keeps everything but the
	// passwords, and says which field is wrong.
	guest := ts.browser()
	r = guest.post("/register", url.Values{"handle": {"dora"}, "display_name": {"Dora D."}, "password": {"short"}, "password2": {"short"}})
	r.wantStatus(t, http.StatusUnprocessableEntity)
	r.wantContains(t, `value="dora"`, `value="Dora D."`, "at least 10 characters", `id="password-error"`)
	r.wantLacks(t, `value="short"`)
	r = guest.post("/register", url.Values{"handle": {"bob"}, "password": {"long enough pass"}, "password2": {"long enough pass"}})
	r.wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "taken")
	r = guest.post("/register", url.Values{"handle": {"Not Valid!"}, "password": {"long enough pass"}, "password2": {"long enough pass"}})
	r.wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "lower-case letters")

	// A wrong password keeps the handle.
	r = guest.post("/signin", url.Values{"handle": {"alice"}, "password": {"not her password"}})
	r.wantStatus(t, http.StatusUnauthorized).wantContains(t, "do not match", `value="alice"`)

	// An edit that empties the post keeps the form.
	r = alice.post("/p/"+ts.FX.Posts[2].ID.String()+"/edit", url.Values{"body": {""}})
	r.wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "The post is empty.")
}

func TestMemberCannotEditOthersPosts(t *testing.T) {
	ts := newSite(t)
	bob := ts.browser()
	bob.signIn("bob")
	alicePost := "/p/" + ts.FX.Posts[0].ID.String()
	bob.get(alicePost+"/edit").wantStatus(t, http.StatusForbidden)
	bob.post(alicePost+"/edit", url.Values{"body": {"Bob was here"}}).wantStatus(t, http.StatusForbidden)
	bob.post(alicePost+"/delete", nil).wantStatus(t, http.StatusForbidden)
	p, _ := ts.Store.PostByID(context.Background(), ts.FX.Posts[0].ID)
	if p.IsDeleted() || strings.Contains(p.Source, "Bob") {
		t.Fatalf("bob changed alice's post: %+v", p)
	}
	// Nor moderate.
	bob.post("/t/"+ts.FX.Thread.ID.String()+"/lock", url.Values{"on": {"1"}}).wantStatus(t, http.StatusForbidden)
	if ts.thread(ts.FX.Thread.ID).Locked {
		t.Fatal("a member locked a thread")
	}
	// Bob does not see edit links on alice's posts, but sees his own.
	page := bob.get("/t/" + ts.FX.Thread.ID.String())
	page.wantContains(t, "/p/"+ts.FX.Posts[1].ID.String()+"/edit").wantLacks(t, alicePost+"/edit", "/pin\"")
}

func TestModeration(t *testing.T) {
	ts := newSite(t)
	mod := ts.browser()
	mod.signIn("morgan")
	threadPath := "/t/" + ts.FX.Thread.ID.String()
	mod.get(threadPath).wantContains(t, threadPath+"/pin", threadPath+"/lock", threadPath+"/delete")

	mod.post(threadPath+"/pin", url.Values{"on": {"1"}}).wantStatus(t, http.StatusSeeOther)
	mod.post(threadPath+"/lock", url.Values{"on": {"1"}}).wantStatus(t, http.StatusSeeOther)
	if th := ts.thread(ts.FX.Thread.ID); !th.Pinned || !th.Locked {
		t.Fatalf("pinned %v locked %v", th.Pinned, th.Locked)
	}
	ts.browser().get("/f/kitchen").wantContains(t, "Pinned", "Locked")

	// A locked thread shows no reply box and refuses replies.
	alice := ts.browser()
	alice.signIn("alice")
	alice.get(threadPath).wantLacks(t, `id="reply-body"`, "quote=").wantContains(t, "locked")
	alice.post(threadPath+"/reply", url.Values{"body": {"Let me in"}}).wantStatus(t, http.StatusForbidden)
	if got := ts.thread(ts.FX.Thread.ID).PostCount; got != 3 {
		t.Fatalf("locked thread took a reply: %d posts", got)
	}

	// Moderators delete anyone's post, and whole threads.
	mod.post("/p/"+ts.FX.Posts[1].ID.String()+"/delete", nil).wantStatus(t, http.StatusSeeOther)
	r := mod.post(threadPath+"/delete", nil).wantStatus(t, http.StatusSeeOther)
	if loc := r.location(t); loc != "/f/kitchen" {
		t.Fatalf("after deleting a thread: %q", loc)
	}
	ts.browser().get(threadPath).wantStatus(t, http.StatusGone)
	ts.browser().get("/f/kitchen").wantLacks(t, "Sourdough starter")
}

func TestSignInRateLimit(t *testing.T) {
	// Behind a proxy, so each test client can play its own address; the
	// clock stands still unless the test moves it.
	clock := time.Now()
	ts := newSiteWith(t, func(c *web.Config) {
		c.TrustedProxies, _ = web.ParseTrustedProxies("127.0.0.1, ::1")
		c.Now = func() time.Time { return clock }
	})
	b := ts.browser()
	from := func(ip, handle, password string) *response {
		return b.postWith("/signin", url.Values{"handle": {handle}, "password": {password}},
			"Origin", ts.URL, "X-Forwarded-For", "203.0.113.50, "+ip)
	}

	// Guessing at alice from one address: five failures, then that
	// address must wait, even with the right password.
	for range 5 {
		from("198.51.100.1", "alice", "guess").wantStatus(t, http.StatusUnauthorized)
	}
	r := from("198.51.100.1", "alice", storagetest.Password)
	r.wantStatus(t, http.StatusTooManyRequests).wantContains(t, "Too many failed sign-ins", "Wait 5 seconds")
	if r.Header.Get("Retry-After") != "5" {
		t.Errorf("Retry-After %q, want 5", r.Header.Get("Retry-After"))
	}
	// Alice, from her own address, signs in all the same: nobody can
	// lock her out by guessing wrong on purpose. Guessers at other
	// addresses do not stop her either.
	for i := range 8 {
		from("198.51.100."+strconv.Itoa(10+i), "alice", "guess").wantStatus(t, http.StatusUnauthorized)
	}
	from("192.0.2.200", "alice", storagetest.Password).wantStatus(t, http.StatusSeeOther)
	// Bob is unaffected by the guesser's address's failures at alice.
	from("198.51.100.1", "bob", storagetest.Password).wantStatus(t, http.StatusSeeOther)
	// Once the wait is over, the address may try again.
	clock = clock.Add(5100 * time.Millisecond)
	from("198.51.100.1", "alice", storagetest.Password).wantStatus(t, http.StatusSeeOther)
}

// The wait grows with each further failure, and a right password from
// the address clears its count for that account.
func TestSignInDelayGrows(t *testing.T) {
	clock := time.Now()
	ts := newSiteWith(t, func(c *web.Config) {
		c.TrustedProxies, _ = web.ParseTrustedProxies("127.0.0.1, ::1")
		c.SignInLimits = storage.SignInLimits{FreePerAccount: 1}
		c.Now = func() time.Time { return clock }
	})
	b := ts.browser()
	from := func(password string) *response {
		return b.postWith("/signin", url.Values{"handle": {"alice"}, "password": {password}},
			"Origin", ts.URL, "X-Forwarded-For", "198.51.100.7")
	}
	from("guess").wantStatus(t, http.StatusUnauthorized)
	var waits []string
	for range 3 {
		r := from("guess").wantStatus(t, http.StatusTooManyRequests)
		waits = append(waits, r.Header.Get("Retry-After"))
		clock = clock.Add(time.Minute) // the wait passes
		from("guess").wantStatus(t, http.StatusUnauthorized)
	}
	if strings.Join(waits, ",") != "5,10,20" {
		t.Fatalf("waits %v, want 5,10,20 seconds", waits)
	}
	clock = clock.Add(time.Minute)
	from(storagetest.Password).wantStatus(t, http.StatusSeeOther)
	from("guess").wantStatus(t, http.StatusUnauthorized) // the count started again
	from("guess").wantStatus(t, http.StatusTooManyRequests)
}

func TestRemoteFollow(t *testing.T) {
	ts := newSite(t)
	b := ts.browser()
	threadURL := ts.URL + "/t/" + ts.FX.Thread.ID.String()
	page := b.get("/t/"+ts.FX.Thread.ID.String()).wantContains(t, "@t."+ts.FX.Thread.ID.String()+"@"+ts.URLs.Host(),
		`action="/remote-follow"`, `name="uri" value="`+threadURL+`"`)
	_ = page
	b.get("/f/kitchen").wantContains(t, "@kitchen@"+ts.URLs.Host())
	// The hidden forum of mirrored threads is no fediverse actor: it
	// offers no handle to follow.
	mirrors, err := ts.Store.MirrorForum(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.get("/f/"+mirrors.Slug).wantStatus(t, http.StatusOK).wantLacks(t, `id="follow-handle"`, "@"+mirrors.Slug+"@")

	cases := []struct{ typed, host string }{
		{"mastodon.social", "mastodon.social"},
		{"  https://Mastodon.Social/ ", "mastodon.social"},
		{"@reader@example.org", "example.org"},
		{"example.org:8443", "example.org:8443"},
	}
	for _, c := range cases {
		r := b.get("/remote-follow?uri=" + url.QueryEscape(threadURL) + "&server=" + url.QueryEscape(c.typed))
		r.wantStatus(t, http.StatusSeeOther)
		want := "https://" + c.host + "/authorize_interaction?uri=" + url.QueryEscape(threadURL)
		if got := r.location(t); got != want {
			t.Errorf("server %q: Location %q, want %q", c.typed, got, want)
		}
	}
	for _, bad := range []string{"evil.example/path", "user:pw@evil.example", "evil.example?x=1", "nodot", "a b.example", "évil.example", "example.org:99999"} {
		r := b.get("/remote-follow?uri=" + url.QueryEscape(threadURL) + "&server=" + url.QueryEscape(bad))
		r.wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "name of your server")
	}
	// Only this node's actors can be followed through it.
	b.get("/remote-follow?uri="+url.QueryEscape("https://elsewhere.example/t/1")+"&server=mastodon.social").
		wantStatus(t, http.StatusBadRequest)

	// Sharing a post works the same way, through /share.
	r := b.get("/p/"+ts.FX.Posts[1].ID.String()+"/share?server=mastodon.social").wantStatus(t, http.StatusSeeOther)
	if want := "https://mastodon.social/share?text=" + url.QueryEscape(ts.URL+"/p/"+ts.FX.Posts[1].ID.String()); r.location(t) != want {
		t.Errorf("share: %q", r.location(t))
	}
}

// /remote-follow offers only what a guest may see and what has an actor
// here: it refuses the hidden forum, a mirrored thread, a deleted thread
// and a suspended member, saying why, and sends nobody elsewhere.
func TestRemoteFollowRefusesWhatGuestsMayNotFollow(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	mirrors, err := ts.Store.MirrorForum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	remote := storagetest.RemoteActor(t, ts.Store, "ana", "social.example")
	note := "https://social.example/users/ana/statuses/1"
	mirror, err := ts.Store.MirrorThread(ctx, storage.NewMirror{APID: note, RemoteActorID: &remote.ID, Title: "Rye elsewhere",
		First: storage.NewPost{AuthorID: remote.ID, HTML: "<p>Rye elsewhere</p>", APID: &note, URL: note}})
	if err != nil {
		t.Fatal(err)
	}
	b := ts.browser()
	follow := func(path string) *response {
		return b.get("/remote-follow?uri=" + url.QueryEscape(ts.URL+path) + "&server=mastodon.social")
	}
	// What a guest sees is offered: a forum, a thread, a member.
	for path, handle := range map[string]string{
		"/f/kitchen": "@kitchen@", site.ThreadPath(ts.FX.Thread.ID): "@t." + ts.FX.Thread.ID.String() + "@", "/u/bob": "@bob@"} {
		if r := follow(path).wantStatus(t, http.StatusSeeOther); !strings.HasPrefix(r.location(t), "https://mastodon.social/authorize_interaction?uri=") {
			t.Errorf("%s: sent to %q", path, r.location(t))
		}
		b.get("/remote-follow?uri="+url.QueryEscape(ts.URL+path)).wantStatus(t, http.StatusOK).wantContains(t, handle+ts.URLs.Host())
	}

	if err := ts.Store.DeleteThread(ctx, ts.FX.Thread.ID); err != nil {
		t.Fatal(err)
	}
	if err := ts.Store.SuspendAccount(ctx, ts.FX.Mod.ID, ts.FX.Bob.ID, true); err != nil {
		t.Fatal(err)
	}
	departed, err := ts.Store.CreateMember(ctx, storage.NewMember{Handle: "departed", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Store.DeleteOwnAccount(ctx, departed.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Store.CreateMember(ctx, storage.NewMember{Handle: "newcomer", PasswordHash: "x", ApprovalPending: true}); err != nil {
		t.Fatal(err)
	}
	// What is refused answers as its own page does (and as its actor
	// and WebFinger do): gone for what was there, not found for what
	// never was.
	for _, c := range []struct {
		path   string
		status int
		says   string
	}{
		{"/f/" + mirrors.Slug, http.StatusBadRequest, "copies of threads from other servers"},
		{site.ThreadPath(mirror.ID), http.StatusBadRequest, "a copy of one on another server"},
		{site.ThreadPath(ts.FX.Thread.ID), http.StatusGone, "nothing on this forum to follow"},
		{"/u/bob", http.StatusGone, "nothing on this forum to follow"},
		{"/u/departed", http.StatusGone, "nothing on this forum to follow"},
		{"/u/newcomer", http.StatusNotFound, "nothing on this forum to follow"},
		{"/u/nobody", http.StatusNotFound, "nothing on this forum to follow"},
		{"/f/nowhere", http.StatusNotFound, "nothing on this forum to follow"},
		{"/t/ZZ!", http.StatusNotFound, "nothing on this forum to follow"},
		{"/search", http.StatusBadRequest, "nothing on this forum to follow"},
	} {
		r := follow(c.path)
		if r.StatusCode != c.status || !strings.Contains(r.Body, c.says) || r.Header.Get("Location") != "" {
			t.Errorf("%s: status %d, Location %q, want %d saying %q", c.path, r.StatusCode, r.Header.Get("Location"), c.status, c.says)
		}
	}
	for _, p := range []string{site.ThreadPath(ts.FX.Thread.ID), "/u/bob", "/u/departed", "/u/newcomer"} {
		if page, refused := b.get(p).StatusCode, follow(p).StatusCode; page != refused {
			t.Errorf("%s: the page answers %d, /remote-follow %d", p, page, refused)
		}
	}
}

func TestContentNegotiation(t *testing.T) {
	ts := newSite(t)
	b := ts.browser()
	paths := []string{"/u/alice", "/f/kitchen", "/t/" + ts.FX.Thread.ID.String(), "/p/" + ts.FX.Posts[0].ID.String()}
	accepts := []string{
		"application/activity+json",
		`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`,
		"application/ld+json",
		"application/activity+json, application/ld+json;q=0.9",
	}
	for _, p := range paths {
		for _, a := range accepts {
			r := b.get(p, "Accept", a).wantStatus(t, http.StatusOK)
			if r.Body != apMarker {
				t.Errorf("GET %s with Accept %q: got %.200q, want the ActivityPub handler", p, a, r.Body)
			}
			if !strings.Contains(r.Header.Get("Vary"), "Accept") {
				t.Errorf("GET %s (AP): no Vary: Accept", p)
			}
		}
		// A browser gets HTML that points at the JSON.
		r := b.get(p, "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		if p[1] == 'p' {
			r.wantStatus(t, http.StatusFound)
			continue
		}
		r.wantStatus(t, http.StatusOK).wantContains(t, `<link rel="alternate" type="application/activity+json" href="`+ts.URL+p+`">`)
		if !strings.Contains(r.Header.Get("Vary"), "Accept") {
			t.Errorf("GET %s (HTML): no Vary: Accept", p)
		}
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: Content-Type %q", p, r.Header.Get("Content-Type"))
		}
	}
}

func TestConditionalGet(t *testing.T) {
	ts := newSite(t)
	guest := ts.browser()
	threadPath := "/t/" + ts.FX.Thread.ID.String()
	r := guest.get(threadPath).wantStatus(t, http.StatusOK)
	etag := r.Header.Get("ETag")
	if etag == "" || r.Header.Get("Last-Modified") == "" {
		t.Fatalf("no validators: ETag %q Last-Modified %q", etag, r.Header.Get("Last-Modified"))
	}
	r = guest.get(threadPath, "If-None-Match", etag).wantStatus(t, http.StatusNotModified)
	if r.Body != "" {
		t.Fatal("304 with a body")
	}
	// Another viewer never matches a guest's tag.
	bob := ts.browser()
	bob.signIn("bob")
	r = bob.get(threadPath, "If-None-Match", etag).wantStatus(t, http.StatusOK)
	if r.Header.Get("ETag") == etag || !strings.Contains(r.Header.Get("Cache-Control"), "private") {
		t.Fatalf("signed-in page: ETag %q, Cache-Control %q", r.Header.Get("ETag"), r.Header.Get("Cache-Control"))
	}
	// A like changes the page, so the old tag no longer matches.
	bob.post("/p/"+ts.FX.Posts[0].ID.String()+"/like", nil).wantStatus(t, http.StatusSeeOther)
	guest.get(threadPath, "If-None-Match", etag).wantStatus(t, http.StatusOK)

	for _, p := range []string{"/f/kitchen", "/u/alice"} {
		r := guest.get(p).wantStatus(t, http.StatusOK)
		guest.get(p, "If-None-Match", r.Header.Get("ETag")).wantStatus(t, http.StatusNotModified)
	}
}

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	ts := newSite(t)
	bob := ts.browser()
	bob.signIn("bob")
	guest := ts.browser()
	pages := []string{"/", "/f/kitchen", "/f/kitchen/new", "/t/" + ts.FX.Thread.ID.String(), "/u/alice", "/signin",
		"/register", "/settings", "/settings/notifications", "/notifications", "/p/" + ts.FX.Posts[1].ID.String() + "/edit", "/p/" + ts.FX.Posts[1].ID.String() + "/share",
		"/no/such/page", "/t/zzzzzzzzzzzzzzzzzz", "/static/skein.css"}
	for _, p := range pages {
		for _, b := range []*browser{guest, bob} {
			r := b.get(p)
			csp := r.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("GET %s: CSP %q", p, csp)
			}
			if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Referrer-Policy") == "" {
				t.Errorf("GET %s: missing nosniff or Referrer-Policy", p)
			}
			if r.StatusCode == http.StatusOK && strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
				r.wantContains(t, "<title>", `<link rel="canonical" href="`+ts.URL, `property="og:title"`, `property="og:url"`,
					`property="og:type"`, `property="og:description"`, `property="og:site_name" content="Test Kitchen Forum"`,
					`<html lang="en">`, "<main", "<header", "<footer")
				if n := strings.Count(r.Body, "<h1"); n != 1 {
					t.Errorf("GET %s: %d h1 elements", p, n)
				}
				// One script, from /static/, deferred and optional; none inline.
				scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(r.Body, -1)
				if len(scripts) != 1 || !strings.HasPrefix(scripts[0], `<script src="/static/skein.js?v=`) ||
					!strings.Contains(r.Body, scripts[0]+"</script>") {
					t.Errorf("GET %s: script elements %q", p, scripts)
				}
			}
		}
	}
}

func TestNoServerErrorForTypedInput(t *testing.T) {
	ts := newSite(t)
	b := ts.browser()
	b.signIn("bob")
	for _, p := range []string{"/t/0", "/t/-1", "/t/ZZ", "/t/" + strings.Repeat("z", 40), "/p/!!", "/p/1/edit",
		"/u/nobody", "/u/" + strings.Repeat("a", 200), "/u/%00", "/f/nowhere", "/f/kitchen?before=xyz!", "/t/1?page=2",
		"/remote-follow", "/remote-follow?uri=%zz", "/p/1/share", "/static/nothing.css"} {
		r := b.get(p)
		if r.StatusCode >= 500 {
			t.Errorf("GET %s: status %d", p, r.StatusCode)
		}
	}
	threadPath := "/t/" + ts.FX.Thread.ID.String()
	for _, form := range []url.Values{
		{"body": {"x"}, "quote_id": {"not-an-id"}},
		{"body": {"x"}, "quote_id": {ts.FX.Posts[0].ID.String() + "0"}},
		{"body": {string([]byte{0xff, 0xfe})}},
		{"body": {strings.Repeat("long ", storage.MaxBodyLen/5+10)}},
	} {
		r := b.post(threadPath+"/reply", form)
		if r.StatusCode >= 500 {
			t.Errorf("reply %.40q: status %d", form.Get("body"), r.StatusCode)
		}
	}
	// A body far past any post's size is cut off with a clear page.
	r := b.post(threadPath+"/reply", url.Values{"body": {strings.Repeat("x", 13*storage.MaxBodyLen)}})
	r.wantStatus(t, http.StatusRequestEntityTooLarge).wantContains(t, "more text than a post can hold")
	b.post("/signin", url.Values{"handle": {strings.Repeat("h", 5000)}, "password": {"x"}}).wantStatus(t, http.StatusUnauthorized)
}

func TestRemoteAuthorPost(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	apID := "https://social.example/users/dana"
	dana, err := ts.Store.UpsertRemoteAccount(ctx, &storage.Account{Handle: "dana", Domain: "social.example", DisplayName: "Dana Remote",
		APID: &apID, URL: "https://social.example/@dana", AvatarURL: "https://social.example/avatars/dana.png", ActorType: "Person"})
	if err != nil {
		t.Fatal(err)
	}
	noteID := "https://social.example/users/dana/statuses/1"
	_, err = ts.Store.CreatePost(ctx, storage.NewPost{ThreadID: ts.FX.Thread.ID, AuthorID: dana.ID,
		HTML: `<p>Greetings from the <a href="https://social.example/tags/bread" rel="nofollow">#bread</a> crowd.</p>`,
		APID: &noteID, URL: "https://social.example/@dana/1"})
	if err != nil {
		t.Fatal(err)
	}
	r := ts.browser().get("/t/"+ts.FX.Thread.ID.String()).wantStatus(t, http.StatusOK)
	r.wantContains(t, "Dana Remote", "@dana@social.example", `src="https://social.example/avatars/dana.png" alt="Avatar of Dana Remote"`,
		`href="https://social.example/@dana/1"`, "Original", `href="https://social.example/@dana"`, "From social.example",
		`<a href="https://social.example/tags/bread" rel="nofollow">#bread</a>`)
}

func TestProfileAndSettings(t *testing.T) {
	ts := newSite(t)
	alice := ts.browser()
	alice.signIn("alice")
	alice.post("/settings", url.Values{"display_name": {"Alice L."}, "bio": {"Baker <3\nof bread.\n\nSecond para."}}).
		wantStatus(t, http.StatusSeeOther)
	r := ts.browser().get("/u/alice").wantStatus(t, http.StatusOK)
	r.wantContains(t, "<h1><bdi>Alice L.</bdi></h1>", "Reputation", "Joined", "<p>Baker &lt;3<br>of bread.</p><p>Second para.</p>",
		"Sourdough starter keeps dying", "@alice@"+ts.URLs.Host())
	alice.get("/settings").wantContains(t, "Baker &lt;3\nof bread.\n\nSecond para.</textarea>")
	ts.browser().get("/settings").wantStatus(t, http.StatusSeeOther)
}

func TestRegistrationClosed(t *testing.T) {
	ts := newSiteWith(t, func(c *web.Config) { c.Registration = web.RegistrationClosed })
	b := ts.browser()
	b.get("/register").wantStatus(t, http.StatusForbidden)
	b.post("/register", url.Values{"handle": {"eve"}, "password": {"long enough pass"}, "password2": {"long enough pass"}}).
		wantStatus(t, http.StatusForbidden)
	if _, err := ts.Store.MemberByHandle(context.Background(), "eve"); err == nil {
		t.Fatal("registered on a closed node")
	}
	b.get("/signin").wantLacks(t, `href="/register`)
	b.get("/t/"+ts.FX.Thread.ID.String()).wantContains(t, "Sign in").wantLacks(t, `href="/register`)
}

// A "next" that a browser would read as another site ("/<TAB>/evil.example/"
// becomes "//evil.example/") must not survive sign-in or registration.
func TestSignInNeverRedirectsOffSite(t *testing.T) {
	ts := newSite(t)
	for _, next := range []string{"/\t/evil.example/", "/\\evil.example", "/\n/evil.example"} {
		r := ts.browser().post("/signin", url.Values{"handle": {"alice"}, "password": {storagetest.Password}, "next": {next}})
		if loc := r.wantStatus(t, http.StatusSeeOther).location(t); loc != "/" {
			t.Errorf("sign-in with next=%q went to %q", next, loc)
		}
		ts.browser().get("/signin?next="+url.QueryEscape(next)).wantStatus(t, http.StatusOK).
			wantContains(t, `name="next" value="/"`)
	}
	r := ts.browser().post("/register", url.Values{"handle": {"newcomer"}, "password": {"a long enough password"},
		"password2": {"a long enough password"}, "next": {"/\t/evil.example/"}})
	if loc := r.wantStatus(t, http.StatusSeeOther).location(t); loc != "/" {
		t.Errorf("registration went to %q", loc)
	}
	// A real site path is kept.
	r = ts.browser().post("/signin", url.Values{"handle": {"alice"}, "password": {storagetest.Password}, "next": {"/f/kitchen?page=2"}})
	if loc := r.wantStatus(t, http.StatusSeeOther).location(t); loc != "/f/kitchen?page=2" {
		t.Errorf("sign-in with a site path went to %q", loc)
	}
}
