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
}

// compose renders the kind's templates into a message to to.
func (c *Composer) compose(kind string, accountID storage.ID, to string, d data, valid time.Duration) (storage.NewMail, error) {
	d.Site, d.SiteURL = c.siteName(), c.urls.Abs("/")
	var text, html bytes.Buffer
	t, h := c.text[kind], c.html[kind]
	if t == nil || h == nil {
		return storage.NewMail{}, fmt.Errorf("no mail templates for %q", kind)
	}
	if err := t.Execute(&text, d); err != nil {
		return storage.NewMail{}, fmt.Errorf("mail %s text: %w", kind, err)
	}
	if d.Unsubscribe != "" {
		fmt.Fprintf(&text, "\nTo stop these mails: %s\n", d.Unsubscribe)
	}
	fmt.Fprintf(&text, "\n-- \n%s\n%s\n", d.Site, d.SiteURL)
	if err := h.ExecuteTemplate(&html, "layout", d); err != nil {
		return storage.NewMail{}, fmt.Errorf("mail %s html: %w", kind, err)
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
