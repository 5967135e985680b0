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
func (s *Server) adminForums(w http.ResponseWriter, r *http.Request) error {
	return s.renderAdminForums(w, r, http.StatusOK, forumsAdminData{})
}

func (s *Server) renderAdminForums(w http.ResponseWriter, r *http.Request, status int, data forumsAdminData) error {
	var err error
	if data.Forums, err = s.Store.ListForums(r.Context()); err != nil {
		return err
	}
	s.adminPage(w, r, status, "admin_forums", "Forums", "forums", data)
	return nil
}

// createForum adds a forum (position empty or 0: last).
func (s *Server) createForum(w http.ResponseWriter, r *http.Request) error {
	if !s.parseForm(w, r) {
		return nil
	}
	f := r.PostForm
	nf := storage.NewForum{Slug: f.Get("slug"), Title: f.Get("title"), Description: f.Get("description"), By: viewerFrom(r).ID}
	nf.Position, _ = strconv.Atoi(strings.TrimSpace(f.Get("position")))
	_, err := s.Store.CreateForum(r.Context(), nf)
	if errors.Is(err, storage.ErrNameTaken) {
		return s.renderAdminForums(w, r, http.StatusUnprocessableEntity, forumsAdminData{New: nf, Error: "That name is taken by a member or another forum."})
	}
	if err != nil {
		return withForm(err, func(status int, msg string) error {
			return s.renderAdminForums(w, r, status, forumsAdminData{New: nf, Error: msg})
		})
	}
	s.redirect(w, r, "/admin/forums")
	return nil
}

// editForum changes a forum's title, description and position.
func (s *Server) editForum(w http.ResponseWriter, r *http.Request) error {
	if !s.parseForm(w, r) {
		return nil
	}
	id, ok := parseIDParam(r, "id")
	if !ok {
		return storage.ErrNotFound
	}
	f := r.PostForm
	position, err := strconv.Atoi(strings.TrimSpace(f.Get("position")))
	if err != nil {
		return s.renderAdminForums(w, r, http.StatusUnprocessableEntity, forumsAdminData{Error: "A position is a whole number."})
	}
	err = s.Store.UpdateForum(r.Context(), viewerFrom(r).ID, id, f.Get("title"), f.Get("description"), position)
	if err != nil {
		return withForm(err, func(status int, msg string) error {
			return s.renderAdminForums(w, r, status, forumsAdminData{Error: msg})
		})
	}
	s.redirect(w, r, "/admin/forums")
	return nil
}
