package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// A member follows a thread, forum or person on another server from here:
// the node resolves the address, sends a Follow and, once the remote
// server accepts, mirrors what arrives into threads that read and answer
// like local ones. Each public post of a followed person opens a thread of
// its own; this page lists the newest under the person.

type followRemoteData struct {
	Query     string
	Error     string
	Following []followedRemoteView
}

type followedRemoteView struct {
	ID, Name, Handle, URL string
	Pending               bool
	MirrorPath            string // the mirror thread here, when one exists
	// Posts are the newest threads a followed person's posts opened here.
	Posts []mirrorLink
}

type mirrorLink struct {
	Title, Path string
}

// personPostsShown is how many of a followed person's threads the page
// lists.
const personPostsShown = 5

// available is h where the node gives what h needs (ok), such as the
// federation side's [Config.FollowRemote]; elsewhere the page is not
// found.
func available(ok bool, h handler) handler {
	if ok {
		return h
	}
	return func(http.ResponseWriter, *http.Request) error { return storage.ErrNotFound }
}

// followRemoteForm shows the form and what the member follows elsewhere.
func (s *Server) followRemoteForm(w http.ResponseWriter, r *http.Request) error {
	viewer := s.requireMember(w, r, "/follow-remote")
	if viewer == nil {
		return nil
	}
	if err := s.renderFollowRemote(w, r, http.StatusOK, followRemoteData{Query: r.URL.Query().Get("q")}); err != nil {
		s.serverError(w, r, err)
	}
	return nil
}

func (s *Server) renderFollowRemote(w http.ResponseWriter, r *http.Request, status int, data followRemoteData) error {
	viewer := viewerFrom(r)
	followed, err := s.Store.RemoteFollowing(r.Context(), viewer.ID, 200)
	if err != nil {
		return err
	}
	for _, f := range followed {
		v := followedRemoteView{ID: f.ID.String(), Name: f.Name(), Handle: "@" + f.Acct(), URL: f.URL, Pending: !f.Accepted}
		if v.URL == "" && f.APID != nil {
			v.URL = *f.APID
		}
		switch {
		case f.ActorType == "Person" && f.Accepted:
			// Each post of a person opens a thread of its own: list
			// the newest.
			threads, err := s.Store.MirrorsOwnedBy(r.Context(), f.ID, personPostsShown)
			if err != nil {
				return err
			}
			for _, t := range threads {
				v.Posts = append(v.Posts, mirrorLink{Title: t.Title, Path: s.path(site.ThreadPath(t.ID))})
			}
		case f.MirrorID != 0:
			v.MirrorPath = s.path(site.ThreadPath(f.MirrorID))
		}
		data.Following = append(data.Following, v)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.renderPage(w, r, status, "followremote", "Follow from elsewhere", s.URLs.Abs("/follow-remote"), data)
	return nil
}

// followRemotePost follows what the member typed.
func (s *Server) followRemotePost(w http.ResponseWriter, r *http.Request) error {
	viewer := s.memberForm(w, r, "/follow-remote")
	if viewer == nil {
		return nil
	}
	data := followRemoteData{Query: r.PostForm.Get("q")}
	_, err := s.followRemote(r.Context(), viewer, data.Query)
	switch {
	case err == nil:
		s.redirect(w, r, "/follow-remote")
		return nil
	case !errors.Is(err, storage.ErrInvalid):
		// Whatever the remote side did wrong, the member can only check
		// the address.
		s.Log.Info("follow remote", "member", viewer.Handle, "query", data.Query, "err", err)
		data.Error = "Nothing to follow was found at that address. Check it, or try the @name@server form."
		return s.renderFollowRemote(w, r, http.StatusUnprocessableEntity, data)
	}
	return withForm(err, func(status int, msg string) error {
		data.Error = msg
		return s.renderFollowRemote(w, r, status, data)
	})
}

// unfollowRemotePost stops following a remote actor.
func (s *Server) unfollowRemotePost(w http.ResponseWriter, r *http.Request) error {
	viewer := s.memberForm(w, r, "/follow-remote")
	if viewer == nil {
		return nil
	}
	id, err := storage.ParseID(r.PostForm.Get("id"))
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "The form could not be read. Go back and try again.")
		return nil
	}
	if err := s.unfollowRemote(r.Context(), viewer, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.Log.Info("unfollow remote", "member", viewer.Handle, "err", err)
	}
	next := localPath(r.PostForm.Get("next"))
	if next == "/" {
		next = "/follow-remote"
	}
	s.redirect(w, r, next)
	return nil
}

// mirrorOrigin is where a mirror thread lives: the page of the remote
// actor that owns it when known, else the thread's own id, and its host.
func (s *Server) mirrorOrigin(r *http.Request, t *storage.Thread) (link, host string) {
	if t.APID != nil {
		link = *t.APID
	}
	if t.RemoteActorID != nil {
		if a, err := s.Store.AccountByID(r.Context(), *t.RemoteActorID); err == nil {
			if a.URL != "" {
				link = a.URL
			} else if a.APID != nil {
				link = *a.APID
			}
		}
	}
	if u, err := url.Parse(link); err == nil {
		host = u.Host
	}
	return link, host
}
