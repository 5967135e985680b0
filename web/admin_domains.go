package web

import (
	"net/http"

	"github.com/skein-forum/skein/storage"
)

type domainsData struct {
	Mode   string
	Blocks []storage.DomainBlock
	Allows []storage.DomainAllow
	Error  string
	Form   storage.DomainBlock // what was typed, when refused
}

// adminDomains lists domain blocks (and the allow list) with the forms
// that change them.
func (s *Server) adminDomains(w http.ResponseWriter, r *http.Request) error {
	return s.renderDomains(w, r, http.StatusOK, domainsData{Form: storage.DomainBlock{Severity: storage.SeveritySilence}})
}

func (s *Server) renderDomains(w http.ResponseWriter, r *http.Request, status int, data domainsData) error {
	var err error
	if data.Blocks, err = s.Store.ListDomainBlocks(r.Context()); err != nil {
		return err
	}
	if data.Allows, err = s.Store.ListDomainAllows(r.Context()); err != nil {
		return err
	}
	data.Mode = s.Store.FederationMode()
	s.adminPage(w, r, status, "admin_domains", "Domain blocks", "domains", data)
	return nil
}

// changeDomain blocks (action=block, the default), unblocks, allows or
// disallows the host in the form.
func (s *Server) changeDomain(w http.ResponseWriter, r *http.Request) error {
	if !s.parseForm(w, r) {
		return nil
	}
	viewer := viewerFrom(r)
	f := r.PostForm
	host := f.Get("host")
	ctx := r.Context()
	var err error
	form := storage.DomainBlock{Host: host, Severity: f.Get("severity"), PublicReason: f.Get("public_reason"), PrivateNote: f.Get("private_note")}
	switch f.Get("action") {
	case "", "block":
		err = s.Store.BlockDomain(ctx, viewer.ID, form)
	case "unblock":
		err = s.Store.UnblockDomain(ctx, viewer.ID, host)
	case "allow":
		err = s.Store.AllowDomain(ctx, viewer.ID, host)
	case "disallow":
		err = s.Store.DisallowDomain(ctx, viewer.ID, host)
	default:
		s.errorPage(w, r, http.StatusBadRequest, "Unknown action.")
		return nil
	}
	if err != nil {
		return withForm(err, func(status int, msg string) error {
			return s.renderDomains(w, r, status, domainsData{Error: msg, Form: form})
		})
	}
	s.redirect(w, r, "/admin/domains")
	return nil
}
