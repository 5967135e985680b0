package node_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/mail/mailtest"
	"github.com/skein-forum/skein/node"
	"github.com/skein-forum/skein/storage"
)

// Account mail through a real node: the web forms, the mail queue, the
// worker and an SMTP server in the test process.

// startMailNode starts a node whose mail goes to a fresh sink.
func startMailNode(t *testing.T, edit func(*node.Config)) (*testNode, *mailtest.Sink) {
	t.Helper()
	sink := mailtest.Start(t)
	n := startNodeWith(t, func(c *node.Config) {
		c.Mail = sink.Config("Kitchen Forum <forum@kitchen.test>")
		if edit != nil {
			edit(c)
		}
	})
	return n, sink
}

// signedIn reports whether the visitor's session is alive: /settings
// answers it, and sends a guest to sign in.
func (v *visitor) signedIn() bool {
	v.t.Helper()
	return v.get("/settings").status == http.StatusOK
}

func (v *visitor) signIn(handle, password string) answer {
	v.t.Helper()
	return v.post("/signin", url.Values{"handle": {handle}, "password": {password}})
}

func registerWithEmail(v *visitor, handle, email string) answer {
	v.t.Helper()
	return v.post("/register", url.Values{"handle": {handle}, "display_name": {handle}, "email": {email},
		"password": {testPassword}, "password2": {testPassword}})
}

// verifyAddress follows the verification link mailed to addr.
func verifyAddress(t *testing.T, n *testNode, sink *mailtest.Sink, addr string) {
	t.Helper()
	msg := sink.WaitTo(t, addr, "Confirm your address", 10*time.Second)
	link := msg.Link(t, "/verify-email/")
	v := n.visitor()
	v.get(link).want(t, http.StatusOK, "Confirm my address")
	v.post(link, url.Values{}).want(t, http.StatusOK, "Address confirmed")
}

// Registering with an address mails a link; opening it changes nothing
// (a mail scanner may), the button confirms, and the link then works no
// more.
func TestRegisterVerifyEmail(t *testing.T) {
	n, sink := startMailNode(t, nil)
	v := n.visitor()
	if r := registerWithEmail(v, "dora", "Dora@Example.test"); r.status != http.StatusSeeOther {
		t.Fatalf("register: %d %.500s", r.status, r.body)
	}
	msg := sink.WaitTo(t, "Dora@Example.test", "Confirm your address", 10*time.Second)
	if msg.HTML == "" || !strings.Contains(msg.HTML, "Confirm my address") {
		t.Errorf("no HTML part with the button: %q", msg.HTML)
	}
	if msg.Header.Get("List-Unsubscribe") != "" {
		t.Error("an address verification carries an unsubscribe header")
	}
	link := msg.Link(t, "/verify-email/")
	if !strings.HasPrefix(link, n.Base+"/verify-email/") {
		t.Fatalf("link %q is not on the node", link)
	}

	// A prefetch (GET) shows a button and verifies nothing.
	v.get(link).want(t, http.StatusOK, "Dora@Example.test", "Confirm my address")
	v.get(link)
	dora, _ := n.Store.MemberByHandle(context.Background(), "dora")
	if dora.EmailVerifiedAt != nil {
		t.Fatal("opening the link verified the address")
	}
	v.get("/settings").want(t, http.StatusOK, "not confirmed yet")

	v.post(link, url.Values{}).want(t, http.StatusOK, "Address confirmed")
	dora, _ = n.Store.MemberByHandle(context.Background(), "dora")
	if dora.EmailVerifiedAt == nil || dora.Email != "Dora@Example.test" {
		t.Fatalf("after confirming: %q verified %v", dora.Email, dora.EmailVerifiedAt)
	}
	v.get("/settings").want(t, http.StatusOK, "Dora@Example.test (confirmed)")

	// The attempt is counted for /metrics, once the worker has recorded
	// what the SMTP server answered (the sink has the message before).
	metrics := func() string {
		rec := httptest.NewRecorder()
		n.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Body.String()
	}
	const sent = `skein_mail_total{kind="verify_email",result="sent"} 1`
	waitFor(t, "the sent verification mail in /metrics", 10*time.Second, func() bool { return strings.Contains(metrics(), sent) })

	// Used once, the link is refused.
	v.get(link).want(t, http.StatusGone, "used already")
	v.post(link, url.Values{}).want(t, http.StatusGone, "used already")

	// The address is Dora's now, in any case: Ella's link for it fails.
	e := n.visitor()
	registerWithEmail(e, "ella", "dora@example.TEST")
	waitFor(t, "Ella's link", 10*time.Second, func() bool { return len(sink.To("dora@example.test")) == 2 })
	second := sink.To("dora@example.test")[1].Link(t, "/verify-email/")
	e.post(second, url.Values{}).want(t, http.StatusConflict, "another account")
}

// A forgotten password: the same answer for a known and an unknown
// address, a mail only for the known one, a reset that ends every
// session, and a link that works once and not after it expired.
func TestForgotPasswordReset(t *testing.T) {
	n, sink := startMailNode(t, nil)
	mailMember(t, n, sink, "fran")
	laptop, phone := n.visitor(), n.visitor()
	laptop.signIn("fran", testPassword)
	phone.signIn("fran", testPassword)
	if !laptop.signedIn() || !phone.signedIn() {
		t.Fatal("could not sign in")
	}

	guest := n.visitor()
	guest.get("/signin").want(t, http.StatusOK, "Forgot your password?")
	known := guest.post("/forgot-password", url.Values{"email": {"FRAN@example.test"}}).want(t, http.StatusOK)
	unknown := guest.post("/forgot-password", url.Values{"email": {"nobody@example.test"}}).want(t, http.StatusOK)
	if strings.ReplaceAll(known.body, "FRAN@example.test", "X") != strings.ReplaceAll(unknown.body, "nobody@example.test", "X") {
		t.Error("the answer tells a member's address from an unknown one")
	}
	msg := sink.WaitTo(t, "fran@example.test", "Reset your password", 10*time.Second)
	link := msg.Link(t, "/reset-password/")
	time.Sleep(200 * time.Millisecond)
	if got := len(sink.To("nobody@example.test")); got != 0 {
		t.Errorf("an unknown address got %d mails", got)
	}

	// Opening the link shows the form and changes nothing.
	guest.get(link).want(t, http.StatusOK, "Choose the new password of fran")
	if !laptop.signedIn() {
		t.Fatal("opening the reset link ended a session")
	}
	guest.post(link, url.Values{"password": {"short"}, "password2": {"short"}}).want(t, http.StatusUnprocessableEntity, "at least 10")
	r := guest.post(link, url.Values{"password": {"a new secret phrase"}, "password2": {"a new secret phrase"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("reset: %d %.500s", r.status, r.body)
	}
	if laptop.signedIn() || phone.signedIn() {
		t.Error("an old session survived the reset")
	}
	if !guest.signedIn() {
		t.Error("the browser that reset the password is not signed in")
	}
	if n.visitor().signIn("fran", testPassword).status == http.StatusSeeOther {
		t.Error("the old password still works")
	}
	if n.visitor().signIn("fran", "a new secret phrase").status != http.StatusSeeOther {
		t.Error("the new password does not work")
	}

	// Reused: refused, and the password stays.
	n.visitor().get(link).want(t, http.StatusGone, "used already")
	n.visitor().post(link, url.Values{"password": {"another secret phrase"}, "password2": {"another secret phrase"}}).
		want(t, http.StatusGone, "used already")

	// Expired: refused.
	guest.post("/forgot-password", url.Values{"email": {"fran"}}).want(t, http.StatusOK)
	deadline := time.Now().Add(10 * time.Second)
	var late string
	for late == "" && time.Now().Before(deadline) {
		for _, m := range sink.To("fran@example.test") {
			if !strings.Contains(m.Subject, "Reset") {
				continue
			}
			if l := m.Link(t, "/reset-password/"); l != link {
				late = l
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if late == "" {
		t.Fatal("no second reset mail for the handle")
	}
	if _, err := n.Store.DB().NewRaw("UPDATE account_tokens SET expires_at = ? WHERE used_at IS NULL",
		time.Now().Add(-time.Minute).UTC()).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.visitor().get(late).want(t, http.StatusGone, "expired")
	n.visitor().post(late, url.Values{"password": {"another secret phrase"}, "password2": {"another secret phrase"}}).
		want(t, http.StatusGone, "expired")
	// (Signing in again would meet the sign-in rate limit: ask the store.)
	if fran, _ := n.Store.MemberByHandle(context.Background(), "fran"); storage.CheckPassword(fran.PasswordHash, "a new secret phrase") != nil {
		t.Error("an expired link changed the password")
	}
}

// Reset requests are limited per address: past the limit the answer is
// the same and no more mail goes.
func TestForgotPasswordLimitedPerAddress(t *testing.T) {
	n, sink := startMailNode(t, nil)
	mailMember(t, n, sink, "gus")
	for range 5 {
		n.visitor().post("/forgot-password", url.Values{"email": {"gus@example.test"}}).want(t, http.StatusOK, "on its way")
	}
	waitFor(t, "the mail queue to drain", 10*time.Second, func() bool {
		k, _, _ := n.Store.CountQueuedMail(context.Background())
		return k == 0
	})
	resets := 0
	for _, m := range sink.To("gus@example.test") {
		if strings.Contains(m.Subject, "Reset") {
			resets++
		}
	}
	if resets != 3 {
		t.Errorf("%d reset mails for 5 requests, want the limit of 3", resets)
	}
}

// Changing the password in settings needs the current one and ends every
// other session, not this one.
func TestChangePasswordEndsOtherSessions(t *testing.T) {
	n, _ := startMailNode(t, nil)
	v := n.visitor()
	registerWithEmail(v, "hana", "")
	other := n.visitor()
	other.signIn("hana", testPassword)
	v.post("/settings/password", url.Values{"current_password": {"wrong password!"}, "password": {"the next passphrase"},
		"password2": {"the next passphrase"}}).want(t, http.StatusUnprocessableEntity, "not your current password")
	if !other.signedIn() {
		t.Fatal("a refused change ended a session")
	}
	r := v.post("/settings/password", url.Values{"current_password": {testPassword}, "password": {"the next passphrase"},
		"password2": {"the next passphrase"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("change: %d %.300s", r.status, r.body)
	}
	if other.signedIn() {
		t.Error("the other session survived")
	}
	if !v.signedIn() {
		t.Error("the session that changed the password ended")
	}
	v.get("/settings").want(t, http.StatusOK)
	if n.visitor().signIn("hana", "the next passphrase").status != http.StatusSeeOther {
		t.Error("the new password does not work")
	}
}

// Changing a confirmed address: the new one gets a link, the address
// changes once it is followed, and the old address is told.
func TestChangeEmailTellsOldAddress(t *testing.T) {
	n, sink := startMailNode(t, nil)
	v := n.visitor()
	registerWithEmail(v, "ivo", "ivo@old.test")
	verifyAddress(t, n, sink, "ivo@old.test")
	v.post("/settings/email", url.Values{"email": {"ivo@new.test"}})
	v.get("/settings").want(t, http.StatusOK, "ivo@old.test (confirmed)", "ivo@new.test")
	verifyAddress(t, n, sink, "ivo@new.test")
	notice := sink.WaitTo(t, "ivo@old.test", "was changed", 10*time.Second)
	if !strings.Contains(notice.Text, "ivo@new.test") {
		t.Errorf("notice does not name the new address: %s", notice.Text)
	}
	v.get("/settings").want(t, http.StatusOK, "ivo@new.test (confirmed)")
}

// Approval mode: admins hear of a registration, the applicant hears of
// the approval; an admin stops the registration mails with the
// one-click unsubscribe, signed out, and a GET of that link changes
// nothing.
func TestApprovalMailAndUnsubscribe(t *testing.T) {
	n, sink := startMailNode(t, func(c *node.Config) { c.Registration = "approval" })
	ctx := context.Background()
	hash, _ := storage.HashPassword(testPassword)
	admin, err := n.Store.CreateMember(ctx, storage.NewMember{Handle: "root_admin", PasswordHash: hash, Role: storage.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	av := n.visitor()
	av.signIn("root_admin", testPassword)
	av.post("/settings/email", url.Values{"email": {"admin@kitchen.test"}})
	verifyAddress(t, n, sink, "admin@kitchen.test")

	jo := n.visitor()
	registerWithEmail(jo, "jo", "jo@example.test").want(t, http.StatusOK, "An administrator will look")
	verifyAddress(t, n, sink, "jo@example.test")
	note := sink.WaitTo(t, "admin@kitchen.test", "jo waits for approval", 10*time.Second)
	if !strings.Contains(note.Text, n.Base+"/admin/members") {
		t.Errorf("no link to the registrations: %s", note.Text)
	}
	unsub := strings.Trim(note.Header.Get("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(unsub, n.Base+"/unsubscribe/") || note.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("unsubscribe headers: %q %q", note.Header.Get("List-Unsubscribe"), note.Header.Get("List-Unsubscribe-Post"))
	}
	if !strings.Contains(note.Text, unsub) || !strings.Contains(note.HTML, "Stop these mails") {
		t.Error("the body has no unsubscribe link")
	}

	joAcct, _ := n.Store.MemberByHandle(ctx, "jo")
	av.post("/admin/members/"+joAcct.ID.String(), url.Values{"action": {"approve"}})
	welcome := sink.WaitTo(t, "jo@example.test", "Welcome", 10*time.Second)
	if !strings.Contains(welcome.Text, "sign in as jo") {
		t.Errorf("approval mail: %s", welcome.Text)
	}

	av.get("/admin").want(t, http.StatusOK, "<dt>Mail</dt><dd>on: ")

	// A scanner's GET changes nothing.
	guest := n.visitor()
	guest.get(unsub).want(t, http.StatusOK, "registrations waiting for approval", "Stop these mails")
	if a, _ := n.Store.AccountByID(ctx, admin.ID); !a.MailApplications {
		t.Fatal("GET of the unsubscribe link unsubscribed")
	}
	// The mail client's one-click POST: no session, no Origin.
	oneClick(t, unsub)
	if a, _ := n.Store.AccountByID(ctx, admin.ID); a.MailApplications {
		t.Fatal("one-click unsubscribe did not stop the mails")
	}
	before := len(sink.To("admin@kitchen.test"))
	registerWithEmail(n.visitor(), "kim", "kim@example.test")
	sink.WaitTo(t, "kim@example.test", "Confirm", 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	if got := len(sink.To("admin@kitchen.test")); got != before {
		t.Errorf("the unsubscribed admin got %d more mails", got-before)
	}
	// A forged token is refused.
	n.visitor().post(unsub+"x", url.Values{}).want(t, http.StatusNotFound)
}

// With --require-email, registration asks for the address and signing
// in waits for it to be confirmed.
func TestRequireEmail(t *testing.T) {
	n, sink := startMailNode(t, func(c *node.Config) { c.RequireEmail = true })
	v := n.visitor()
	v.get("/register").want(t, http.StatusOK, "(required")
	registerWithEmail(v, "lea", "").want(t, http.StatusUnprocessableEntity, "needs your mail address")
	registerWithEmail(v, "lea", "lea@example.test").want(t, http.StatusOK, "Confirm your address")
	n.visitor().signIn("lea", testPassword).want(t, http.StatusForbidden, "Confirm your address first")
	verifyAddress(t, n, sink, "lea@example.test")
	if r := n.visitor().signIn("lea", testPassword); r.status != http.StatusSeeOther {
		t.Errorf("sign in after confirming: %d", r.status)
	}
}

// Without mail, the forms that need it say so and no mail is queued.
func TestMailOff(t *testing.T) {
	n := startNode(t)
	v := n.visitor()
	v.get("/register").want(t, http.StatusOK)
	if strings.Contains(v.get("/register").body, `name="email"`) {
		t.Error("registration asks for an address that could never be confirmed")
	}
	v.get("/forgot-password").want(t, http.StatusNotFound, "sends no mail")
	if strings.Contains(v.get("/signin").body, "Forgot your password?") {
		t.Error("sign-in offers a reset that cannot be mailed")
	}
	registerWithEmail(v, "max", "max@example.test")
	if q, _ := n.Store.QueuedMail(context.Background(), 10); len(q) != 0 {
		t.Errorf("mail queued while mail is off: %d", len(q))
	}
}

// A member sets the time zone and hour of their daily digest.
func TestMailScheduleSettings(t *testing.T) {
	n, _ := startMailNode(t, nil)
	v := n.visitor()
	registerWithEmail(v, "pia", "")
	v.get("/settings").want(t, http.StatusOK, `name="time_zone" value="UTC"`, `<option value="8" selected>08:00</option>`)
	v.post("/settings/schedule", url.Values{"time_zone": {"Nowhere/Atlantis"}, "digest_hour": {"7"}}).
		want(t, http.StatusUnprocessableEntity, "Type a time zone such as Europe/Paris")
	if r := v.post("/settings/schedule", url.Values{"time_zone": {"America/New_York"}, "digest_hour": {"19"}}); r.status != http.StatusSeeOther {
		t.Fatalf("save: %d", r.status)
	}
	v.get("/settings").want(t, http.StatusOK, `value="America/New_York"`, `<option value="19" selected>19:00</option>`)
}
