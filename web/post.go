package web

import (
	"context"
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
		s.answer(w, r, err)
		return nil
	}
	return p
}

// memberPost is loadPost for a signed-in member: a guest is sent to sign
// in and come back to the post's page (page "") or to its page below
// /p/ID (page "/edit"). viewer is nil when it has answered.
func (s *Server) memberPost(w http.ResponseWriter, r *http.Request, page string) (p *storage.Post, viewer *storage.Account) {
	p = s.loadPost(w, r)
	if p == nil {
		return nil, nil
	}
	back := site.PostPermalinkPath(p)
	if page != "" {
		back = site.PostPath(p.ID) + page
	}
	return p, s.requireMember(w, r, back)
}

// livePost is loadPost for a post that must not be deleted: a deleted
// one is answered 410.
func (s *Server) livePost(w http.ResponseWriter, r *http.Request) *storage.Post {
	p := s.loadPost(w, r)
	if p != nil && p.IsDeleted() {
		s.errorPage(w, r, http.StatusGone, "This post was deleted.")
		return nil
	}
	return p
}

// permalink sends a browser to the page and anchor where the post is
// shown; positions are fixed, so the page never changes.
func (s *Server) permalink(w http.ResponseWriter, r *http.Request) error {
	if s.serveActivityPub(w, r) {
		return nil
	}
	p := s.loadPost(w, r)
	if p == nil {
		return nil
	}
	http.Redirect(w, r, s.path(site.PostPermalinkPath(p)), http.StatusFound)
	return nil
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
func (s *Server) editPostForm(w http.ResponseWriter, r *http.Request) error {
	p, viewer := s.memberPost(w, r, "/edit")
	if viewer == nil || !s.mayEdit(w, r, viewer, p) {
		return nil
	}
	form := editForm{Post: p, Body: p.Source, Summary: p.Summary}
	current, err := s.Store.MediaOfPosts(r.Context(), []storage.ID{p.ID})
	if err != nil {
		return err
	}
	for _, m := range current[p.ID] {
		form.Media = append(form.Media, s.attachmentField(m, m.Description))
	}
	s.renderEditForm(w, r, http.StatusOK, form)
	return nil
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
	s.renderPage(w, r, status, "edit", "Edit your post", s.URLs.Post(form.Post.ID)+"/edit", form)
}

// editPost saves an edited post; it is then marked edited.
func (s *Server) editPost(w http.ResponseWriter, r *http.Request) error {
	p := s.loadPost(w, r)
	if p == nil {
		return nil
	}
	viewer := s.requireMember(w, r, site.PostPath(p.ID)+"/edit")
	if viewer == nil || !s.mayEdit(w, r, viewer, p) || !s.parseComposerForm(w, r) {
		return nil
	}
	form := editForm{Post: p, Body: r.PostForm.Get("body"), Summary: r.PostForm.Get("summary")}
	// The form lists the post's images (the media_shown marker says it
	// did): those left ticked stay, new ones are added.
	var edit []storage.AttachMedia
	if r.PostForm.Get("media_shown") != "" {
		current, err := s.Store.MediaOfPosts(r.Context(), []storage.ID{p.ID})
		if err != nil {
			return err
		}
		var problems []string
		form.Media, problems = s.composerMedia(r, viewer, r.PostForm, current[p.ID])
		if wantsPreview(r) || len(problems) > 0 {
			form.Preview = s.previewHTML(r, form.Body)
			form.Error = joinProblems(problems)
			s.renderEditForm(w, r, http.StatusOK, form)
			return nil
		}
		edit = attachItems(form.Media)
	}
	quoted := s.quotedPost(r.Context(), p.QuoteID, p.ThreadID)
	html, mentions := s.postHTML(r.Context(), form.Body, quoted)
	edited, err := s.Store.UpdatePost(r.Context(), p.ID, storage.PostEdit{Source: form.Body, HTML: html,
		Summary: quotedWarning(form.Summary, html, quoted), Mentions: mentions, Media: edit})
	if err != nil {
		return withForm(err, func(status int, msg string) error {
			form.Error = msg
			s.renderEditForm(w, r, status, form)
			return nil
		})
	}
	if edit != nil {
		s.mediaRemoved() // images taken off the post
	}
	s.redirect(w, r, site.PostPermalinkPath(edited))
	return nil
}

// deletePost deletes one's own post, or any post for a moderator.
// Deleting a thread's first post deletes the thread.
func (s *Server) deletePost(w http.ResponseWriter, r *http.Request) error {
	p, viewer := s.memberPost(w, r, "")
	if viewer == nil {
		return nil
	}
	if p.AuthorID != viewer.ID && !viewer.IsModerator() {
		s.forbidden(w, r, "You can only delete your own posts.")
		return nil
	}
	del := s.Store.DeletePost
	if p.AuthorID != viewer.ID { // a moderator's removal: audited
		del = func(ctx context.Context, id storage.ID) error { return s.Store.RemovePost(ctx, viewer.ID, id) }
	}
	if err := del(r.Context(), p.ID); err != nil {
		return err
	}
	s.mediaRemoved()
	if p.Position == 1 {
		t, err := s.Store.ThreadWithForum(r.Context(), p.ThreadID)
		if err != nil {
			return err
		}
		s.redirect(w, r, site.ForumPath(t.ForumSlug))
		return nil
	}
	s.redirect(w, r, site.PostPermalinkPath(p))
	return nil
}

// likePost likes a post, or takes the like back when the member already
// liked it. The author's reputation follows.
func (s *Server) likePost(w http.ResponseWriter, r *http.Request) error {
	p, viewer := s.memberPost(w, r, "")
	if viewer == nil {
		return nil
	}
	ctx := r.Context()
	liked, err := s.Store.Liked(ctx, viewer.ID, p.ID)
	if err != nil {
		return err
	}
	if liked {
		_, err = s.Store.UnlikePost(ctx, p.ID, viewer.ID)
	} else {
		_, err = s.Store.LikePost(ctx, p.ID, viewer.ID, nil)
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, site.PostPermalinkPath(p))
	return nil
}

type shareData struct {
	Post   *storage.Post
	URL    string
	Server string
	Error  string
}

// sharePost shows a post's link to copy, and sends a reader who names
// their server to its share page (Mastodon's /share?text=).
func (s *Server) sharePost(w http.ResponseWriter, r *http.Request) error {
	p := s.livePost(w, r)
	if p == nil {
		return nil
	}
	data := shareData{Post: p, URL: s.URLs.Post(p.ID), Server: r.URL.Query().Get("server")}
	status, sent := toRemoteServer(w, r, data.Server, "/share?text="+url.QueryEscape(data.URL), &data.Error)
	if sent {
		return nil
	}
	s.render(w, r, status, "share", sitePage(r, "Share a post", "Share a post from "+s.SiteName()+".", data.URL+"/share", data))
	return nil
}
