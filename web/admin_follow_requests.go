package web

import (
	"context"
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
func (s *Server) answerFollowRequest(w http.ResponseWriter, r *http.Request) error {
	if !s.parseForm(w, r) {
		return nil
	}
	id, ok := parseIDParam(r, "id")
	if !ok || s.answerFollow == nil {
		return storage.ErrNotFound
	}
	if err := s.answerFollow(r.Context(), id, r.PostForm.Get("action") == "approve"); err != nil {
		return err
	}
	s.redirect(w, r, "/admin/members")
	return nil
}
