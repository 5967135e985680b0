package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

//go:embed templates/*.html templates/*.txt
var templateFiles embed.FS

// How long the links in account mail work.
const (
	VerifyLinkTTL = 7 * 24 * time.Hour
	ResetLinkTTL  = time.Hour
)

// Site paths of the pages links in mail open.
const (
	VerifyPath      = "/verify-email/"   // + token
	ResetPath       = "/reset-password/" // + token
	UnsubscribePath = "/unsubscribe/"    // + signed token
)

// Composer makes the node's messages: a subject, a plain-text body and an
// HTML body from the templates of their kind, ready for the queue.
type Composer struct {
	urls     *site.URLs
	siteName func() string
	key      []byte
	html     map[string]*htmltemplate.Template
	text     map[string]*texttemplate.Template
}

// NewComposer parses the templates once. siteName is asked at every
// message, so an admin's rename shows in the next mail; key signs the
// unsubscribe links ([storage.Store.LinkKey]).
func NewComposer(urls *site.URLs, siteName func() string, key []byte) (*Composer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("mail composer: link key too short")
	}
	c := &Composer{urls: urls, siteName: siteName, key: key,
		html: map[string]*htmltemplate.Template{}, text: map[string]*texttemplate.Template{}}
	layout, err := htmltemplate.ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("mail layout: %w", err)
	}
	names, err := fs.Glob(templateFiles, "templates/*.txt")
	if err != nil {
		return nil, err
	}
	for _, file := range names {
		kind := strings.TrimSuffix(strings.TrimPrefix(file, "templates/"), ".txt")
		if c.text[kind], err = texttemplate.ParseFS(templateFiles, file); err != nil {
			return nil, fmt.Errorf("mail template %s: %w", file, err)
		}
		h, err := htmltemplate.Must(layout.Clone()).ParseFS(templateFiles, "templates/"+kind+".html")
		if err != nil {
			return nil, fmt.Errorf("mail template %s.html: %w", kind, err)
		}
		c.html[kind] = h
	}
	return c, nil
}

// data is what every template sees; the kind's own fields are in the
// embedded fields' zero values when unused.
type data struct {
	Subject     string
	Site        string
	SiteURL     string
	Name        string // the recipient's name
	Handle      string
	Address     string
	Link        string
	Valid       string // how long Link works, in words
	Applicant   string
	Unsubscribe string
	AccountMail bool         // Unsubscribe stops notification mail, not this kind
	Intro       string       // notification mail: the sentence before the list
	Items       []NoticeItem // notification mail: what happened
	More        int          // notification mail: how many more are on the page
	Settings    string       // where the member changes what they get
}

// NoticeItem is one notification as a mail lists it.
type NoticeItem struct {
	Actor   string // who did it
	What    string // "mentioned you in", "replied in", ...
	Thread  string // the thread's title, if any
	Excerpt string // the start of the post, plain text
	Link    string // absolute URL of the post (or the actor)
}

// MaxNoticeItems is how many notifications one mail lists; the rest are
// counted and linked.
const MaxNoticeItems = 20

// Notifications is a member's mail of notifications: sent soon after
// they happened (digest false) or the daily digest. scope is what its
// unsubscribe link stops (see [storage.Unsubscribe]).
func (c *Composer) Notifications(a *storage.Account, items []NoticeItem, digest bool, scope string) (storage.NewMail, error) {
	if len(items) == 0 {
		return storage.NewMail{}, fmt.Errorf("a notification mail needs a notification")
	}
	more := 0
	if len(items) > MaxNoticeItems {
		more, items = len(items)-MaxNoticeItems, items[:MaxNoticeItems]
	}
	total := len(items) + more
	site := c.siteName()
	d := data{Name: a.Name(), Handle: a.Handle, Items: items, More: more,
		Link: c.urls.Abs("/notifications"), Settings: c.urls.Abs("/settings/notifications"),
		Unsubscribe: c.UnsubscribeURL(a.ID, scope)}
	kind := storage.MailNotification
	switch {
	case digest:
		kind = storage.MailDigest
		d.Subject = fmt.Sprintf("Your day on %s: %d %s", site, total, plural(total, "notification", "notifications"))
		d.Intro = "Here is what happened on " + site + " since your last digest."
	case total == 1:
		it := items[0]
		d.Subject = strings.TrimSpace(it.Actor + " " + it.What + " " + quoted(it.Thread))
		d.Intro = "This happened on " + site + " while you were away."
	default:
		d.Subject = fmt.Sprintf("%d new notifications on %s", total, site)
		d.Intro = "This happened on " + site + " while you were away."
	}
	// Notification mail is worth sending for a day; after that the
	// member has seen the page or the digest has it.
	return c.compose("notifications", a.ID, a.Email, d, 24*time.Hour, kind)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func quoted(s string) string {
	if s == "" {
		return ""
	}
	return "“" + s + "”"
}

// maxSubject bounds a subject, in characters: a remote account's name
// can be long.
const maxSubject = 150

// subjectLine makes s one line of at most maxSubject characters: names
// and titles in it come from other servers, and a line break there would
// make the mail unsendable.
func subjectLine(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }), " ")
	if r := []rune(s); len(r) > maxSubject {
		s = strings.TrimSpace(string(r[:maxSubject-1])) + "…"
	}
	return s
}

// compose renders the templates of kind into a message to to; the
// message's own kind, for the queue and the logs, is mailKind when
// given, else kind.
func (c *Composer) compose(kind string, accountID storage.ID, to string, d data, valid time.Duration, mailKind ...string) (storage.NewMail, error) {
	d.Site, d.SiteURL = c.siteName(), c.urls.Abs("/")
	d.Subject = subjectLine(d.Subject)
	if d.Unsubscribe == "" && accountID != 0 {
		// Account mail (a link the member asked for, a notice about their
		// account) cannot be turned off, but every mail still carries a
		// one-click unsubscribe: it stops the notification mail, the only
		// mail that comes unasked.
		d.Unsubscribe, d.AccountMail = c.UnsubscribeURL(accountID, storage.UnsubscribeMail), true
	}
	var text, html bytes.Buffer
	t, h := c.text[kind], c.html[kind]
	if t == nil || h == nil {
		return storage.NewMail{}, fmt.Errorf("no mail templates for %q", kind)
	}
	if err := t.Execute(&text, d); err != nil {
		return storage.NewMail{}, fmt.Errorf("mail %s text: %w", kind, err)
	}
	switch {
	case d.AccountMail:
		fmt.Fprintf(&text, "\nTo stop notification mail from %s: %s\n", d.Site, d.Unsubscribe)
	case d.Unsubscribe != "":
		fmt.Fprintf(&text, "\nTo stop these mails: %s\n", d.Unsubscribe)
	}
	fmt.Fprintf(&text, "\n-- \n%s\n%s\n", d.Site, d.SiteURL)
	if err := h.ExecuteTemplate(&html, "layout", d); err != nil {
		return storage.NewMail{}, fmt.Errorf("mail %s html: %w", kind, err)
	}
	if len(mailKind) > 0 {
		kind = mailKind[0]
	}
	return storage.NewMail{AccountID: accountID, To: to, Subject: d.Subject, Text: text.String(), HTML: html.String(),
		UnsubscribeURL: d.Unsubscribe, Kind: kind, ValidFor: valid}, nil
}

// VerifyEmail is the mail with the link that verifies address for a.
func (c *Composer) VerifyEmail(a *storage.Account, address, token string) (storage.NewMail, error) {
	return c.compose(storage.MailVerifyEmail, a.ID, address, data{
		Subject: "Confirm your address on " + c.siteName(),
		Name:    a.Name(), Handle: a.Handle, Address: address,
		Link: c.urls.Abs(VerifyPath + token), Valid: "7 days",
	}, VerifyLinkTTL)
}

// EmailChanged tells the old address that a's address changed.
func (c *Composer) EmailChanged(a *storage.Account, old string) (storage.NewMail, error) {
	return c.compose(storage.MailEmailChanged, a.ID, old, data{
		Subject: "Your address on " + c.siteName() + " was changed",
		Name:    a.Name(), Handle: a.Handle, Address: a.Email, Link: c.urls.Abs("/forgot-password"),
	}, 0)
}

// ResetPassword is the mail with a's password reset link.
func (c *Composer) ResetPassword(a *storage.Account, token string) (storage.NewMail, error) {
	return c.compose(storage.MailResetPass, a.ID, a.Email, data{
		Subject: "Reset your password on " + c.siteName(),
		Name:    a.Name(), Handle: a.Handle, Link: c.urls.Abs(ResetPath + token), Valid: "an hour",
	}, ResetLinkTTL)
}

// Application tells admin that applicant waits for approval.
func (c *Composer) Application(admin, applicant *storage.Account) (storage.NewMail, error) {
	return c.compose(storage.MailApplication, admin.ID, admin.Email, data{
		Subject: applicant.Handle + " waits for approval on " + c.siteName(),
		Name:    admin.Name(), Handle: admin.Handle, Applicant: applicant.Handle,
		Link:        c.urls.Abs("/admin/members"),
		Unsubscribe: c.UnsubscribeURL(admin.ID, storage.UnsubscribeApplications),
	}, 0)
}

// Approved tells a that their registration was approved.
func (c *Composer) Approved(a *storage.Account) (storage.NewMail, error) {
	return c.compose(storage.MailApproved, a.ID, a.Email, data{
		Subject: "Welcome to " + c.siteName(),
		Name:    a.Name(), Handle: a.Handle, Link: c.urls.Abs("/signin"),
	}, 0)
}
