package web

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// The composers (reply, new thread) never lose or duplicate a post:
//
//   - every composer carries a one-time token; the store records it with
//     the post it made, in the same transaction, so the same form sent
//     again lands on that post instead of making another;
//   - a form that could not be posted (the session had ended, the thread
//     was locked meanwhile, the text was refused) is kept in the database
//     under its token, and the browser is sent to a page that shows it
//     again (after signing in, when that was the trouble). That page's
//     URL reloads, and opens at the form;
//   - Preview renders the post without storing it.

// formTokenSlot stands in for a fresh composer token while a page is
// rendered: the page's ETag is computed over it, so a member's thread
// page may still answer 304, and writeHTML puts a fresh token in its
// place. It is as long as a real token, which is copied over it in place.
//
// It is an HTML comment, which nothing else on a page can be: the
// templates' own comments are dropped when they are parsed, every value
// they print escapes "<", and posts, remote or local, are sanitized
// without comments. So a post that says these very characters shows
// them escaped and is never taken for a slot, and a page with no slot
// holds no composer (see [Server.keepForGuests]). Only [formTokenValue]
// writes it, raw, as a whole attribute.
const formTokenSlot = "<!--skein-form-slot-->"

// fillFormTokens gives each page written a token of its own, in place
// (a token is as long as the slot): one pass over the page, no copy.
func fillFormTokens(body []byte) {
	for i := 0; ; {
		j := nextSlot(body[i:])
		if j < 0 {
			return
		}
		i += j + copy(body[i+j:], storage.NewFormToken())
	}
}

// nextSlot is the offset of the first token slot on page, -1 when there
// is none. It looks for what follows the slot's "<": bytes.Index stops
// to compare at each byte that begins what it looks for, and a page has
// a "<" at every tag but hardly a "!" (a page's scan takes a tenth of
// the time).
func nextSlot(page []byte) int {
	for i := 1; i < len(page); i++ {
		j := bytes.Index(page[i:], formTokenSlotBytes[1:])
		if j < 0 {
			return -1
		}
		if i += j; page[i-1] == '<' {
			return i - 1
		}
	}
	return -1
}

var formTokenSlotBytes = []byte(formTokenSlot)

// formTokenValue is the value attribute of a composer's token field
// that has no token kept (see the "formtoken" template): the slot, which
// the template could not print unescaped.
func formTokenValue() template.HTMLAttr {
	return template.HTMLAttr(`value="` + formTokenSlot + `"`)
}

// draftParam names the kept form a composer page shows again.
const draftParam = "draft"

// draftPath is the page that shows the form kept under token again: the
// composer's page, opened at the form.
func draftPath(page, token, anchor string) string {
	sep := "?"
	if strings.Contains(page, "?") {
		sep = "&"
	}
	return page + sep + draftParam + "=" + url.QueryEscape(token) + "#" + anchor
}

// keepForm keeps a composer's fields under its form token, with why it
// was not posted, and sends the browser to the composer page that shows
// it again (through sign-in when viewer is nil). It returns false, having
// done nothing, when the form cannot be kept (no token, or the database
// is unavailable): the caller then answers with the form itself.
func (s *Server) keepForm(w http.ResponseWriter, r *http.Request, viewer *storage.Account, fields url.Values, page, anchor, message string) bool {
	token := fields.Get("form_token")
	var accountID storage.ID
	if viewer != nil {
		accountID = viewer.ID
	}
	kf := storage.KeptForm{Action: strings.TrimPrefix(r.URL.Path, s.prefix), Fields: fields.Encode(), Message: message}
	if err := s.Store.KeepForm(r.Context(), token, accountID, kf); err != nil {
		if !errors.Is(err, storage.ErrInvalid) {
			s.Log.Warn("form not kept", "path", r.URL.Path, "err", err)
		}
		return false
	}
	back := draftPath(page, token, anchor)
	if viewer == nil {
		s.redirect(w, r, "/signin?next="+url.QueryEscape(back))
		return true
	}
	s.redirect(w, r, back)
	return true
}

// keptForm loads the form kept under the page's ?draft= token for the
// viewer, when it was kept from action. A form that was posted after all
// sends the browser to its post and returns handled.
func (s *Server) keptForm(w http.ResponseWriter, r *http.Request, action string) (token string, fields url.Values, message string, handled bool) {
	token = r.URL.Query().Get(draftParam)
	viewer := viewerFrom(r)
	if token == "" || viewer == nil {
		return "", nil, "", false
	}
	kf, err := s.Store.KeptFormFor(r.Context(), token, viewer.ID)
	if err != nil || kf.Action != action {
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.Log.Warn("kept form", "err", err)
		}
		return "", nil, "", false
	}
	if kf.PostID != nil {
		p, err := s.Store.PostByID(r.Context(), *kf.PostID)
		if err == nil {
			s.redirect(w, r, site.PostPermalinkPath(p))
			return "", nil, "", true
		}
	}
	fields, err = url.ParseQuery(kf.Fields)
	if err != nil {
		return "", nil, "", false
	}
	w.Header().Set("Cache-Control", "no-store")
	return token, fields, kf.Message, false
}

// wantsPreview reports whether the composer's Preview or Attach button
// sent the form: it is shown again, nothing posted.
func wantsPreview(r *http.Request) bool {
	return r.PostForm.Get("preview") != "" || r.PostForm.Get("upload") != ""
}

// composerValues are a composer's fields as they are kept: its images
// named by their ids, with their alt text, the buttons left out.
func composerValues(f url.Values, atts []attachmentField) url.Values {
	out := withoutButtons(f)
	for k := range out {
		if k == "media" || strings.HasPrefix(k, "alt-") {
			delete(out, k)
		}
	}
	for _, a := range atts {
		out.Add("media", a.ID)
		out.Set("alt-"+a.ID, a.Alt)
	}
	return out
}

// composerImages stores the files a composer sent and reads the images it
// names. It returns them, the fields to keep should the post be refused,
// and whether the form is to be shown again instead of posted (Preview,
// Attach, or a file refused, which problem says).
func (s *Server) composerImages(r *http.Request, viewer *storage.Account) (atts []attachmentField, kept url.Values, again bool, problem string) {
	atts, problems := s.composerMedia(r, viewer, r.PostForm, nil)
	return atts, composerValues(r.PostForm, atts), wantsPreview(r) || len(problems) > 0, joinProblems(problems)
}

// withoutButtons are a composer's fields as the browser sent them, less
// the buttons: what is kept for a member whose session had ended (their
// images already sent stay named; the store shows only their own).
func withoutButtons(f url.Values) url.Values {
	out := make(url.Values, len(f))
	for k, v := range f {
		if k != "preview" && k != "upload" {
			out[k] = v
		}
	}
	return out
}

// joinProblems is the message for refused files, beside the form.
func joinProblems(p []string) string { return strings.Join(p, " ") }

// previewHTML renders what a composer would post, for its Preview.
func (s *Server) previewHTML(r *http.Request, src string) template.HTML {
	if strings.TrimSpace(src) == "" {
		return ""
	}
	h, _ := s.postHTML(r.Context(), src, nil)
	return template.HTML(h) // sanitized by the renderer
}

// preview answers the composer script's live preview: the post's HTML as
// it would be stored. Only members may have the server render for them.
func (s *Server) preview(w http.ResponseWriter, r *http.Request) error {
	if viewerFrom(r) == nil {
		s.forbidden(w, r, "Sign in to preview a post.")
		return nil
	}
	if !s.parseForm(w, r) {
		return nil
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(s.previewHTML(r, r.PostForm.Get("body"))))
	return nil
}
