package web

import (
	"net/http"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// Deleting asks first, without a script: the Delete links open a page
// that says what will go, and only its form deletes.

type confirmData struct {
	Heading, Message string
	Action           string // where the confirming form posts
	Button           string
	Cancel           string // back to where the member was
}

func (s *Server) renderConfirm(w http.ResponseWriter, r *http.Request, c confirmData) {
	w.Header().Set("Cache-Control", "no-store")
	p := sitePage(r, c.Heading, "", "", c)
	p.NoIndex = true
	s.render(w, r, http.StatusOK, "confirm", p)
}

// confirmDeletePost asks the author (or a moderator) whether to delete a
// post; the first post's deletion takes the thread with it.
func (s *Server) confirmDeletePost(w http.ResponseWriter, r *http.Request) error {
	p := s.loadPost(w, r)
	if p == nil {
		return nil
	}
	viewer := s.requireMember(w, r, site.PostPath(p.ID)+"/delete")
	if viewer == nil {
		return nil
	}
	if p.IsDeleted() {
		s.errorPage(w, r, http.StatusGone, "This post was deleted.")
		return nil
	}
	if p.AuthorID != viewer.ID && !viewer.IsModerator() {
		s.forbidden(w, r, "You can only delete your own posts.")
		return nil
	}
	c := confirmData{Heading: "Delete this post?", Action: s.path(site.PostPath(p.ID) + "/delete"),
		Button: "Delete the post", Cancel: s.path(site.PostPermalinkPath(p)),
		Message: "The post and its images are deleted for good; servers that received it are told to delete it too."}
	if p.Position == 1 {
		c.Heading, c.Button = "Delete this thread?", "Delete the thread"
		c.Message = "This is the thread's first post: deleting it deletes the whole thread, every reply and image in it."
	}
	s.renderConfirm(w, r, c)
	return nil
}

// confirmDeleteThread asks a moderator whether to delete a thread.
func (s *Server) confirmDeleteThread(w http.ResponseWriter, r *http.Request) error {
	id, ok := parseIDParam(r, "id")
	if !ok {
		return storage.ErrNotFound
	}
	viewer := s.requireMember(w, r, site.ThreadPath(id)+"/delete")
	if viewer == nil {
		return nil
	}
	if !viewer.IsModerator() {
		s.forbidden(w, r, "Only moderators can do that.")
		return nil
	}
	t := s.liveThread(w, r, id)
	if t == nil {
		return nil
	}
	s.renderConfirm(w, r, confirmData{Heading: "Delete the thread “" + t.Title + "”?",
		Action: s.path(site.ThreadPath(id) + "/delete"), Button: "Delete the thread", Cancel: s.path(site.ThreadPath(id)),
		Message: "Every post in it (" + thousands(t.PostCount) + ") and its images are deleted; the deletion is in the audit log."})
	return nil
}
