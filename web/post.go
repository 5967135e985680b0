package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// loadPost reads the {id} of the path and its post; on failure it has
// answered 404.
func (s *Server) loadPost(w http.ResponseWriter, r *http.Request) *storage.Post {
	id, ok := parseIDParam(r, "id")
	if !ok {
		s.notFound(w, r)
		return nil
	}
	p, err := s.Store.PostByID(r.Context(), id)
	if err != nil {
		s.storeError(w, r, err)
		return nil
	}
	return p
}

// permalink sends a browser to the page and anchor where the post is
// shown; positions are fixed, so the page never changes.
func (s *Server) permalink(w http.ResponseWriter, r *http.Request) {
	if s.serveActivityPub(w, r) {
		return
	}
	p := s.loadPost(w, r)
	if p == nil {
		return
	}
	http.Redirect(w, r, s.path(site.PostPermalinkPath(p)), http.StatusFound)
}

type editForm struct {
	Post    *storage.Post
	Body    string
	Summary string // the content warning
	Error   string
	Media   []attachmentField
	Preview template.HTML
}

// editPostForm shows a member's own post for editing.
func (s *Server) editPostForm(w http.ResponseWriter, r *http.Request) {
	p := s.loadPost(w, r)
	if p == nil {
		return
	}
	viewer := s.requireMember(w, r, site.PostPath(p.ID)+"/edit")
	if viewer == nil || !s.mayEdit(w, r, viewer, p) {
		return
	}
	form := editForm{Post: p, Body: p.Source, Summary: p.Summary}
	current, err := s.Store.MediaOfPosts(r.Context(), []storage.ID{p.ID})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	for _, m := range current[p.ID] {
		form.Media = append(form.Media, s.attachmentField(m, m.Description))
	}
	s.renderEditForm(w, r, http.StatusOK, form)
}

// mayEdit allows members to edit only their own, live posts.
func (s *Server) mayEdit(w http.ResponseWriter, r *http.Request, viewer *storage.Account, p *storage.Post) bool {
	if p.IsDeleted() {
		s.notFound(w, r)
		return false
	}
	if p.AuthorID != viewer.ID {
		s.forbidden(w, r, "You can only edit your own posts.")
		return false
	}
	return true
}

func (s *Server) renderEditForm(w http.ResponseWriter, r *http.Request, status int, form editForm) {
	s.render(w, r, status, "edit", &page{
		Title:     "Edit your post",
		Canonical: s.URLs.Post(form.Post.ID) + "/edit",
		OGType:    "website",
		Viewer:    viewerFrom(r),
		Data:      form,
	})
}

// editPost saves an edited post; it is then marked edited.
func (s *Server) editPost(w http.ResponseWriter, r *http.Request) {
	p := s.loadPost(w, r)
	if p == nil {
		return
	}
	viewer := s.requireMember(w, r, site.PostPath(p.ID)+"/edit")
	if viewer == nil || !s.mayEdit(w, r, viewer, p) || !s.parseComposerForm(w, r) {
		return
	}
	form := editForm{Post: p, Body: r.PostForm.Get("body"), Summary: r.PostForm.Get("summary")}
	// The form lists the post's images (the media_shown marker says it
	// did): those left ticked stay, new ones are added.
	var edit []storage.AttachMedia
	if r.PostForm.Get("media_shown") != "" {
		current, err := s.Store.MediaOfPosts(r.Context(), []storage.ID{p.ID})
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		var problems []string
		form.Media, problems = s.composerMedia(r, viewer, r.PostForm, current[p.ID])
		if wantsPreview(r) || len(problems) > 0 {
			form.Preview = s.previewHTML(r, form.Body)
			form.Error = joinProblems(problems)
			s.renderEditForm(w, r, http.StatusOK, form)
			return
		}
		edit = attachItems(form.Media)
	}
	quoted := s.quotedPost(r.Context(), p.QuoteID, p.ThreadID)
	html, mentions := s.postHTML(r.Context(), form.Body, quoted)
	edited, err := s.Store.UpdatePost(r.Context(), p.ID, storage.PostEdit{Source: form.Body, HTML: html,
		Summary: quotedWarning(form.Summary, html, quoted), Mentions: mentions, Media: edit})
	switch {
	case errors.Is(err, storage.ErrInvalid):
		form.Error = formError(err)
		s.renderEditForm(w, r, http.StatusUnprocessableEntity, form)
		return
	case storage.Unavailable(err):
		s.Log.Warn("edit not saved", "post", p.ID, "err", err)
		form.Error = unavailableMessage
		retryLater(w)
		s.renderEditForm(w, r, http.StatusServiceUnavailable, form)
		return
	case err != nil:
		s.storeError(w, r, err)
		return
	}
	if edit != nil {
		s.mediaRemoved() // images taken off the post
	}
	s.redirect(w, r, site.PostPermalinkPath(edited))
}

// deletePost deletes one's own post, or any post for a moderator.
// Deleting a thread's first post deletes the thread.
func (s *Server) deletePost(w http.ResponseWriter, r *http.Request) {
	p := s.loadPost(w, r)
	if p == nil {
		return
	}
	viewer := s.requireMember(w, r, site.PostPermalinkPath(p))
	if viewer == nil {
		return
	}
	if p.AuthorID != viewer.ID && !viewer.IsModerator() {
		s.forbidden(w, r, "You can only delete your own posts.")
		return
	}
	del := s.Store.DeletePost
	if p.AuthorID != viewer.ID { // a moderator's removal: audited
		del = func(ctx context.Context, id storage.ID) error { return s.Store.RemovePost(ctx, viewer.ID, id) }
	}
	if err := del(r.Context(), p.ID); err != nil {
		s.storeError(w, r, err)
		return
	}
	s.mediaRemoved()
	if p.Position == 1 {
		t, err := s.Store.ThreadWithForum(r.Context(), p.ThreadID)
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		s.redirect(w, r, site.ForumPath(t.ForumSlug))
		return
	}
	s.redirect(w, r, site.PostPermalinkPath(p))
}

// likePost likes a post, or takes the like back when the member already
// liked it. The author's reputation follows.
func (s *Server) likePost(w http.ResponseWriter, r *http.Request) {
	p := s.loadPost(w, r)
	if p == nil {
		return
	}
	viewer := s.requireMember(w, r, site.PostPermalinkPath(p))
	if viewer == nil {
		return
	}
	ctx := r.Context()
	liked, err := s.Store.LikedPosts(ctx, viewer.ID, []storage.ID{p.ID})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if liked[p.ID] {
		_, err = s.Store.UnlikePost(ctx, p.ID, viewer.ID)
	} else {
		_, err = s.Store.LikePost(ctx, p.ID, viewer.ID, nil)
	}
	switch {
	case errors.Is(err, storage.ErrInvalid):
		s.errorPage(w, r, http.StatusBadRequest, formError(err))
		return
	case err != nil:
		s.storeError(w, r, err)
		return
	}
	s.redirect(w, r, site.PostPermalinkPath(p))
}

type shareData struct {
	Post   *storage.Post
	URL    string
	Server string
	Error  string
}

// sharePost shows a post's link to copy, and sends a reader who names
// their server to its share page (Mastodon's /share?text=).
func (s *Server) sharePost(w http.ResponseWriter, r *http.Request) {
	p := s.loadPost(w, r)
	if p == nil {
		return
	}
	if p.IsDeleted() {
		s.errorPage(w, r, http.StatusGone, "This post was deleted.")
		return
	}
	data := shareData{Post: p, URL: s.URLs.Post(p.ID), Server: r.URL.Query().Get("server")}
	status := http.StatusOK
	if data.Server != "" {
		host, err := remoteServer(data.Server)
		if err == nil {
			http.Redirect(w, r, "https://"+host+"/share?text="+url.QueryEscape(data.URL), http.StatusSeeOther)
			return
		}
		data.Error = err.Error()
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, status, "share", &page{
		Title:       "Share a post",
		Description: "Share a post from " + s.SiteName() + ".",
		Canonical:   data.URL + "/share",
		OGType:      "website",
		Viewer:      viewerFrom(r),
		Data:        data,
	})
}
