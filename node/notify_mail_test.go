package node_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/mail/mailtest"
	"github.com/skein-forum/skein/node"
	"github.com/skein-forum/skein/storage"
)

// Notification mail through a real node: members post through the web
// forms, the notification mail worker runs on a clock the test moves,
// and the mail arrives at the SMTP sink.

// testClock runs with the real clock, moved forward by what the test
// sets: what the node stamps with the real time (a queued mail) stays in
// its past.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Set moves the clock to t, from where it runs on.
func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.offset = time.Until(t)
	c.mu.Unlock()
}

// member registers handle with a confirmed address and returns its
// signed-in browser.
func mailMember(t *testing.T, n *testNode, sink *mailtest.Sink, handle string) *visitor {
	t.Helper()
	v := n.visitor()
	if r := registerWithEmail(v, handle, handle+"@example.test"); r.status != http.StatusSeeOther {
		t.Fatalf("register %s: %d %.300s", handle, r.status, r.body)
	}
	verifyAddress(t, n, sink, handle+"@example.test")
	return v
}

// step runs the notification mail worker once at the clock's time and
// waits until what it queued left the queue.
func step(t *testing.T, n *testNode) int {
	t.Helper()
	k, err := n.Notices.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the mail queue to empty", 10*time.Second, func() bool {
		waiting, _, err := n.Store.CountQueuedMail(context.Background())
		return err == nil && waiting == 0
	})
	return k
}

func oneClick(t *testing.T, link string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, link, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %d", resp.StatusCode)
	}
}

// Replies and a watched thread's posts: replies are mailed at once
// (after the wait, and not when read on the web meanwhile, on the
// notifications page or in the thread), the
// watched-thread posts wait for the watcher's digest at their hour in
// their time zone and come in one mail; each mail's unsubscribe works
// signed out, by one-click POST, and a GET of it changes nothing.
func TestNotificationMailAndDigest(t *testing.T) {
	clock := &testClock{}
	n, sink := startMailNode(t, func(c *node.Config) { c.Now = clock.Now })
	ctx := context.Background()
	ann := mailMember(t, n, sink, "ann")
	bo := mailMember(t, n, sink, "bo")
	cy := mailMember(t, n, sink, "cy")

	// Ann starts a thread (and so follows it); Cy follows it by replying
	// and wants its news in a digest at 08:00 in Paris.
	r := ann.post("/f/general/new", url.Values{"title": {"Whetstones"}, "body": {"Which grit first?"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/t/") {
		t.Fatalf("new thread: %d %q", r.status, r.location)
	}
	thread := strings.SplitN(r.location, "#", 2)[0]
	cy.post(thread+"/reply", url.Values{"body": {"Start at 1000."}}).want(t, http.StatusSeeOther)
	cy.get("/settings/notifications").want(t, http.StatusOK, "New posts in threads you follow", "In the daily digest")
	cy.post("/settings/notifications", url.Values{storage.NotifyMention: {"pigeon"}, storage.NotifyThreadPost: {storage.DeliverDigest}}).
		want(t, http.StatusUnprocessableEntity, "nothing was changed")
	cy.post("/settings/notifications", url.Values{storage.NotifyThreadPost: {storage.DeliverDigest}}).want(t, http.StatusSeeOther)
	cy.get("/settings/notifications?done=1").want(t, http.StatusOK, "Saved.",
		`name="thread.post" value="digest" checked`, `name="mention" value="mail" checked`)
	n.visitor().get("/settings/notifications").want(t, http.StatusSeeOther)
	cy.post("/settings/schedule", url.Values{"time_zone": {"Europe/Paris"}, "digest_hour": {"8"}}).want(t, http.StatusSeeOther)
	// Cy's reply told Ann, who wants replies by mail (the default): that
	// mail is the first to go. Take it out of the way.
	clock.Set(time.Now().Add(11 * time.Minute))
	if k := step(t, n); k != 1 {
		t.Fatalf("queued %d mails for Cy's reply, want 1 (to Ann)", k)
	}
	sink.WaitTo(t, "ann@example.test", "cy replied to your post in “Whetstones”", 10*time.Second)

	// Bo replies twice. Nothing goes before the wait is over; then Ann
	// gets one mail of both.
	bo.post(thread+"/reply", url.Values{"body": {"Mind the angle."}}).want(t, http.StatusSeeOther)
	bo.post(thread+"/reply", url.Values{"body": {"Use water, not oil."}}).want(t, http.StatusSeeOther)
	clock.Set(time.Now().Add(5 * time.Minute))
	if k := step(t, n); k != 0 {
		t.Fatalf("queued %d mails before the wait was over", k)
	}
	clock.Set(time.Now().Add(11 * time.Minute))
	if k := step(t, n); k != 1 {
		t.Fatalf("queued %d mails, want 1 (to Ann; Cy's wait for the digest)", k)
	}
	reply := sink.WaitTo(t, "ann@example.test", "2 new notifications", 10*time.Second)
	for _, part := range []string{reply.Text, reply.HTML} {
		if !strings.Contains(part, "Mind the angle.") || !strings.Contains(part, "Use water, not oil.") {
			t.Errorf("the mail lacks a post:\n%s", part)
		}
	}
	if len(sink.To("cy@example.test")) != 1 { // the address confirmation only
		t.Fatalf("Cy got mail before the digest: %d", len(sink.To("cy@example.test")))
	}

	// A reply that mentions Cy: Ann reads it on the web before the wait
	// is over and gets no mail; Cy wants mentions by mail (the default)
	// and gets this one at once, not in the digest.
	bo.post(thread+"/reply", url.Values{"body": {"And strop after, @cy."}}).want(t, http.StatusSeeOther)
	page := ann.get("/notifications").want(t, http.StatusOK, "And strop after")
	newest := between(page.body, `name="up_to" value="`, `"`)
	ann.post("/notifications/read", url.Values{"up_to": {newest}}).want(t, http.StatusSeeOther)
	clock.Set(time.Now().Add(11 * time.Minute))
	if k := step(t, n); k != 1 {
		t.Fatalf("queued %d mails, want Cy's mention alone", k)
	}
	mention := sink.WaitTo(t, "cy@example.test", "bo mentioned you in “Whetstones”", 10*time.Second)
	if len(sink.To("ann@example.test")) != 3 { // confirmation, Cy's reply, Bo's replies
		t.Errorf("Ann got a mail for what she read on the web")
	}
	if !strings.Contains(mention.Text, "/settings/notifications") {
		t.Errorf("the mail does not say where to change what comes:\n%s", mention.Text)
	}

	// Another reply, seen by Ann on the thread's page (not on her
	// notifications page) before the wait is over: no mail either.
	bo.post(thread+"/reply", url.Values{"body": {"Sharpen weekly."}}).want(t, http.StatusSeeOther)
	ann.get(thread).want(t, http.StatusOK, "Sharpen weekly.")
	clock.Set(time.Now().Add(11 * time.Minute))
	if k := step(t, n); k != 0 {
		t.Fatalf("queued %d mails for a post Ann saw in its thread", k)
	}

	// Cy's digest is due at 08:00 in Paris, and not a minute before.
	cyAcct, err := n.Store.MemberByHandle(ctx, "cy")
	if err != nil || cyAcct.DigestDueAt == nil {
		t.Fatalf("Cy's digest is not scheduled: %v", err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	due := *cyAcct.DigestDueAt
	if local := due.In(paris); local.Hour() != 8 || local.Minute() != 0 || !due.After(clock.Now().Add(-11*time.Minute)) {
		t.Fatalf("digest due %v (%v in Paris)", due, due.In(paris))
	}
	clock.Set(due.Add(-time.Minute))
	if k := step(t, n); k != 0 {
		t.Fatalf("queued %d mails before the digest hour", k)
	}
	clock.Set(due)
	if k := step(t, n); k != 1 {
		t.Fatalf("queued %d mails at the digest hour, want Cy's digest", k)
	}
	digest := sink.WaitTo(t, "cy@example.test", "Your day on", 10*time.Second)
	if !strings.Contains(digest.Subject, "3 notifications") || !strings.Contains(digest.Text, "Mind the angle.") ||
		!strings.Contains(digest.Text, "Use water, not oil.") || !strings.Contains(digest.Text, "Sharpen weekly.") ||
		strings.Contains(digest.Text, "And strop after") {
		t.Errorf("digest %q:\n%s", digest.Subject, digest.Text)
	}
	// Sent once: the next day has nothing new, so no digest.
	clock.Set(due.Add(24 * time.Hour))
	if k := step(t, n); k != 0 {
		t.Fatalf("queued %d mails a day later with nothing new", k)
	}

	// Unsubscribing, signed out: a GET shows the button and changes
	// nothing; the one-click POST stops the digest.
	unsub := strings.Trim(digest.Header.Get("List-Unsubscribe"), "<>")
	if digest.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.Contains(digest.Text, unsub) {
		t.Fatalf("digest unsubscribe headers: %q %q", unsub, digest.Header.Get("List-Unsubscribe-Post"))
	}
	n.visitor().get(unsub).want(t, http.StatusOK, "the daily digest", "Stop these mails")
	if prefs, _ := n.Store.NotificationPrefs(ctx, cyAcct.ID); prefs[storage.NotifyThreadPost] != storage.DeliverDigest {
		t.Fatal("a GET of the unsubscribe link unsubscribed")
	}
	oneClick(t, unsub)
	// Ann stops reply mail from her mail's link and page, signed out.
	annUnsub := strings.Trim(reply.Header.Get("List-Unsubscribe"), "<>")
	n.visitor().get(annUnsub).want(t, http.StatusOK, "mail about replies to your posts")
	if prefs, _ := n.Store.NotificationPrefs(ctx, cyAcct.ID); prefs[storage.NotifyThreadPost] != storage.DeliverWeb ||
		prefs[storage.NotifyMention] != storage.DeliverMail {
		t.Errorf("Cy's preferences after stopping the digest: %v", prefs)
	}
	n.visitor().post(annUnsub, url.Values{}).want(t, http.StatusOK, "Unsubscribed")
	annAcct, _ := n.Store.MemberByHandle(ctx, "ann")
	if prefs, _ := n.Store.NotificationPrefs(ctx, annAcct.ID); prefs[storage.NotifyReply] != storage.DeliverWeb ||
		prefs[storage.NotifyMention] != storage.DeliverMail {
		t.Errorf("Ann's preferences after unsubscribing from replies: %v", prefs)
	}

	// Bo replies again: it shows on the web, and nobody gets mail.
	bo.post(thread+"/reply", url.Values{"body": {"Last word."}}).want(t, http.StatusSeeOther)
	clock.Set(time.Now().Add(11 * time.Minute))
	step(t, n)
	clock.Set(due.Add(48 * time.Hour))
	if k := step(t, n); k != 0 {
		t.Fatalf("queued %d mails after unsubscribing", k)
	}
	ann.get("/notifications").want(t, http.StatusOK, "Last word.")
	cy.get("/notifications").want(t, http.StatusOK, "Last word.")
}

// between is the text of s between the first from and the next to.
func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, to)
	return v
}

// A reply from a member of another node is mailed to the member whose
// thread it answers, as a local reply is, naming its writer with their
// address.
func TestRemoteReplyIsMailed(t *testing.T) {
	clock := &testClock{}
	a, sink := startMailNode(t, func(c *node.Config) { c.Now = clock.Now })
	b := startNode(t)
	ann := mailMember(t, a, sink, "ann")
	r := ann.post("/f/general/new", url.Values{"title": {"Levain ratios"}, "body": {"1:5:5 or 1:2:2?"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("new thread: %d", r.status)
	}
	path := strings.SplitN(r.location, "#", 2)[0]
	thread, err := storage.ParseID(strings.TrimPrefix(path, "/t/"))
	if err != nil {
		t.Fatal(err)
	}

	bo := b.register("bo")
	bo.post("/follow-remote", url.Values{"q": {a.URLs.Thread(thread)}})
	waitFor(t, "A to accept bo's follow", waitLong, func() bool {
		acc, err := b.Store.AccountByAPID(context.Background(), a.URLs.Thread(thread))
		if err != nil {
			return false
		}
		f, err := b.Store.FollowOf(context.Background(), bo.account().ID, storage.FollowAccount, acc.ID)
		return err == nil && f.Accepted
	})
	// B mirrors the thread when a post of it arrives.
	ann.post(path+"/reply", url.Values{"body": {"Summer: 1:5:5."}}).want(t, http.StatusSeeOther)
	mirror := b.waitMirror("ann's thread to reach B", bo.account().ID, nil)
	bo.reply(mirror, "1:2:2 in winter.")
	waitFor(t, "bo's reply on A", waitLong, func() bool {
		return strings.Contains(ann.get("/notifications").body, "1:2:2 in winter.")
	})

	clock.Set(time.Now().Add(11 * time.Minute))
	if k := step(t, a); k != 1 {
		t.Fatalf("queued %d mails for a remote reply, want 1", k)
	}
	msg := sink.WaitTo(t, "ann@example.test", "bo@"+b.URLs.Host(), 10*time.Second)
	if !strings.Contains(msg.Subject, "replied to your post in “Levain ratios”") || !strings.Contains(msg.Text, "1:2:2 in winter.") {
		t.Errorf("mail %q:\n%s", msg.Subject, msg.Text)
	}
}
