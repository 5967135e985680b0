package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// Unread state is for members only: a guest's pages never look it up, so
// the guest thread page stays one cached lookup.

// threadRow is a thread in a list (a forum, the followed threads), with
// what the viewer has not read yet.
type threadRow struct {
	*storage.Thread
	New        int64  // posts after the viewer's read position; 0 for guests
	Unread     string // link to the first unread post, when New > 0
	ForumTitle string // set where rows come from several forums
	ForumLink  string
}

// threadRows adds the viewer's unread counts to threads.
func (s *Server) threadRows(r *http.Request, threads []storage.Thread) ([]threadRow, error) {
	rows := make([]threadRow, len(threads))
	for i := range threads {
		rows[i].Thread = &threads[i]
	}
	viewer := viewerFrom(r)
	if viewer == nil || len(threads) == 0 {
		return rows, nil
	}
	ids := make([]storage.ID, len(threads))
	for i := range threads {
		ids[i] = threads[i].ID
	}
	read, err := s.Store.ReadPositions(r.Context(), viewer.ID, ids)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		pos, seen := read[rows[i].ID]
		if seen && rows[i].PostCount > pos {
			rows[i].New = rows[i].PostCount - pos
			rows[i].Unread = s.path(site.ThreadPath(rows[i].ID) + "/unread")
		}
	}
	return rows, nil
}

// unread sends a member to the first post of the thread they have not
// read: the page and the anchor. A thread never opened starts at the top;
// one read to the end goes to its last post. Guests go to the thread.
func (s *Server) unread(w http.ResponseWriter, r *http.Request) error {
	id, ok := parseIDParam(r, "id")
	if !ok {
		return storage.ErrNotFound
	}
	ctx := r.Context()
	t, err := s.Store.ThreadByID(ctx, id)
	if err != nil || t.DeletedAt != nil {
		return errorOr(err, storage.ErrNotFound)
	}
	viewer := viewerFrom(r)
	if viewer == nil {
		http.Redirect(w, r, s.path(site.ThreadPath(id)), http.StatusFound)
		return nil
	}
	read, err := s.Store.ReadPositions(ctx, viewer.ID, []storage.ID{id})
	if err != nil {
		return err
	}
	pos := min(read[id]+1, t.PostCount)
	p, err := s.Store.PostAtPosition(ctx, id, max(pos, 1))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.path(site.PostPermalinkPath(p)), http.StatusFound)
	return nil
}

// followThread follows (on=1) or stops following (on=0) a thread on this
// node: followed threads are listed, with what is new, at /followed.
func (s *Server) followThread(w http.ResponseWriter, r *http.Request) error {
	s.toggleThread(w, r, func(ctx context.Context, member, thread storage.ID, on bool) error {
		if !on {
			_, err := s.Store.RemoveFollow(ctx, member, storage.FollowThread, thread)
			return err
		}
		// Following a muted thread means wanting to hear of it again.
		if err := s.Store.MuteThread(ctx, member, thread, false); err != nil {
			return err
		}
		_, err := s.Store.AddFollow(ctx, member, storage.FollowThread, thread, nil, true)
		return err
	})
	return nil
}

// toggleThread answers a thread's on/off buttons (follow, mute): it
// checks the thread, applies on=1 or off for the member and goes back to
// the page the button was on.
func (s *Server) toggleThread(w http.ResponseWriter, r *http.Request, apply func(ctx context.Context, member, thread storage.ID, on bool) error) {
	id, ok := parseIDParam(r, "id")
	if !ok {
		s.notFound(w, r)
		return
	}
	viewer := s.memberForm(w, r, site.ThreadPath(id))
	if viewer == nil {
		return
	}
	ctx := r.Context()
	t, err := s.Store.ThreadByID(ctx, id)
	if err != nil || t.DeletedAt != nil {
		s.answer(w, r, errorOr(err, storage.ErrNotFound))
		return
	}
	if err := apply(ctx, viewer.ID, id, r.PostForm.Get("on") == "1"); err != nil {
		s.serverError(w, r, err)
		return
	}
	back := site.ThreadPath(id)
	if n, err := strconv.ParseInt(r.PostForm.Get("page"), 10, 64); err == nil && n > 1 {
		back = site.ThreadPagePath(id, n)
	}
	s.redirect(w, r, back)
}

type followedData struct {
	Forums  []storage.Forum
	Threads []threadRow
}

const followedListLen = 100

// followed lists the threads the member follows, latest activity first,
// with what is new in each.
func (s *Server) followed(w http.ResponseWriter, r *http.Request) error {
	viewer := s.requireMember(w, r, "/followed")
	if viewer == nil {
		return nil
	}
	threads, err := s.Store.FollowedThreads(r.Context(), viewer.ID, followedListLen)
	if err != nil {
		return err
	}
	rows, err := s.threadRows(r, threads)
	if err != nil {
		return err
	}
	forums, err := s.Store.FollowedForums(r.Context(), viewer.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-store")
	s.render(w, r, http.StatusOK, "followed", sitePage(r, "Threads you follow", "The threads you follow on "+s.SiteName()+".",
		s.URLs.Abs("/followed"), followedData{Forums: forums, Threads: rows}))
	return nil
}
