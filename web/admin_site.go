package web

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/skein-forum/skein/storage"
)

const (
	maxSiteName        = 100
	maxSiteDescription = 300
)

type siteForm struct {
	Name        string
	Description string
	Saved       bool
	Errors      map[string]string
}

// adminSite shows the site's name and description for an admin to edit.
func (s *Server) adminSite(w http.ResponseWriter, r *http.Request) error {
	s.adminPage(w, r, http.StatusOK, "admin_site", "Site", "site", siteForm{Name: s.SiteName(),
		Description: s.SiteDescription(), Saved: r.URL.Query().Get("saved") == "1"})
	return nil
}

// saveSite stores the admin's edit; it wins over the values the node was
// started with from now on, in every process.
func (s *Server) saveSite(w http.ResponseWriter, r *http.Request) error {
	if !s.parseForm(w, r) {
		return nil
	}
	form := siteForm{Name: strings.TrimSpace(r.PostForm.Get("name")),
		Description: strings.TrimSpace(r.PostForm.Get("description")), Errors: map[string]string{}}
	if n := utf8.RuneCountInString(form.Name); n == 0 || n > maxSiteName || !utf8.ValidString(form.Name) {
		form.Errors["name"] = "A site name is 1 to 100 characters."
	}
	if n := utf8.RuneCountInString(form.Description); n > maxSiteDescription || !utf8.ValidString(form.Description) ||
		strings.ContainsAny(form.Description, "\r\n") {
		form.Errors["description"] = "A description is one line of at most 300 characters."
	}
	if len(form.Errors) > 0 {
		s.adminPage(w, r, http.StatusUnprocessableEntity, "admin_site", "Site", "site", form)
		return nil
	}
	for name, v := range map[string]string{storage.SettingSiteName: form.Name, storage.SettingSiteDescription: form.Description} {
		if err := s.Store.SetSetting(r.Context(), name, v); err != nil {
			return err
		}
	}
	// Guests' cached thread and forum pages show the old name until
	// they expire (guestCacheTTL); every other page shows the new one.
	s.identity.forget()
	s.redirect(w, r, "/admin/site?saved=1")
	return nil
}
