package web

import (
	"net/http"

	"github.com/skein-forum/skein/storage"
)

// publicBlocks lists the servers this node blocks, with the public
// reason of each (never the private note), as communities expect to be
// able to check.
func (s *Server) publicBlocks(w http.ResponseWriter, r *http.Request) error {
	blocks, err := s.Store.ListDomainBlocks(r.Context())
	if err != nil {
		return err
	}
	public := make([]storage.DomainBlock, len(blocks))
	for i, b := range blocks {
		public[i] = storage.DomainBlock{Host: b.Host, Severity: b.Severity, PublicReason: b.PublicReason, CreatedAt: b.CreatedAt}
	}
	s.render(w, r, http.StatusOK, "blocks", sitePage(r, "Blocked servers",
		"Servers "+s.SiteName()+" does not federate with, and why.", s.URLs.Abs("/about/blocks"), public))
	return nil
}
