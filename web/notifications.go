package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// notificationsPerPage is how many notifications a page lists.
const notificationsPerPage = 30

type notificationsData struct {
	Entries []notificationView
	// Newest is the id of the newest notification listed on the first
	// page: "mark all read" marks up to it, so one that arrives while the
	// member reads stays unread.
	Newest string
	Unread bool   // the member has unread notifications
	Older  string // path of the next page, if any
}

// notificationView is one entry as the page shows it.
type notificationView struct {
	ID     string
	Unread bool
	// Open marks the notification read and goes to what it is about: the
	// post in its thread, or for a follow the follower's profile.
	Open      string
	ActorName string
	ActorLink string
	Verb      string // "replied to your post in"
	Title     string // the thread's title; empty for a follow
	Excerpt   string // the post's start, or its content warning
	When, At  string
	IsFollow  bool // a follow: the actor's name is the link that opens it
}

// notifications lists the signed-in member's notifications, newest first,
// unread ones marked; ?before= pages on.
func (s *Server) notifications(w http.ResponseWriter, r *http.Request) error {
	viewer := s.requireMember(w, r, "/notifications")
	if viewer == nil {
		return nil
	}
	first := false // the newest page, kept from the list read
	entries, older, err := beforePage(s, r, notificationsPerPage, "/notifications?before=",
		func(ctx context.Context, before storage.ID, n int) ([]storage.NotificationEntry, error) {
			first = before == 0
			return s.Store.Notifications(ctx, viewer.ID, before, n)
		}, func(e *storage.NotificationEntry) storage.ID { return e.ID })
	if err != nil {
		return err
	}
	data := notificationsData{Unread: viewer.UnreadNotifications > 0, Older: older}
	if len(entries) > 0 && first {
		data.Newest = entries[0].ID.String()
	}
	for i := range entries {
		data.Entries = append(data.Entries, s.newNotificationView(&entries[i]))
	}
	w.Header().Set("Cache-Control", "private, no-store")
	p := sitePage(r, "Notifications", "Your notifications on "+s.SiteName()+".", s.URLs.Abs("/notifications"), data)
	p.NoIndex, p.Next = true, data.Older
	s.render(w, r, http.StatusOK, "notifications", p)
	return nil
}

func (s *Server) newNotificationView(e *storage.NotificationEntry) notificationView {
	v := notificationView{
		ID:     e.ID.String(),
		Unread: e.ReadAt == nil,
		Open:   s.path("/notifications/" + e.ID.String()),
		Verb:   storage.KindVerbs[e.Kind],
		Title:  e.ThreadTitle,
		When:   formatDate(e.CreatedAt),
		At:     formatDateTime(e.CreatedAt),
	}
	if v.Verb == "" {
		v.Verb = "notified you about"
	}
	if a := e.Actor; a != nil {
		v.ActorName, v.ActorLink = a.Name(), s.authorLink(a)
	}
	if e.Kind == storage.NotifyFollow || e.PostID == 0 {
		v.Title, v.IsFollow = "", true
	}
	if e.Post != nil && !e.Post.IsDeleted() {
		v.Excerpt = e.Post.Description(160)
	}
	return v
}

// openNotification marks a notification read and sends the member to
// what it is about.
func (s *Server) openNotification(w http.ResponseWriter, r *http.Request) error {
	id, ok := parseIDParam(r, "id")
	if !ok {
		return storage.ErrNotFound
	}
	viewer := s.requireMember(w, r, "/notifications/"+id.String())
	if viewer == nil {
		return nil
	}
	ctx := r.Context()
	n, err := s.Store.ReadNotification(ctx, viewer.ID, id)
	if err != nil {
		return err
	}
	if n.PostID != 0 {
		p, err := s.Store.PostByID(ctx, n.PostID)
		if err == nil && !p.IsDeleted() {
			s.redirect(w, r, site.PostPermalinkPath(p))
			return nil
		}
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		s.redirect(w, r, "/notifications")
		return nil
	}
	a, err := s.Store.AccountByID(ctx, n.ActorID)
	if err != nil {
		return err
	}
	if link := s.authorLink(a); link != "" {
		http.Redirect(w, r, link, http.StatusSeeOther)
		return nil
	}
	s.redirect(w, r, "/notifications")
	return nil
}

// readNotification marks one notification read from its button.
func (s *Server) readNotification(w http.ResponseWriter, r *http.Request) error {
	id, ok := parseIDParam(r, "id")
	if !ok {
		return storage.ErrNotFound
	}
	viewer := s.requireMember(w, r, "/notifications")
	if viewer == nil {
		return nil
	}
	if _, err := s.Store.ReadNotification(r.Context(), viewer.ID, id); err != nil {
		return err
	}
	s.redirect(w, r, "/notifications")
	return nil
}

// readAllNotifications marks every notification read, up to the newest
// the page showed.
func (s *Server) readAllNotifications(w http.ResponseWriter, r *http.Request) error {
	viewer := s.memberForm(w, r, "/notifications")
	if viewer == nil {
		return nil
	}
	upTo := optionalID(r.PostForm.Get("up_to"))
	if upTo == nil {
		upTo = new(storage.ID)
	}
	if _, err := s.Store.ReadAllNotifications(r.Context(), viewer.ID, *upTo); err != nil {
		return err
	}
	s.redirect(w, r, "/notifications")
	return nil
}
