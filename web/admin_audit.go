package web

import (
	"net/http"

	"github.com/skein-forum/skein/storage"
)

const auditPerPage = 50

type auditData struct {
	Entries []storage.AuditEntry
	Next    string
}

// adminAudit pages the audit log, newest first; moderators may read it.
func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request) error {
	before, ok := beforeParam(r)
	if !ok {
		return storage.ErrNotFound
	}
	entries, err := s.Store.ListAudit(r.Context(), before, auditPerPage+1)
	if err != nil {
		return err
	}
	data := auditData{Entries: entries}
	if len(entries) > auditPerPage {
		data.Entries = entries[:auditPerPage]
		data.Next = s.path("/admin/audit?before=" + data.Entries[auditPerPage-1].ID.String())
	}
	s.adminPage(w, r, http.StatusOK, "admin_audit", "Audit log", "audit", data)
	return nil
}
