package mail_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skein-forum/skein/mail"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

func newComposer(t *testing.T) *mail.Composer {
	t.Helper()
	c, err := mail.NewComposer(site.MustNew("https://forum.example"), func() string { return "Kitchen Talk" },
		[]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNotificationMail(t *testing.T) {
	c := newComposer(t)
	a := &storage.Account{ID: 42, Handle: "ann", DisplayName: "Ann", Email: "ann@example.test"}
	one, err := c.Notifications(a, []mail.NoticeItem{{Actor: "<b>Bo</b>", What: "mentioned you in", Thread: "Knives",
		Excerpt: "@ann which whetstone?", Link: "https://forum.example/p/9"}}, false, "kind.mention")
	if err != nil {
		t.Fatal(err)
	}
	if one.Subject != "<b>Bo</b> mentioned you in “Knives”" || one.Kind != storage.MailNotification || one.To != a.Email {
		t.Errorf("one: %q %q %q", one.Subject, one.Kind, one.To)
	}
	if strings.Contains(one.HTML, "<b>Bo</b>") || !strings.Contains(one.HTML, "&lt;b&gt;Bo&lt;/b&gt;") {
		t.Error("the HTML part does not escape a name")
	}
	if !strings.Contains(one.Text, "https://forum.example/p/9") || !strings.Contains(one.Text, "To stop these mails: "+one.UnsubscribeURL) {
		t.Errorf("text part:\n%s", one.Text)
	}
	token := strings.TrimPrefix(one.UnsubscribeURL, "https://forum.example"+mail.UnsubscribePath)
	if id, scope, ok := c.ParseUnsubscribe(token); !ok || id != 42 || scope != "kind.mention" {
		t.Errorf("unsubscribe token reads %v %q %v", id, scope, ok)
	}
	if _, _, ok := c.ParseUnsubscribe(strings.Replace(token, "kind.mention", "kind.reply", 1)); ok {
		t.Error("a token edited to another scope passes")
	}

	var items []mail.NoticeItem
	for i := range 25 {
		items = append(items, mail.NoticeItem{Actor: fmt.Sprintf("m%d", i), What: "replied in", Thread: "Bread",
			Link: fmt.Sprintf("https://forum.example/p/%d", i)})
	}
	digest, err := c.Notifications(a, items, true, "digest")
	if err != nil {
		t.Fatal(err)
	}
	if digest.Subject != "Your day on Kitchen Talk: 25 notifications" || digest.Kind != storage.MailDigest {
		t.Errorf("digest subject %q kind %q", digest.Subject, digest.Kind)
	}
	if strings.Count(digest.Text, "replied in") != mail.MaxNoticeItems || !strings.Contains(digest.Text, "And 5 more") {
		t.Errorf("digest lists %d items:\n%s", strings.Count(digest.Text, "replied in"), digest.Text)
	}
	if _, err := c.Notifications(a, nil, true, "digest"); err == nil {
		t.Error("an empty digest was composed")
	}
}

// A name from another server cannot break the subject line.
func TestSubjectIsOneLine(t *testing.T) {
	c := newComposer(t)
	a := &storage.Account{ID: 42, Handle: "ann", Email: "ann@example.test"}
	m, err := c.Notifications(a, []mail.NoticeItem{{Actor: "Mallory\r\nBcc: victim@example.test", What: "mentioned you in",
		Thread: strings.Repeat("long ", 100)}}, false, "mail")
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") || len([]rune(m.Subject)) > 150 || !strings.HasPrefix(m.Subject, "Mallory Bcc:") {
		t.Errorf("subject %q", m.Subject)
	}
}

// Account mail cannot be turned off, but it too carries a one-click
// unsubscribe, which stops the notification mail.
func TestAccountMailCarriesUnsubscribe(t *testing.T) {
	c := newComposer(t)
	a := &storage.Account{ID: 42, Handle: "ann", Email: "ann@example.test"}
	reset, err := c.ResetPassword(a, "tok")
	if err != nil {
		t.Fatal(err)
	}
	verify, err := c.VerifyEmail(a, "new@example.test", "tok")
	if err != nil {
		t.Fatal(err)
	}
	approved, err := c.Approved(a)
	if err != nil {
		t.Fatal(err)
	}
	changed, err := c.EmailChanged(a, "old@example.test")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []storage.NewMail{reset, verify, approved, changed} {
		token, ok := strings.CutPrefix(m.UnsubscribeURL, "https://forum.example"+mail.UnsubscribePath)
		if !ok {
			t.Errorf("%s: unsubscribe %q", m.Kind, m.UnsubscribeURL)
			continue
		}
		if id, scope, ok := c.ParseUnsubscribe(token); !ok || id != 42 || scope != storage.UnsubscribeMail {
			t.Errorf("%s: unsubscribe token reads %v %q %v", m.Kind, id, scope, ok)
		}
		if !strings.Contains(m.Text, "To stop notification mail from Kitchen Talk: "+m.UnsubscribeURL) ||
			!strings.Contains(m.HTML, "Stop notification mail") {
			t.Errorf("%s: the parts do not say what the link stops:\n%s", m.Kind, m.Text)
		}
	}
}
