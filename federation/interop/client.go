// Package interop tests Skein against a real fediverse server: a
// GoToSocial peer and a real `skein serve` on loopback, driven as their
// users drive them (GoToSocial through its Mastodon client API, Skein
// through its web forms), judged by what those users then see.
//
// This file holds the two small clients the tests use; the journeys are
// in the test files.
package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Mastodon is one GoToSocial user, driven through the Mastodon client API
// with that user's OAuth token.
type Mastodon struct {
	Base  string // http://localhost:PORT
	Token string
	HTTP  *http.Client
}

// Account, Status, Relationship, Notification and Context are the parts
// of the Mastodon API's entities the tests read.
type Account struct {
	ID            string `json:"id"`
	Username      string `json:"username"`
	Acct          string `json:"acct"`
	URL           string `json:"url"`
	URI           string `json:"uri"`
	StatusesCount int    `json:"statuses_count"`
}

type Status struct {
	ID          string   `json:"id"`
	URI         string   `json:"uri"`
	URL         string   `json:"url"`
	Content     string   `json:"content"`
	SpoilerText string   `json:"spoiler_text"`
	Sensitive   bool     `json:"sensitive"`
	Visibility  string   `json:"visibility"`
	InReplyToID *string  `json:"in_reply_to_id"`
	Account     Account  `json:"account"`
	Reblog      *Status  `json:"reblog"`
	Mentions    []Member `json:"mentions"`
	Media       []Media  `json:"media_attachments"`
}

// Media is an attachment of a status, or an upload.
type Media struct {
	ID          string `json:"id"`
	Type        string `json:"type"` // image, or unknown when the server could not fetch it
	URL         string `json:"url"`
	RemoteURL   string `json:"remote_url"`
	Description string `json:"description"`
}

// Member is a mention in a status.
type Member struct {
	ID   string `json:"id"`
	Acct string `json:"acct"`
	URL  string `json:"url"`
}

type Relationship struct {
	ID        string `json:"id"`
	Following bool   `json:"following"`
	Requested bool   `json:"requested"`
}

type Notification struct {
	ID      string  `json:"id"`
	Type    string  `json:"type"`
	Account Account `json:"account"`
	Status  *Status `json:"status"`
}

type Context struct {
	Ancestors   []Status `json:"ancestors"`
	Descendants []Status `json:"descendants"`
}

// Search resolves q (a URL or @name@host) and returns what GoToSocial
// found; kind is "accounts" or "statuses".
func (m *Mastodon) Search(ctx context.Context, q, kind string) ([]Account, []Status, error) {
	var out struct {
		Accounts []Account `json:"accounts"`
		Statuses []Status  `json:"statuses"`
	}
	v := url.Values{"q": {q}, "resolve": {"true"}, "type": {kind}}
	err := m.call(ctx, http.MethodGet, "/api/v2/search?"+v.Encode(), nil, &out)
	return out.Accounts, out.Statuses, err
}

// ResolveAccount is the one account a search for q resolves to.
func (m *Mastodon) ResolveAccount(ctx context.Context, q string) (*Account, error) {
	accts, _, err := m.Search(ctx, q, "accounts")
	return resolved(q, "account", accts, err)
}

// ResolveStatus is the one status a search for q resolves to.
func (m *Mastodon) ResolveStatus(ctx context.Context, q string) (*Status, error) {
	_, sts, err := m.Search(ctx, q, "statuses")
	return resolved(q, "status", sts, err)
}

// resolved is the first of what a search for q found (err, if it failed).
func resolved[T any](q, kind string, found []T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("search %q: no %s", q, kind)
	}
	return &found[0], nil
}

func (m *Mastodon) Follow(ctx context.Context, accountID string) (*Relationship, error) {
	var r Relationship
	return &r, m.call(ctx, http.MethodPost, "/api/v1/accounts/"+accountID+"/follow", nil, &r)
}

func (m *Mastodon) Unfollow(ctx context.Context, accountID string) (*Relationship, error) {
	var r Relationship
	return &r, m.call(ctx, http.MethodPost, "/api/v1/accounts/"+accountID+"/unfollow", nil, &r)
}

func (m *Mastodon) Relationship(ctx context.Context, accountID string) (*Relationship, error) {
	var rs []Relationship
	if err := m.call(ctx, http.MethodGet, "/api/v1/accounts/relationships?id[]="+url.QueryEscape(accountID), nil, &rs); err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("no relationship with %s", accountID)
	}
	return &rs[0], nil
}

// NewStatus is what the compose box sends.
type NewStatus struct {
	Text        string
	InReplyToID string
	SpoilerText string
	Visibility  string   // public when empty
	MediaIDs    []string // uploads (Mastodon.Upload) the status shows
}

func (n NewStatus) form() url.Values {
	v := url.Values{"status": {n.Text}, "visibility": {"public"}}
	if n.Visibility != "" {
		v.Set("visibility", n.Visibility)
	}
	if n.InReplyToID != "" {
		v.Set("in_reply_to_id", n.InReplyToID)
	}
	if n.SpoilerText != "" {
		v.Set("spoiler_text", n.SpoilerText)
		v.Set("sensitive", "true")
	}
	for _, id := range n.MediaIDs {
		v.Add("media_ids[]", id)
	}
	return v
}

// Upload sends an image with its alt text, for a status to show.
func (m *Mastodon) Upload(ctx context.Context, name string, data []byte, description string) (*Media, error) {
	body, ctype := multipartBody(url.Values{"description": {description}}, "file", name, data)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Base+"/api/v2/media", body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+m.Token)
	req.Header.Set("Content-Type", ctype)
	resp, err := m.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("upload media: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("upload media: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var md Media
	return &md, json.Unmarshal(b, &md)
}

// multipartBody is a multipart form with fields and one file.
func multipartBody(fields url.Values, fileField, name string, data []byte) (io.Reader, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile(fileField, name)
	fw.Write(data)
	mw.Close()
	return &b, mw.FormDataContentType()
}

func (m *Mastodon) Post(ctx context.Context, n NewStatus) (*Status, error) {
	var s Status
	return &s, m.call(ctx, http.MethodPost, "/api/v1/statuses", n.form(), &s)
}

func (m *Mastodon) Edit(ctx context.Context, id string, n NewStatus) (*Status, error) {
	var s Status
	return &s, m.call(ctx, http.MethodPut, "/api/v1/statuses/"+id, n.form(), &s)
}

func (m *Mastodon) Delete(ctx context.Context, id string) error {
	return m.call(ctx, http.MethodDelete, "/api/v1/statuses/"+id, nil, nil)
}

func (m *Mastodon) Favourite(ctx context.Context, id string) error {
	return m.call(ctx, http.MethodPost, "/api/v1/statuses/"+id+"/favourite", nil, nil)
}

func (m *Mastodon) HomeTimeline(ctx context.Context) ([]Status, error) {
	var sts []Status
	return sts, m.call(ctx, http.MethodGet, "/api/v1/timelines/home?limit=40", nil, &sts)
}

func (m *Mastodon) Notifications(ctx context.Context) ([]Notification, error) {
	var ns []Notification
	return ns, m.call(ctx, http.MethodGet, "/api/v1/notifications?limit=40", nil, &ns)
}

func (m *Mastodon) Context(ctx context.Context, statusID string) (*Context, error) {
	var c Context
	return &c, m.call(ctx, http.MethodGet, "/api/v1/statuses/"+statusID+"/context", nil, &c)
}

// call sends one API request; a non-2xx answer is an error carrying the
// body, which says why.
func (m *Mastodon) call(ctx context.Context, method, path string, form url.Values, out any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, m.Base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+m.Token)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := m.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return nil
}

// Browser is one person using Skein's web pages: it keeps its cookies,
// sends forms as a browser does (with Origin and Sec-Fetch-Site, which
// the cross-origin protection reads) and does not follow redirects, so
// a form's answer can be read.
type Browser struct {
	Base string // http://127.0.0.1:PORT
	HTTP *http.Client
}

// NewBrowser makes a browser that connects from the loopback address
// from (127.0.0.2 and up): each member is someone on a machine of their
// own, so the node's per-address sign-in limit counts each apart.
func NewBrowser(base string, from net.IP) *Browser {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: from}}
	return &Browser{Base: base, HTTP: &http.Client{
		Jar:       jar,
		Timeout:   30 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// Page is a GET's answer.
type Page struct {
	Status   int
	Location string
	Body     string
}

// Get loads a page of the node.
func (b *Browser) Get(ctx context.Context, path string) (*Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.Base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/html")
	return b.do(req)
}

// Submit sends a form to path as the page's form would.
func (b *Browser) Submit(ctx context.Context, path string, form url.Values) (*Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.Base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.Base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func (b *Browser) do(req *http.Request) (*Page, error) {
	resp, err := b.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	return &Page{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(body)}, nil
}

// fill opens page and sends its form that posts to action, as a person
// does: the hidden fields the page put in the form go along with what
// they typed (fields). Success is a 303, whose Location is returned.
func (b *Browser) fill(ctx context.Context, page, action string, fields url.Values) (string, error) {
	p, err := b.Get(ctx, page)
	if err != nil {
		return "", err
	}
	if p.Status != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d", page, p.Status)
	}
	form, err := hiddenFields(p.Body, action)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", page, err)
	}
	for k, v := range fields {
		form[k] = v
	}
	p, err = b.Submit(ctx, action, form)
	if err != nil {
		return "", err
	}
	if p.Status != http.StatusSeeOther {
		return "", fmt.Errorf("POST %s: %d, want 303; page says: %s", action, p.Status, formError(p.Body))
	}
	return p.Location, nil
}

// hiddenFields are the hidden inputs of the page's form that posts to
// action.
func hiddenFields(page, action string) (url.Values, error) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return nil, err
	}
	var form *html.Node
	for n := range doc.Descendants() {
		// A form may name the place its answer opens at (action#reply).
		if a, _, _ := strings.Cut(attr(n, "action"), "#"); n.Type == html.ElementNode && n.DataAtom == atom.Form && a == action {
			form = n
			break
		}
	}
	if form == nil {
		return nil, fmt.Errorf("no form posts to %s", action)
	}
	v := url.Values{}
	for n := range form.Descendants() {
		if n.Type == html.ElementNode && n.DataAtom == atom.Input && attr(n, "type") == "hidden" && attr(n, "name") != "" {
			v.Add(attr(n, "name"), attr(n, "value"))
		}
	}
	return v, nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// SignIn signs the browser in as a member.
func (b *Browser) SignIn(ctx context.Context, handle, password string) error {
	_, err := b.fill(ctx, "/signin", "/signin", url.Values{"handle": {handle}, "password": {password}})
	return err
}

// StartThread posts a new thread in a forum and returns its id (the part
// after /t/).
func (b *Browser) StartThread(ctx context.Context, forum, title, body string) (string, error) {
	loc, err := b.fill(ctx, "/f/"+forum+"/new", "/f/"+forum+"/new", url.Values{"title": {title}, "body": {body}})
	if err != nil {
		return "", err
	}
	return lastSegment(loc, "/t/")
}

// Reply posts a reply in a thread (answering post replyTo when not
// empty, with the extra form fields given) and returns the new post's
// id, read from the anchor the form redirects to.
func (b *Browser) Reply(ctx context.Context, threadID, body, replyTo string, extra url.Values) (string, error) {
	form := url.Values{"body": {body}, "reply_to": {replyTo}}
	for k, v := range extra {
		form[k] = v
	}
	loc, err := b.fill(ctx, "/t/"+threadID, "/t/"+threadID+"/reply", form)
	if err != nil {
		return "", err
	}
	_, anchor, ok := strings.Cut(loc, "#p")
	if !ok || anchor == "" {
		return "", fmt.Errorf("reply redirected to %q, which names no post", loc)
	}
	return anchor, nil
}

// ReplyWithImage replies with an image as a person without script does:
// Attach sends the file, the page comes back with a field for its alt
// text, and Post reply sends the text with the image named and described.
// It returns the new post's id.
func (b *Browser) ReplyWithImage(ctx context.Context, threadID, body, alt string, image []byte) (string, error) {
	page, err := b.Get(ctx, "/t/"+threadID)
	if err != nil {
		return "", err
	}
	form, err := hiddenFields(page.Body, "/t/"+threadID+"/reply")
	if err != nil {
		return "", err
	}
	form.Set("body", body)
	form.Set("upload", "1")
	mb, ctype := multipartBody(form, "images", "image.png", image)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.Base+"/t/"+threadID+"/reply", mb)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Origin", b.Base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	p, err := b.do(req)
	if err != nil {
		return "", err
	}
	_, rest, ok := strings.Cut(p.Body, `name="alt-`)
	id, _, _ := strings.Cut(rest, `"`)
	if p.Status != http.StatusOK || !ok || id == "" {
		return "", fmt.Errorf("attach an image: %d, no image to describe; page says: %s", p.Status, formError(p.Body))
	}
	form.Del("upload")
	form.Set("media", id)
	form.Set("alt-"+id, alt)
	p, err = b.Submit(ctx, "/t/"+threadID+"/reply", form)
	if err != nil {
		return "", err
	}
	_, anchor, ok := strings.Cut(p.Location, "#p")
	if p.Status != http.StatusSeeOther || !ok {
		return "", fmt.Errorf("reply with an image: %d %q; page says: %s", p.Status, p.Location, formError(p.Body))
	}
	return anchor, nil
}

// FollowRemote follows a remote thread, forum or person from
// /follow-remote.
func (b *Browser) FollowRemote(ctx context.Context, address string) error {
	_, err := b.fill(ctx, "/follow-remote", "/follow-remote", url.Values{"q": {address}})
	return err
}

// lastSegment is the id after prefix in a redirect's path.
func lastSegment(loc, prefix string) (string, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", err
	}
	_, id, ok := strings.Cut(u.Path, prefix)
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", fmt.Errorf("redirect to %q: no id after %s", loc, prefix)
	}
	return id, nil
}

// formError digs the message a refused form shows out of its page.
func formError(page string) string {
	_, rest, ok := strings.Cut(page, `class="form-error"`)
	if !ok {
		if len(page) > 300 {
			page = page[:300]
		}
		return page
	}
	_, rest, _ = strings.Cut(rest, ">")
	msg, _, _ := strings.Cut(rest, "<")
	return msg
}

// ActivityJSON fetches an ActivityPub document of the node, unsigned, as a
// remote server without authorized fetch would.
func ActivityJSON(ctx context.Context, hc *http.Client, u string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/activity+json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	var m map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	return m, nil
}
