package web

import (
	"net/http"

	"github.com/skein-forum/skein/storage"
)

type homeData struct {
	Forums       []storage.Forum
	Registration bool
	Description  string // the site's, if it has one
}

// home lists the forums with their counts and latest activity.
func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	forums, err := s.Store.ListForums(r.Context())
	if err != nil {
		return err
	}
	name, desc := s.SiteName(), s.SiteDescription()
	metaDesc := desc
	if metaDesc == "" {
		metaDesc = "Forums on " + name + ", also readable and followable from the fediverse."
	}
	p := sitePage(r, name, metaDesc, s.URLs.Abs("/"), homeData{Forums: forums, Registration: s.AcceptsRegistrations(), Description: desc})
	p.Feeds = s.feedLinks(s.SiteName(), "/feed.atom")
	s.render(w, r, http.StatusOK, "home", p)
	return nil
}
