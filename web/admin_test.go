package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
	"github.com/skein-forum/skein/web"
)

// addAdmin creates the administrator "ada" with the fixture password.
func addAdmin(t *testing.T, ts *testSite) *storage.Account {
	t.Helper()
	hash, _ := storage.HashPassword(storagetest.Password)
	a, err := ts.Store.CreateMember(context.Background(), storage.NewMember{Handle: "ada", DisplayName: "Ada Admin",
		PasswordHash: hash, Role: storage.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Every admin page and form refuses guests and members with 403, and
// changes nothing; moderators get the reports and the audit log only.
func TestAdminPagesRefuseNonAdmins(t *testing.T) {
	ts := newSite(t)
	addAdmin(t, ts)
	ctx := context.Background()
	rep, err := ts.Store.CreateReport(ctx, storage.NewReport{ReporterID: ts.FX.Alice.ID, PostID: &ts.FX.Posts[1].ID, Reason: "rude"})
	if err != nil {
		t.Fatal(err)
	}
	staffPages := []string{"/admin/reports", "/admin/audit"}
	adminPages := []string{"/admin", "/admin/domains", "/admin/members", "/admin/forums"}
	forms := []struct {
		path  string
		form  url.Values
		staff bool // moderators may send it
	}{
		{"/admin/reports/" + rep.ID.String(), url.Values{"action": {"delete"}}, true},
		{"/admin/domains", url.Values{"host": {"spam.example"}, "severity": {"suspend"}}, false},
		{"/admin/members/" + ts.FX.Bob.ID.String(), url.Values{"action": {"suspend"}}, false},
		{"/admin/members/" + ts.FX.Bob.ID.String(), url.Values{"action": {"role"}, "role": {"admin"}}, false},
		{"/admin/forums", url.Values{"slug": {"sneaky"}, "title": {"Sneaky"}}, false},
		{"/admin/forums/" + ts.FX.Forum.ID.String(), url.Values{"title": {"Hijacked"}, "position": {"1"}}, false},
	}
	guest := ts.browser()
	member := ts.browser()
	member.signIn("alice")
	mod := ts.browser()
	mod.signIn("morgan")
	for _, b := range []*browser{guest, member} {
		for _, p := range append(staffPages, adminPages...) {
			b.get(p).wantStatus(t, http.StatusForbidden).wantLacks(t, "Audit log</a>")
		}
		for _, f := range forms {
			b.post(f.path, f.form).wantStatus(t, http.StatusForbidden)
		}
	}
	for _, p := range staffPages {
		mod.get(p).wantStatus(t, http.StatusOK)
	}
	for _, p := range adminPages {
		mod.get(p).wantStatus(t, http.StatusForbidden)
	}
	for _, f := range forms {
		if !f.staff {
			mod.post(f.path, f.form).wantStatus(t, http.StatusForbidden)
		}
	}
	// Nothing changed.
	if p, _ := ts.Store.PostByID(ctx, ts.FX.Posts[1].ID); p.IsDeleted() {
		t.Fatal("a refused report action deleted the post")
	}
	if blocks, _ := ts.Store.ListDomainBlocks(ctx); len(blocks) != 0 {
		t.Fatalf("a refused form blocked %v", blocks)
	}
	if bob := ts.account(ts.FX.Bob.ID); bob.Suspended || bob.Role != storage.RoleMember {
		t.Fatalf("a refused form changed bob: %+v", bob)
	}
	if _, err := ts.Store.ForumBySlug(ctx, "sneaky"); err == nil {
		t.Fatal("a refused form created a forum")
	}
	if f, _ := ts.Store.ForumByID(ctx, ts.FX.Forum.ID); f.Title != "The Kitchen" {
		t.Fatalf("a refused form renamed the forum to %q", f.Title)
	}
	if entries, _ := ts.Store.ListAudit(ctx, 0, 10); len(entries) != 1 { // the fixture forum's creation
		t.Fatalf("audit log has %d entries", len(entries))
	}

	// Members see no admin link; moderators and admins do.
	member.get("/").wantLacks(t, `href="/admin`)
	mod.get("/").wantContains(t, `href="/admin/reports">Admin`)
	admin := ts.browser()
	admin.signIn("ada")
	admin.get("/").wantContains(t, `href="/admin">Admin`)
	for _, p := range append(staffPages, adminPages...) {
		r := admin.get(p).wantStatus(t, http.StatusOK).wantContains(t, `aria-label="Administration"`)
		if n := strings.Count(r.Body, "<h1"); n != 1 || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: %d h1 elements, Cache-Control %q", p, n, r.Header.Get("Cache-Control"))
		}
	}
}

// A member reports a post; a moderator sees it in context and deletes
// the post, and the audit log says so.
func TestReportFlow(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	threadPath := "/t/" + ts.FX.Thread.ID.String()
	bobPost := "/p/" + ts.FX.Posts[1].ID.String()

	alice := ts.browser()
	alice.signIn("alice")
	page := alice.get(threadPath)
	page.wantContains(t, bobPost+`/report"`).wantLacks(t, "/p/"+ts.FX.Posts[0].ID.String()+"/report") // not on her own
	ts.browser().get(threadPath).wantLacks(t, "/report\"")
	alice.get(bobPost+"/report").wantStatus(t, http.StatusOK).wantContains(t, `name="reason"`)
	alice.post(bobPost+"/report", url.Values{"reason": {strings.Repeat("x", storage.MaxReportReason+1)}}).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "at most")
	alice.post(bobPost+"/report", url.Values{"reason": {"Calls my starter <names>"}}).wantStatus(t, http.StatusOK).
		wantContains(t, "Report sent")
	ts.browser().post(bobPost+"/report", url.Values{"reason": {"guest"}}).wantStatus(t, http.StatusSeeOther)

	mod := ts.browser()
	mod.signIn("morgan")
	r := mod.get("/admin/reports").wantStatus(t, http.StatusOK)
	r.wantContains(t, "Calls my starter &lt;names&gt;", "@alice@", "Sourdough starter keeps dying",
		"Switch to rye for a week.", // the post
		"Mine goes flat after",      // the post before it
		`value="dismiss"`, `value="delete"`, `value="suspend"`).wantLacks(t, `value="forward"`)
	reports, _ := ts.Store.ListReports(ctx, storage.ReportOpen, 0, 10)
	if len(reports) != 1 {
		t.Fatalf("%d open reports", len(reports))
	}
	mod.post("/admin/reports/"+reports[0].ID.String(), url.Values{"action": {"delete"}}).wantStatus(t, http.StatusSeeOther)
	if p, _ := ts.Store.PostByID(ctx, ts.FX.Posts[1].ID); !p.IsDeleted() {
		t.Fatal("post not deleted")
	}
	mod.get("/admin/reports").wantContains(t, "No open reports.")
	mod.get("/admin/reports?status=resolved").wantContains(t, "resolved: delete")
	mod.get("/admin/audit").wantContains(t, "post.remove", "report.resolve", "morgan")
	mod.post("/admin/reports/"+reports[0].ID.String(), url.Values{"action": {"dismiss"}}).wantStatus(t, http.StatusBadRequest)

	// Suspending the author of another reported post signs him out.
	bob := ts.browser()
	bob.signIn("bob")
	rep, _ := ts.Store.CreateReport(ctx, storage.NewReport{ReporterID: ts.FX.Alice.ID, PostID: &ts.FX.Posts[0].ID, Reason: "x"})
	_ = rep
	rep2, _ := ts.Store.CreateReport(ctx, storage.NewReport{ReporterID: ts.FX.Mod.ID, AccountID: ts.FX.Bob.ID, Reason: "spammer"})
	mod.post("/admin/reports/"+rep2.ID.String(), url.Values{"action": {"suspend"}}).wantStatus(t, http.StatusSeeOther)
	bob.get("/").wantLacks(t, "Sign out")
	if !ts.account(ts.FX.Bob.ID).Suspended {
		t.Fatal("bob not suspended")
	}
}

// A moderator resolving reports acts only on members below them: a
// report about the only admin, or about an admin's post, cannot suspend
// the admin or remove the post through the reports queue.
func TestModeratorCannotActOnAdminThroughReports(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	ada := addAdmin(t, ts)
	_, adaPost, err := ts.Store.CreateThread(ctx, storage.NewThread{ForumID: ts.FX.Forum.ID, AuthorID: ada.ID,
		Title: "House rules", Source: "Be kind.", HTML: "<p>Be kind.</p>"})
	if err != nil {
		t.Fatal(err)
	}
	about, _ := ts.Store.CreateReport(ctx, storage.NewReport{ReporterID: ts.FX.Alice.ID, AccountID: ada.ID, Reason: "bossy"})
	onPost, _ := ts.Store.CreateReport(ctx, storage.NewReport{ReporterID: ts.FX.Alice.ID, PostID: &adaPost.ID, Reason: "bossy"})
	adaBrowser := ts.browser()
	adaBrowser.signIn("ada")

	mod := ts.browser()
	mod.signIn("morgan")
	mod.post("/admin/reports/"+about.ID.String(), url.Values{"action": {"suspend"}}).wantStatus(t, http.StatusForbidden)
	mod.post("/admin/reports/"+onPost.ID.String(), url.Values{"action": {"suspend"}}).wantStatus(t, http.StatusForbidden)
	mod.post("/admin/reports/"+onPost.ID.String(), url.Values{"action": {"delete"}}).wantStatus(t, http.StatusForbidden)
	if a := ts.account(ada.ID); a.Suspended || a.Role != storage.RoleAdmin {
		t.Fatalf("the moderator changed the admin: %+v", a)
	}
	if p, _ := ts.Store.PostByID(ctx, adaPost.ID); p.IsDeleted() {
		t.Fatal("the moderator removed the admin's post")
	}
	adaBrowser.get("/").wantContains(t, "Sign out")
	if open, _ := ts.Store.ListReports(ctx, storage.ReportOpen, 0, 10); len(open) != 2 {
		t.Fatalf("%d reports open, want both still open", len(open))
	}
}

func TestAdminManagesDomainsMembersAndForums(t *testing.T) {
	ts := newSiteWith(t, func(c *web.Config) { c.Registration = web.RegistrationApproval })
	addAdmin(t, ts)
	ctx := context.Background()
	admin := ts.browser()
	admin.signIn("ada")

	// Domains.
	admin.post("/admin/domains", url.Values{"host": {"Spam.Example"}, "severity": {"suspend"}, "public_reason": {"Spam"}, "private_note": {"ticket 7"}}).
		wantStatus(t, http.StatusSeeOther)
	admin.get("/admin/domains").wantContains(t, "spam.example", "suspend", "Spam", "ticket 7")
	ts.browser().get("/about/blocks").wantStatus(t, http.StatusOK).wantContains(t, "spam.example", "suspended", "Spam").wantLacks(t, "ticket 7")
	if p, _ := ts.Store.DomainPolicy(ctx, "spam.example"); p != storage.SeveritySuspend {
		t.Fatalf("policy = %q", p)
	}
	admin.post("/admin/domains", url.Values{"host": {"not a host"}, "severity": {"silence"}}).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "not a host", `value="not a host"`)
	admin.post("/admin/domains", url.Values{"action": {"unblock"}, "host": {"spam.example"}}).wantStatus(t, http.StatusSeeOther)
	admin.post("/admin/domains", url.Values{"action": {"allow"}, "host": {"friends.example"}}).wantStatus(t, http.StatusSeeOther)
	admin.get("/admin/domains").wantContains(t, "No server is blocked.", "friends.example")

	// Registration with approval: the newcomer waits, then signs in.
	carol := ts.browser()
	carol.get("/register").wantStatus(t, http.StatusOK)
	carol.post("/register", url.Values{"handle": {"carol"}, "password": {"rising dough 42"}, "password2": {"rising dough 42"}}).
		wantStatus(t, http.StatusOK).wantContains(t, "Registration received")
	carol.post("/signin", url.Values{"handle": {"carol"}, "password": {"rising dough 42"}}).
		wantStatus(t, http.StatusForbidden).wantContains(t, "waiting for an administrator")
	admin.get("/admin/members").wantContains(t, "Waiting for approval", "@carol@", `value="approve"`)
	admin.get("/admin").wantContains(t, "Registrations waiting")
	c, _ := ts.Store.MemberByHandle(ctx, "carol")
	admin.post("/admin/members/"+c.ID.String(), url.Values{"action": {"approve"}}).wantStatus(t, http.StatusSeeOther)
	carol.post("/signin", url.Values{"handle": {"carol"}, "password": {"rising dough 42"}}).wantStatus(t, http.StatusSeeOther)

	// Roles and suspension; never on oneself.
	admin.post("/admin/members/"+c.ID.String(), url.Values{"action": {"role"}, "role": {"moderator"}}).wantStatus(t, http.StatusSeeOther)
	if ts.account(c.ID).Role != storage.RoleModerator {
		t.Fatal("role not changed")
	}
	admin.post("/admin/members/"+c.ID.String(), url.Values{"action": {"role"}, "role": {"emperor"}}).wantStatus(t, http.StatusBadRequest)
	admin.post("/admin/members/"+c.ID.String(), url.Values{"action": {"suspend"}}).wantStatus(t, http.StatusSeeOther)
	carol.get("/").wantLacks(t, "Sign out")
	ada, _ := ts.Store.MemberByHandle(ctx, "ada")
	admin.post("/admin/members/"+ada.ID.String(), url.Values{"action": {"role"}, "role": {"member"}}).wantStatus(t, http.StatusBadRequest)

	// A remote actor, found by address, silenced.
	apID := "https://social.example/users/dana"
	dana, _ := ts.Store.UpsertRemoteAccount(ctx, &storage.Account{Handle: "dana", Domain: "social.example", APID: &apID})
	admin.get("/admin/members?acct=dana@social.example").wantContains(t, "@dana@social.example", `value="silence"`)
	admin.post("/admin/members/"+dana.ID.String(), url.Values{"action": {"silence"}}).wantStatus(t, http.StatusSeeOther)
	if !ts.account(dana.ID).Silenced {
		t.Fatal("dana not silenced")
	}

	// Forums: create one first in line, rename another.
	admin.post("/admin/forums", url.Values{"slug": {"garden"}, "title": {"The Garden"}, "position": {"-1"}}).wantStatus(t, http.StatusSeeOther)
	admin.post("/admin/forums", url.Values{"slug": {"alice"}, "title": {"Clash"}}).wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "taken")
	admin.post("/admin/forums/"+ts.FX.Forum.ID.String(), url.Values{"title": {"Kitchen & Bakery"}, "description": {"Bread."}, "position": {"5"}}).
		wantStatus(t, http.StatusSeeOther)
	home := ts.browser().get("/").wantStatus(t, http.StatusOK).Body
	if g, k := strings.Index(home, "The Garden"), strings.Index(home, "Kitchen &amp; Bakery"); g < 0 || k < 0 || g > k {
		t.Fatalf("home page order: garden at %d, kitchen at %d", g, k)
	}
	admin.get("/admin/audit").wantContains(t, "domain.block", "domain.unblock", "domain.allow", "account.approve",
		"account.role", "account.suspend", "account.silence", "forum.create", "forum.update", "ada")
}

func TestDashboardFederationFigures(t *testing.T) {
	ts := newSite(t)
	addAdmin(t, ts)
	admin := ts.browser()
	admin.signIn("ada")
	admin.get("/admin").wantContains(t, "Members", "Remote servers known", "Not available")

	since := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	ts2 := newSiteWith(t, func(c *web.Config) {
		c.FederationStats = func(context.Context) (*web.FederationStats, error) {
			return &web.FederationStats{DeliveriesQueued: 1234, InboxPending: 7, InboxPerMinute: 2.5,
				Hosts: []web.HostQueue{{Host: "down.example", Pending: 1200, FailingSince: &since, Unavailable: true}}}, nil
		}
	})
	addAdmin(t, ts2)
	admin2 := ts2.browser()
	admin2.signIn("ada")
	admin2.get("/admin").wantContains(t, "1,234", "2.5 per minute", "down.example", "1,200", "unavailable", "20 November 2026").
		wantLacks(t, "Not available")
}

func TestModeratorMovesThread(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	if _, err := ts.Store.CreateForum(ctx, storage.NewForum{Slug: "garden", Title: "The Garden"}); err != nil {
		t.Fatal(err)
	}
	threadPath := "/t/" + ts.FX.Thread.ID.String()
	alice := ts.browser()
	alice.signIn("alice")
	alice.get(threadPath).wantLacks(t, "/move\"")
	alice.post(threadPath+"/move", url.Values{"forum": {"garden"}}).wantStatus(t, http.StatusForbidden)
	mod := ts.browser()
	mod.signIn("morgan")
	mod.get(threadPath).wantContains(t, threadPath+`/move"`, `<option value="garden">The Garden</option>`)
	mod.post(threadPath+"/move", url.Values{"forum": {"nowhere"}}).wantStatus(t, http.StatusBadRequest)
	mod.post(threadPath+"/move", url.Values{"forum": {"garden"}}).wantStatus(t, http.StatusSeeOther)
	ts.browser().get(threadPath).wantContains(t, `<a href="/f/garden"><bdi>The Garden</bdi></a>`)
	ts.browser().get("/f/garden").wantContains(t, "Sourdough starter keeps dying")
	ts.browser().get("/f/kitchen").wantLacks(t, "Sourdough starter keeps dying")
	// The moderator's pin and lock are audited too.
	mod.post(threadPath+"/lock", url.Values{"on": {"1"}}).wantStatus(t, http.StatusSeeOther)
	mod.get("/admin/audit").wantContains(t, "thread.move", "thread.lock")
}

func TestMemberDeletesAccount(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	alice := ts.browser()
	alice.signIn("alice")
	alice.get("/settings").wantContains(t, `action="/settings/delete"`)
	alice.post("/settings/delete", url.Values{"password": {"wrong password"}}).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "not your password")
	if ts.account(ts.FX.Alice.ID).DeletedAt != nil {
		t.Fatal("deleted with a wrong password")
	}
	r := alice.post("/settings/delete", url.Values{"password": {storagetest.Password}}).wantStatus(t, http.StatusOK)
	r.wantContains(t, "Account deleted", "Sign in").wantLacks(t, "Sign out")
	alice.get("/").wantLacks(t, "Sign out")
	ts.browser().get("/u/alice").wantStatus(t, http.StatusGone)
	if p, _ := ts.Store.PostByID(ctx, ts.FX.Posts[0].ID); !p.IsDeleted() {
		t.Fatal("her post survived")
	}
	ts.browser().get("/t/"+ts.FX.Thread.ID.String()).wantStatus(t, http.StatusOK).wantContains(t, "Post #1 was deleted.", "Switch to rye")
	alice.post("/signin", url.Values{"handle": {"alice"}, "password": {storagetest.Password}}).wantStatus(t, http.StatusUnauthorized)
}

// X-Forwarded-For and X-Forwarded-Proto count only from a listed proxy.
func TestTrustedProxies(t *testing.T) {
	proxies, err := web.ParseTrustedProxies("10.0.0.0/8, 192.0.2.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := web.ParseTrustedProxies("10.0.0.0/33"); err == nil {
		t.Fatal("bad CIDR accepted")
	}
	if _, err := web.ParseTrustedProxies("proxy.example"); err == nil {
		t.Fatal("host name accepted")
	}
	cases := []struct {
		peer, xff, proto string
		ip, scheme       string
	}{
		{"10.1.2.3:5000", "203.0.113.9", "https", "203.0.113.9", "https"},
		{"192.0.2.1:5000", "198.51.100.1, 203.0.113.9", "https", "203.0.113.9", "https"}, // the client's own entry is ignored
		{"192.0.2.1:5000", "203.0.113.9, 10.0.0.7", "", "203.0.113.9", "http"},           // a second trusted hop is skipped
		{"[::1]:5000", "2001:db8::5", "https", "2001:db8::5", "https"},
		{"198.51.100.7:5000", "203.0.113.9", "https", "198.51.100.7", "http"}, // not a listed proxy: headers ignored
		{"10.1.2.3:5000", "", "", "10.1.2.3", "http"},
		{"10.1.2.3:5000", "not-an-ip", "gopher", "10.1.2.3", "http"},
	}
	for _, c := range cases {
		r, _ := http.NewRequest("GET", "http://forum.example/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		if got := proxies.ClientIP(r); got != c.ip {
			t.Errorf("peer %s, XFF %q: client %q, want %q", c.peer, c.xff, got, c.ip)
		}
		if got := proxies.ClientProto(r); got != c.scheme {
			t.Errorf("peer %s, proto %q: scheme %q, want %q", c.peer, c.proto, got, c.scheme)
		}
	}
	var none web.TrustedProxies
	r, _ := http.NewRequest("GET", "http://forum.example/", nil)
	r.RemoteAddr = "10.1.2.3:5000"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	if got := none.ClientIP(r); got != "10.1.2.3" {
		t.Fatalf("no proxies configured: %q", got)
	}
}

// Without a trusted proxy, X-Forwarded-For cannot buy a client fresh
// sign-in attempts.
func TestForwardedForIgnoredFromUntrustedPeer(t *testing.T) {
	clock := time.Now()
	ts := newSiteWith(t, func(c *web.Config) { c.Now = func() time.Time { return clock } })
	b := ts.browser()
	// Each guess claims another address; without a trusted proxy they
	// all count against the peer's own, which must then wait.
	for i := range 5 {
		b.postWith("/signin", url.Values{"handle": {"alice"}, "password": {"guess"}},
			"Origin", ts.URL, "X-Forwarded-For", "198.51.100."+string(rune('1'+i))).wantStatus(t, http.StatusUnauthorized)
	}
	b.postWith("/signin", url.Values{"handle": {"alice"}, "password": {storagetest.Password}},
		"Origin", ts.URL, "X-Forwarded-For", "198.51.100.99").wantStatus(t, http.StatusTooManyRequests)
}

// Staff act only on accounts below their role: a moderator resolving a
// report with "suspend" against an administrator (or another moderator)
// is refused like the same action anywhere else, and nothing changes.
func TestModeratorCannotActOnAdmins(t *testing.T) {
	ts := newSite(t)
	ctx := context.Background()
	hash, _ := storage.HashPassword(storagetest.Password)
	ada, err := ts.Store.CreateMember(ctx, storage.NewMember{Handle: "ada", PasswordHash: hash, Role: storage.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	otherMod, err := ts.Store.CreateMember(ctx, storage.NewMember{Handle: "mo", PasswordHash: hash, Role: storage.RoleModerator})
	if err != nil {
		t.Fatal(err)
	}
	_, adaPost, err := ts.Store.CreateThread(ctx, storage.NewThread{ForumID: ts.FX.Forum.ID, AuthorID: ada.ID,
		Title: "Rules", Source: "Be kind.", HTML: "<p>Be kind.</p>"})
	if err != nil {
		t.Fatal(err)
	}
	mod := ts.browser()
	mod.signIn("morgan")
	for _, target := range []*storage.Account{ada, otherMod} {
		rep, err := ts.Store.CreateReport(ctx, storage.NewReport{ReporterID: ts.FX.Bob.ID, AccountID: target.ID, Reason: "power grab"})
		if err != nil {
			t.Fatal(err)
		}
		mod.post("/admin/reports/"+rep.ID.String(), url.Values{"action": {"suspend"}}).
			wantStatus(t, http.StatusForbidden).wantContains(t, "below their own role")
		if a := ts.account(target.ID); a.Suspended {
			t.Fatalf("a moderator suspended %s through the reports queue", a.Handle)
		}
		if r, _ := ts.Store.ReportByID(ctx, rep.ID); r.Status != storage.ReportOpen {
			t.Fatalf("the refused report is %s", r.Status)
		}
	}
	// Nor can they delete an administrator's post, by report or directly.
	rep, _ := ts.Store.CreateReport(ctx, storage.NewReport{ReporterID: ts.FX.Bob.ID, PostID: &adaPost.ID, Reason: "x"})
	mod.post("/admin/reports/"+rep.ID.String(), url.Values{"action": {"delete"}}).wantStatus(t, http.StatusForbidden)
	mod.post("/p/"+adaPost.ID.String()+"/delete", nil).wantStatus(t, http.StatusForbidden)
	mod.post("/t/"+adaPost.ThreadID.String()+"/delete", nil).wantStatus(t, http.StatusForbidden)
	if p, _ := ts.Store.PostByID(ctx, adaPost.ID); p.IsDeleted() {
		t.Fatal("a moderator deleted an administrator's post")
	}
	// Members are still theirs to act on, and the administrator outranks
	// the moderator.
	rep, _ = ts.Store.CreateReport(ctx, storage.NewReport{ReporterID: ts.FX.Alice.ID, AccountID: ts.FX.Bob.ID, Reason: "spam"})
	mod.post("/admin/reports/"+rep.ID.String(), url.Values{"action": {"suspend"}}).wantStatus(t, http.StatusSeeOther)
	admin := ts.browser()
	admin.signIn("ada")
	admin.post("/admin/members/"+otherMod.ID.String(), url.Values{"action": {"suspend"}}).wantStatus(t, http.StatusSeeOther)
	if !ts.account(otherMod.ID).Suspended {
		t.Fatal("the administrator could not suspend a moderator")
	}
}
