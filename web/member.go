package web

import (
	"net/http"
	"regexp"

	"github.com/skein-forum/skein/storage"
)

type memberData struct {
	Member *storage.Account
	Posts  []storage.PostInThread
	Follow followBox
}

var handleShape = regexp.MustCompile(`^[A-Za-z0-9_]{1,30}$`)

// member shows a member's profile: name, bio, reputation, join date and
// recent posts.
func (s *Server) member(w http.ResponseWriter, r *http.Request) error {
	if s.serveActivityPub(w, r) {
		return nil
	}
	handle := r.PathValue("handle")
	if !handleShape.MatchString(handle) {
		return storage.ErrNotFound
	}
	ctx := r.Context()
	m, err := s.Store.MemberByHandle(ctx, handle)
	if err != nil {
		return err
	}
	if m.DeletedAt != nil {
		s.errorPage(w, r, http.StatusGone, "This account was deleted.")
		return nil
	}
	if m.ApprovalPending {
		s.notFound(w, r) // not a member yet
		return nil
	}
	if m.Suspended {
		s.errorPage(w, r, http.StatusGone, "This account is suspended.")
		return nil
	}
	posts, err := s.Store.RecentPostsByAuthor(ctx, m.ID, 0, 20)
	if err != nil {
		return err
	}
	p := &page{
		Title:       m.Name() + " (@" + m.Handle + ")",
		Description: m.Name() + " is a member of " + s.SiteName() + ".",
		Canonical:   s.URLs.Member(m.Handle),
		Alternate:   s.URLs.Member(m.Handle),
		OGType:      "profile",
		Viewer:      viewerFrom(r),
		Data: memberData{Member: m, Posts: posts,
			Follow: followBox{Handle: "@" + s.URLs.Handle(m.Handle), ActorURL: s.URLs.Member(m.Handle)}},
	}
	modified := m.CreatedAt
	if len(posts) > 0 {
		modified = posts[0].CreatedAt
	}
	// Profiles change with every like a member's posts get, anywhere:
	// they are rendered for each reader and only validated with ETags.
	s.renderCached(w, r, "member", p, modified, -1)
	return nil
}
