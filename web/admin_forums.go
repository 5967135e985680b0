package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/skein-forum/skein/storage"
)

type forumsAdminData struct {
	Forums []storage.Forum
	New    storage.NewForum // the create form, refilled when refused
	Error  string
}

// adminForums lists the forums in order, each with its edit form, and a
// form to create one.
func (s *Server) adminForums(w http.ResponseWriter, r *http.Request) {
	if s.requireAdmin(w, r) == nil {
		return
	}
	s.renderAdminForums(w, r, http.StatusOK, forumsAdminData{})
}

func (s *Server) renderAdminForums(w http.ResponseWriter, r *http.Request, status int, data forumsAdminData) {
	var err error
	if data.Forums, err = s.Store.ListForums(r.Context()); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.adminPage(w, r, status, "admin_forums", "Forums", "forums", data)
}

// createForum adds a forum (position empty or 0: last).
func (s *Server) createForum(w http.ResponseWriter, r *http.Request) {
	viewer := s.requireAdmin(w, r)
	if viewer == nil || !s.parseForm(w, r) {
		return
	}
	f := r.PostForm
	nf := storage.NewForum{Slug: f.Get("slug"), Title: f.Get("title"), Description: f.Get("description"), By: viewer.ID}
	nf.Position, _ = strconv.Atoi(strings.TrimSpace(f.Get("position")))
	_, err := s.Store.CreateForum(r.Context(), nf)
	switch {
	case errors.Is(err, storage.ErrInvalid):
		s.renderAdminForums(w, r, http.StatusUnprocessableEntity, forumsAdminData{New: nf, Error: formError(err)})
		return
	case errors.Is(err, storage.ErrNameTaken):
		s.renderAdminForums(w, r, http.StatusUnprocessableEntity, forumsAdminData{New: nf, Error: "That name is taken by a member or another forum."})
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/admin/forums")
}

// editForum changes a forum's title, description and position.
func (s *Server) editForum(w http.ResponseWriter, r *http.Request) {
	viewer := s.requireAdmin(w, r)
	if viewer == nil || !s.parseForm(w, r) {
		return
	}
	id, ok := parseIDParam(r, "id")
	if !ok {
		s.notFound(w, r)
		return
	}
	f := r.PostForm
	position, err := strconv.Atoi(strings.TrimSpace(f.Get("position")))
	if err != nil {
		s.renderAdminForums(w, r, http.StatusUnprocessableEntity, forumsAdminData{Error: "A position is a whole number."})
		return
	}
	err = s.Store.UpdateForum(r.Context(), viewer.ID, id, f.Get("title"), f.Get("description"), position)
	switch {
	case errors.Is(err, storage.ErrInvalid):
		s.renderAdminForums(w, r, http.StatusUnprocessableEntity, forumsAdminData{Error: formError(err)})
		return
	case err != nil:
		s.storeError(w, r, err)
		return
	}
	s.redirect(w, r, "/admin/forums")
}
