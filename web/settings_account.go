package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/skein-forum/skein/mail"
	"github.com/skein-forum/skein/storage"
)

// The account part of /settings: the mail address (changed only once
// the new one is verified) and the password (the current one required;
// every other session ends).

// accountSettings is what the settings page shows of the account.
type accountSettings struct {
	Email            string
	EmailVerified    bool
	PendingEmail     string // an address waiting for its link to be followed
	SendMail         bool
	Admin            bool
	MailApplications settingToggle
	Watching         settingToggle
	TimeZone         string
	DigestHour       int
	Hours            []int
	Done             string // what was just saved: "password", "email", "mail", "watching", "schedule"
}

func (s *Server) accountSettingsOf(r *http.Request, viewer *storage.Account) accountSettings {
	a := accountSettings{Email: viewer.Email, EmailVerified: viewer.EmailVerifiedAt != nil, SendMail: s.sendMail,
		Admin: viewer.IsAdmin(), TimeZone: viewer.TimeZone, DigestHour: viewer.DigestHour}
	for h := range 24 {
		a.Hours = append(a.Hours, h)
	}
	if pending, err := s.Store.PendingEmail(r.Context(), viewer.ID); err == nil {
		a.PendingEmail = pending
	} else {
		s.Log.Warn("pending address", "member", viewer.Handle, "err", err)
	}
	switch d := r.URL.Query().Get("done"); d {
	case "password", "email", "mail", "watching", "schedule":
		a.Done = d
	}
	a.Watching = settingToggle{Name: "watching", Heading: "Following", Field: "auto_watch",
		Label: "Follow the threads I start or reply to", On: viewer.AutoWatch, Saved: a.Done == "watching"}
	a.MailApplications = settingToggle{Name: "mail", Heading: "Mail", Field: "applications",
		Label: "Mail me when a registration waits for approval", On: viewer.MailApplications, Saved: a.Done == "mail"}
	return a
}

// settingToggle is an on/off setting of /settings: a form of one
// checkbox, Field, posted to /settings/{Name} ([Server.saveToggle]),
// which comes back to /settings?done={Name}.
type settingToggle struct {
	Name, Heading, Field, Label string
	On, Saved                   bool
}

// saveToggle stores the checkbox of a [settingToggle] with set and goes
// back to /settings, saying it was saved.
func (s *Server) saveToggle(w http.ResponseWriter, r *http.Request, name, field string,
	set func(ctx context.Context, accountID storage.ID, on bool) error) error {
	viewer := s.memberForm(w, r, "/settings")
	if viewer == nil {
		return nil
	}
	if err := set(r.Context(), viewer.ID, r.PostForm.Get(field) == "on"); err != nil {
		return err
	}
	s.redirect(w, r, "/settings?done="+name)
	return nil
}

// changeEmail sends a verification link to a new address; the address
// changes when the link is followed. Sent again for the same address, it
// is the "send me a new link" button.
func (s *Server) changeEmail(w http.ResponseWriter, r *http.Request) error {
	viewer := s.memberForm(w, r, "/settings")
	if viewer == nil {
		return nil
	}
	if !s.sendMail {
		s.notice(w, r, http.StatusNotFound, "No mail here", "This forum sends no mail, so it cannot confirm an address.")
		return nil
	}
	addr := strings.TrimSpace(r.PostForm.Get("email"))
	if msg := s.checkEmail(addr, true); msg != "" {
		s.renderSettingsError(w, r, viewer, "email", msg)
		return nil
	}
	if viewer.EmailVerifiedAt != nil && strings.EqualFold(addr, viewer.Email) {
		s.renderSettingsError(w, r, viewer, "email", "That is your address already.")
		return nil
	}
	if !s.allowMail(r, "verify-member:"+viewer.ID.String(), verifyPerAccount) {
		s.renderSettingsError(w, r, viewer, "email", "We sent several links within the hour already. Wait a while, then ask again.")
		return nil
	}
	err := s.Store.IssueToken(r.Context(), viewer.ID, storage.TokenVerifyEmail, addr, mail.VerifyLinkTTL,
		func(token string) (storage.NewMail, error) { return s.mail.VerifyEmail(viewer, addr, token) })
	if err != nil {
		return err
	}
	s.mailQueued()
	s.redirect(w, r, "/settings?done=email")
	return nil
}

// changePassword replaces the password when the current one is right,
// and ends every other session of the member.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	viewer := s.passwordForm(w, r)
	if viewer == nil {
		return nil
	}
	current := r.PostForm.Get("current_password")
	if len(current) > 4*maxPasswordLen || storage.CheckPassword(viewer.PasswordHash, current) != nil {
		s.renderSettingsError(w, r, viewer, "current_password", "That is not your current password; nothing was changed.")
		return nil
	}
	password := r.PostForm.Get("password")
	if msg := passwordError(password, r.PostForm.Get("password2")); msg != "" {
		s.renderSettingsError(w, r, viewer, "password", msg)
		return nil
	}
	hash, err := storage.HashPassword(password)
	if err != nil {
		return err
	}
	keep := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		keep = c.Value
	}
	if err := s.Store.ChangePassword(r.Context(), viewer.ID, hash, keep); err != nil {
		return err
	}
	s.redirect(w, r, "/settings?done=password")
	return nil
}

// saveMailSettings turns an admin's mail about registrations on or off.
func (s *Server) saveMailSettings(w http.ResponseWriter, r *http.Request) error {
	return s.saveToggle(w, r, "mail", "applications", s.Store.SetMailApplications)
}

// saveSchedule stores the member's time zone and digest hour.
func (s *Server) saveSchedule(w http.ResponseWriter, r *http.Request) error {
	viewer := s.memberForm(w, r, "/settings")
	if viewer == nil {
		return nil
	}
	hour, err := strconv.Atoi(r.PostForm.Get("digest_hour"))
	if err != nil {
		hour = -1
	}
	err = s.Store.SetMailSchedule(r.Context(), viewer.ID, strings.TrimSpace(r.PostForm.Get("time_zone")), hour)
	if errors.Is(err, storage.ErrInvalid) {
		s.renderSettingsError(w, r, viewer, "time_zone", "Type a time zone such as Europe/Paris or America/New_York, and pick an hour.")
		return nil
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, "/settings?done=schedule")
	return nil
}

// renderSettingsError shows the settings page again with one message
// beside the field that caused it.
func (s *Server) renderSettingsError(w http.ResponseWriter, r *http.Request, viewer *storage.Account, field, msg string) {
	s.renderSettings(w, r, http.StatusUnprocessableEntity, settingsForm{DisplayName: viewer.DisplayName,
		Bio: bioText(viewer.Bio), Errors: map[string]string{field: msg}})
}

// unsubscribePage shows what an unsubscribe link stops, with the button
// that does it: mail scanners open links, and must not unsubscribe
// anyone by doing so.
func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	_, _, what, ok := s.unsubscribeToken(token)
	if !ok {
		return storage.ErrNotFound
	}
	s.renderToken(w, r, http.StatusOK, tokenPage{Action: mail.UnsubscribePath + token, Heading: "Stop these mails?",
		Message: "Stop " + what + ". You can turn it on again in your settings.", Button: "Stop these mails"})
	return nil
}

// unsubscribe stops the mail: from the page's button, or from a mail
// client's one-click POST (RFC 8058), which comes without a session.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	if !s.parseForm(w, r) {
		return nil
	}
	id, scope, what, ok := s.unsubscribeToken(token)
	if !ok {
		return storage.ErrNotFound
	}
	if err := s.Store.Unsubscribe(r.Context(), id, scope); err != nil {
		return err
	}
	s.notice(w, r, http.StatusOK, "Unsubscribed", "Done: no more "+what+". You can turn it on again in your settings.")
	return nil
}

// unsubscribeToken checks a token and says whom and what it stops.
func (s *Server) unsubscribeToken(token string) (id storage.ID, scope, what string, ok bool) {
	if s.mail == nil {
		return 0, "", "", false
	}
	if id, scope, ok = s.mail.ParseUnsubscribe(token); !ok {
		return 0, "", "", false
	}
	what, ok = storage.DescribeUnsubscribe(scope)
	return id, scope, what, ok
}
