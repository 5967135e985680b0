package web

import (
	"html"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/skein-forum/skein/site"
)

const maxBioLen = 2000

type settingsForm struct {
	DisplayName string
	Bio         string
	Errors      map[string]string
	Account     accountSettings
}

// settingsForm lets a member change their display name and bio.
func (s *Server) settingsForm(w http.ResponseWriter, r *http.Request) error {
	viewer := s.requireMember(w, r, "/settings")
	if viewer == nil {
		return nil
	}
	s.renderSettings(w, r, http.StatusOK, settingsForm{DisplayName: viewer.DisplayName, Bio: bioText(viewer.Bio)})
	return nil
}

func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, status int, form settingsForm) {
	if v := viewerFrom(r); v != nil {
		form.Account = s.accountSettingsOf(r, v)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.renderPage(w, r, status, "settings", "Your profile", s.URLs.Abs("/settings"), form)
}

func (s *Server) saveSettings(w http.ResponseWriter, r *http.Request) error {
	viewer := s.memberForm(w, r, "/settings")
	if viewer == nil {
		return nil
	}
	form := settingsForm{
		DisplayName: strings.TrimSpace(r.PostForm.Get("display_name")),
		Bio:         strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("bio"), "\r\n", "\n")),
		Errors:      map[string]string{},
	}
	if n := utf8.RuneCountInString(form.DisplayName); n > maxDisplayName || !utf8.ValidString(form.DisplayName) {
		form.Errors["display_name"] = "A display name is at most 100 characters."
	}
	if n := utf8.RuneCountInString(form.Bio); n > maxBioLen || !utf8.ValidString(form.Bio) {
		form.Errors["bio"] = "A bio is at most 2,000 characters."
	}
	if len(form.Errors) > 0 {
		s.renderSettings(w, r, http.StatusUnprocessableEntity, form)
		return nil
	}
	if form.DisplayName == "" {
		form.DisplayName = viewer.Handle
	}
	if err := s.Store.UpdateProfile(r.Context(), viewer.ID, form.DisplayName, bioHTML(form.Bio)); err != nil {
		return err
	}
	s.redirect(w, r, site.MemberPath(viewer.Handle))
	return nil
}

// A member's bio is plain text kept as simple HTML (the form federation
// sends as the actor's summary): paragraphs split on blank lines, lines
// broken with <br>. bioText reverses it exactly for the edit form.
func bioHTML(text string) string {
	if text == "" {
		return ""
	}
	var b strings.Builder
	for para := range strings.SplitSeq(text, "\n\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(html.EscapeString(para), "\n", "<br>"))
		b.WriteString("</p>")
	}
	return b.String()
}

func bioText(h string) string {
	h = strings.TrimSuffix(strings.TrimPrefix(h, "<p>"), "</p>")
	h = strings.ReplaceAll(h, "</p><p>", "\n\n")
	h = strings.ReplaceAll(h, "<br>", "\n")
	return html.UnescapeString(h)
}
