package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// followRequestView is a follow held for approval with what it follows.
type followRequestView struct {
	storage.FollowRequest
	TargetName string
	TargetPath string
}

// followRequests lists the follows waiting for an admin, on the members
// page; none when federation cannot answer them.
func (s *Server) followRequests(ctx context.Context) ([]followRequestView, error) {
	if s.answerFollow == nil {
		return nil, nil
	}
	reqs, err := s.Store.PendingFollowRequests(ctx, 200)
	if err != nil {
		return nil, err
	}
	out := make([]followRequestView, 0, len(reqs))
	for _, fr := range reqs {
		v := followRequestView{FollowRequest: fr}
		switch fr.TargetKind {
		case storage.FollowThread:
			v.TargetName, v.TargetPath = "thread "+fr.TargetID.String(), site.ThreadPath(fr.TargetID)
			if t, err := s.Store.ThreadByID(ctx, fr.TargetID); err == nil {
				v.TargetName = t.Title
			}
		case storage.FollowForum:
			f, err := s.Store.ForumByID(ctx, fr.TargetID)
			if err != nil {
				continue
			}
			v.TargetName, v.TargetPath = f.Title, site.ForumPath(f.Slug)
		case storage.FollowAccount:
			a, err := s.Store.AccountByID(ctx, fr.TargetID)
			if err != nil {
				continue
			}
			v.TargetName, v.TargetPath = "@"+a.Handle, site.MemberPath(a.Handle)
		}
		if fr.Follower == nil {
			continue
		}
		out = append(out, v)
	}
	return out, nil
}

// answerFollowRequest approves (action=approve) or refuses a held follow.
func (s *Server) answerFollowRequest(w http.ResponseWriter, r *http.Request) {
	viewer := s.requireAdmin(w, r)
	if viewer == nil || !s.parseForm(w, r) {
		return
	}
	id, ok := parseIDParam(r, "id")
	if !ok || s.answerFollow == nil {
		s.notFound(w, r)
		return
	}
	err := s.answerFollow(r.Context(), id, r.PostForm.Get("action") == "approve")
	switch {
	case errors.Is(err, storage.ErrInvalid):
		s.errorPage(w, r, http.StatusBadRequest, formError(err))
		return
	case err != nil:
		s.storeError(w, r, err)
		return
	}
	s.redirect(w, r, "/admin/members")
}
