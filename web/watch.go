package web

import (
	"net/http"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// Watching from this node: following a forum, muting a thread, and the
// setting that follows the threads a member posts in.

// followForum follows (on=1) or unfollows a forum for the member.
func (s *Server) followForum(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := s.Store.ForumBySlug(ctx, r.PathValue("slug"))
	if err != nil {
		return err
	}
	viewer := s.memberForm(w, r, site.ForumPath(f.Slug))
	if viewer == nil {
		return nil
	}
	if r.PostForm.Get("on") == "1" {
		_, err = s.Store.AddFollow(ctx, viewer.ID, storage.FollowForum, f.ID, nil, true)
	} else {
		_, err = s.Store.RemoveFollow(ctx, viewer.ID, storage.FollowForum, f.ID)
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, site.ForumPath(f.Slug))
	return nil
}

// muteThread mutes (on=1) or unmutes a thread for the member.
func (s *Server) muteThread(w http.ResponseWriter, r *http.Request) error {
	s.toggleThread(w, r, s.Store.MuteThread)
	return nil
}

// saveWatching turns following the threads one posts in on or off.
func (s *Server) saveWatching(w http.ResponseWriter, r *http.Request) error {
	return s.saveToggle(w, r, "watching", "auto_watch", s.Store.SetAutoWatch)
}
