package web

import (
	"net/http"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

const mediaPerPage = 50

type adminMediaRow struct {
	ID, ThumbURL, Alt, Owner, Purpose string
	ThreadPath, ThreadTitle           string
	RemoteURL                         string
	Size                              string
	When                              string
}

type adminMediaData struct {
	Rows []adminMediaRow
	Next string
}

// adminMedia lists every image, newest first, for admins to remove one.
func (s *Server) adminMedia(w http.ResponseWriter, r *http.Request) error {
	var data adminMediaData
	list, next, err := beforePage(s, r, mediaPerPage, "/admin/media?before=", s.Store.ListMedia,
		func(m *storage.MediaListing) storage.ID { return m.ID })
	if err != nil {
		return err
	}
	data.Next = next
	for _, m := range list {
		row := adminMediaRow{ID: m.ID.String(), ThumbURL: s.newMediaView(&m.Media).ThumbURL, Alt: m.Description,
			Owner: "@" + m.Handle, Purpose: m.Purpose, RemoteURL: m.RemoteURL, Size: thousands(m.Size/1024 + 1),
			When: formatDateTime(m.CreatedAt)}
		if m.Domain != "" {
			row.Owner += "@" + m.Domain
		}
		if m.ThreadID != nil {
			row.ThreadPath, row.ThreadTitle = s.path(site.ThreadPath(*m.ThreadID)), m.ThreadTitle
		}
		data.Rows = append(data.Rows, row)
	}
	s.adminPage(w, r, http.StatusOK, "admin_media", "Images", "media", data)
	return nil
}

// removeMedia is an admin removing one image: its file goes, the post
// shows it no more, the audit log says who did it.
func (s *Server) removeMedia(w http.ResponseWriter, r *http.Request) error {
	if !s.parseForm(w, r) {
		return nil
	}
	admin := viewerFrom(r)
	id, ok := parseIDParam(r, "id")
	if !ok {
		return storage.ErrNotFound
	}
	if err := s.Store.RemoveMedia(r.Context(), admin.ID, id); err != nil {
		return err
	}
	s.mediaRemoved()
	s.redirect(w, r, "/admin/media")
	return nil
}

// mediaRemoved asks the media sweeper to delete trashed files soon.
func (s *Server) mediaRemoved() {
	if s.media != nil {
		s.media.Notify()
	}
}
