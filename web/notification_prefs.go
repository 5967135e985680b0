package web

import (
	"errors"
	"net/http"

	"github.com/skein-forum/skein/storage"
)

// The notification preferences page: for each kind of notification,
// whether it stays on the notifications page, comes by mail soon after
// (the mail waits a few minutes and leaves out what the member read on
// the web meanwhile), or waits for the daily digest.

type prefsData struct {
	Kinds    []prefRow
	SendMail bool // mail is on: the mail choices work
	Verified bool // the member has a confirmed address to send to
	Saved    bool
	Error    string
	Choices  []deliveryChoice
}

type prefRow struct {
	Kind     string
	Name     string // "Mentions of you"
	Delivery string
}

type deliveryChoice struct{ Value, Label string }

// deliveryChoices are the choices of every row, in the page's order.
var deliveryChoices = []deliveryChoice{
	{storage.DeliverWeb, "On the web only"},
	{storage.DeliverMail, "By mail at once"},
	{storage.DeliverDigest, "In the daily digest"},
}

func (s *Server) notificationPrefs(w http.ResponseWriter, r *http.Request) error {
	viewer := s.requireMember(w, r, "/settings/notifications")
	if viewer == nil {
		return nil
	}
	prefs, err := s.Store.NotificationPrefs(r.Context(), viewer.ID)
	if err != nil {
		return err
	}
	s.renderPrefs(w, r, http.StatusOK, viewer, prefs, "")
	return nil
}

func (s *Server) renderPrefs(w http.ResponseWriter, r *http.Request, status int, viewer *storage.Account, prefs map[string]string, msg string) {
	d := prefsData{SendMail: s.sendMail, Verified: viewer.Email != "" && viewer.EmailVerifiedAt != nil,
		Saved: r.URL.Query().Get("done") == "1" && msg == "", Error: msg, Choices: deliveryChoices}
	for _, k := range storage.NotificationKinds {
		name := storage.KindNames[k]
		d.Kinds = append(d.Kinds, prefRow{Kind: k, Name: upperFirst(name), Delivery: prefs[k]})
	}
	w.Header().Set("Cache-Control", "no-store")
	p := sitePage(r, "Notifications", "", s.URLs.Abs("/settings/notifications"), d)
	p.NoIndex = true
	s.render(w, r, status, "notification_prefs", p)
}

// saveNotificationPrefs stores every row of the form at once.
func (s *Server) saveNotificationPrefs(w http.ResponseWriter, r *http.Request) error {
	viewer := s.memberForm(w, r, "/settings/notifications")
	if viewer == nil {
		return nil
	}
	prefs := make(map[string]string, len(storage.NotificationKinds))
	for _, k := range storage.NotificationKinds {
		if d := r.PostForm.Get(k); d != "" {
			prefs[k] = d
		}
	}
	err := s.Store.SetNotificationPrefs(r.Context(), viewer.ID, prefs)
	if errors.Is(err, storage.ErrInvalid) {
		// Only a hand-made form gets here; show what it asked for.
		current, lerr := s.Store.NotificationPrefs(r.Context(), viewer.ID)
		if lerr != nil {
			return lerr
		}
		s.renderPrefs(w, r, http.StatusUnprocessableEntity, viewer, current, "Pick one of the three choices for each kind; nothing was changed.")
		return nil
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, "/settings/notifications?done=1")
	return nil
}
