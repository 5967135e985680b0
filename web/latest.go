package web

import (
	"context"
	"net/http"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

type latestData struct {
	Threads []threadRow
	Next    string // the next (older) page; "" on the last
	IsFirst bool
}

// latest lists recent threads across every forum, with the member's
// unread counts, newest activity first.
func (s *Server) latest(w http.ResponseWriter, r *http.Request) error {
	var before storage.ID // the page's key, kept from the list read
	threads, next, err := beforePage(s, r, threadsPerPage, "/latest?before=",
		func(ctx context.Context, b storage.ID, n int) ([]storage.Thread, error) {
			before = b
			return s.Store.ListLatestThreads(ctx, b, n)
		}, func(t *storage.Thread) storage.ID { return t.LastPostID })
	if err != nil {
		return err
	}
	ctx := r.Context()
	forums, err := s.Store.ListForums(ctx)
	if err != nil {
		return err
	}
	byID := make(map[storage.ID]*storage.Forum, len(forums))
	for i := range forums {
		byID[forums[i].ID] = &forums[i]
	}
	data := latestData{IsFirst: before == 0, Next: next}
	p := sitePage(r, "Latest", "The latest threads in every forum of "+s.SiteName()+".", s.URLs.Abs("/latest"), nil)
	p.Next = data.Next
	if before != 0 {
		p.Canonical += "?before=" + before.String()
		p.Prev = s.path("/latest")
	}
	if data.Threads, err = s.threadRows(r, threads); err != nil {
		return err
	}
	for i := range data.Threads {
		if f := byID[data.Threads[i].ForumID]; f != nil {
			data.Threads[i].ForumTitle, data.Threads[i].ForumLink = f.Title, s.path(site.ForumPath(f.Slug))
		}
	}
	p.Data = data
	w.Header().Set("Cache-Control", "private, no-cache")
	s.render(w, r, http.StatusOK, "latest", p)
	return nil
}
