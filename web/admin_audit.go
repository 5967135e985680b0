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
	var data auditData
	var err error
	data.Entries, data.Next, err = beforePage(s, r, auditPerPage, "/admin/audit?before=", s.Store.ListAudit,
		func(e *storage.AuditEntry) storage.ID { return e.ID })
	if err != nil {
		return err
	}
	s.adminPage(w, r, http.StatusOK, "admin_audit", "Audit log", "audit", data)
	return nil
}
