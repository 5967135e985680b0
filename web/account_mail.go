package web

import (
	"errors"
	"net/http"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/skein-forum/skein/mail"
	"github.com/skein-forum/skein/storage"
)

// Account pages that work through mail: confirming an address, and the
// forgotten password. Their links carry a single-use token
// ([storage.Store.IssueToken]); a GET only shows what the link will do and
// a POST does it, so a mail scanner that opens links changes nothing.

// Limits on mail a visitor can make the node send, counted in the
// database so every process shares them ([storage.Store.Hit]).
const (
	mailLimitWindow  = time.Hour
	resetPerAddress  = 3  // reset mails to one address an hour
	resetPerClient   = 10 // reset requests from one client address an hour
	verifyPerAccount = 5  // verification mails for one member an hour
)

const maxEmailLen = 254 // RFC 5321's limit on a forward path

// checkEmail validates an address typed into a form; it returns the
// message to show beside the field, or "".
func (s *Server) checkEmail(addr string, required bool) string {
	if addr == "" {
		if required {
			return "This forum needs your mail address."
		}
		return ""
	}
	a, err := netmail.ParseAddress(addr)
	if err != nil || a.Address != addr || len(addr) > maxEmailLen || !strings.Contains(addr[strings.LastIndexByte(addr, '@')+1:], ".") &&
		!strings.HasSuffix(addr, "@localhost") {
		return "That does not look like a mail address."
	}
	return ""
}

// registrationMail sets the mails a registration queues: the link that
// verifies the address, and in approval mode the admins' notice.
func (s *Server) registrationMail(nm *storage.NewMember) {
	if !s.sendMail {
		return
	}
	nm.VerifyTTL = mail.VerifyLinkTTL
	nm.VerifyMail = func(token string) (storage.NewMail, error) {
		return s.mail.VerifyEmail(&storage.Account{Handle: nm.Handle, DisplayName: nm.DisplayName}, nm.Email, token)
	}
	if nm.ApprovalPending {
		applicant := &storage.Account{Handle: nm.Handle}
		nm.AdminMail = func(admin *storage.Account) (storage.NewMail, error) {
			return s.mail.Application(admin, applicant)
		}
	}
}

// allowMail counts a request that sends mail against key's hourly limit.
// On a database error it refuses: mail that may flood someone's inbox
// waits for a working limit.
func (s *Server) allowMail(r *http.Request, key string, limit int) bool {
	n, err := s.Store.Hit(r.Context(), key, mailLimitWindow, time.Now())
	if err != nil {
		s.Log.Error("mail rate limit", "key", key, "err", err)
		return false
	}
	return n <= limit
}

// tokenPage is the page a link from a mail opens.
type tokenPage struct {
	Action  string // form action; empty when the link no longer works
	Heading string
	Message string
	Button  string
	Reset   bool // ask for a new password
	Errors  map[string]string
}

func (s *Server) renderToken(w http.ResponseWriter, r *http.Request, status int, d tokenPage) {
	w.Header().Set("Cache-Control", "no-store")
	// The token is in the path: keep it out of other sites' logs.
	w.Header().Set("Referrer-Policy", "no-referrer")
	p := sitePage(r, d.Heading, "", "", d)
	p.NoIndex = true
	s.render(w, r, status, "token", p)
}

// tokenError is the page for a link that does not work (any more).
func (s *Server) tokenError(w http.ResponseWriter, r *http.Request, err error, again string) {
	d := tokenPage{Heading: "This link does not work"}
	status := http.StatusNotFound
	switch {
	case errors.Is(err, storage.ErrTokenUsed):
		d.Message, status = "This link was used already; each link works once. "+again, http.StatusGone
	case errors.Is(err, storage.ErrTokenExpired):
		d.Message, status = "This link has expired. "+again, http.StatusGone
	case errors.Is(err, storage.ErrNotFound):
		d.Message = "This link is not known here: it may have been replaced by a newer one, or copied incompletely. " + again
	default:
		s.serverError(w, r, err)
		return
	}
	s.renderToken(w, r, status, d)
}

// verifyEmailPage shows the button that confirms an address.
func (s *Server) verifyEmailPage(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	t, a, err := s.Store.CheckToken(r.Context(), storage.TokenVerifyEmail, token)
	if err != nil {
		s.tokenError(w, r, err, "Ask for a new link in your settings.")
		return nil
	}
	s.renderToken(w, r, http.StatusOK, tokenPage{
		Action:  mail.VerifyPath + token,
		Heading: "Confirm your address",
		Message: "Confirm " + t.Email + " as the address of " + a.Handle + ".",
		Button:  "Confirm my address",
	})
	return nil
}

// verifyEmail confirms the address.
func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Store.VerifyEmail(r.Context(), r.PathValue("token"), func(a *storage.Account, old string) (storage.NewMail, error) {
		return s.mail.EmailChanged(a, old)
	})
	if errors.Is(err, storage.ErrAddressTaken) {
		s.renderToken(w, r, http.StatusConflict, tokenPage{Heading: "Address in use",
			Message: "That address is already the address of another account here. Use another one, or sign in to that account."})
		return nil
	}
	if err != nil {
		s.tokenError(w, r, err, "Ask for a new link in your settings.")
		return nil
	}
	s.mailQueued()
	next := "You can sign in now."
	if v := viewerFrom(r); v != nil && v.ID == a.ID {
		next = "Thank you."
	}
	s.notice(w, r, http.StatusOK, "Address confirmed", a.Email+" is confirmed as your address. "+next)
	return nil
}

type forgotForm struct {
	Email  string
	Error  string
	Mailed bool
}

func (s *Server) forgotPasswordForm(w http.ResponseWriter, r *http.Request) error {
	s.renderForgot(w, r, http.StatusOK, forgotForm{})
	return nil
}

func (s *Server) renderForgot(w http.ResponseWriter, r *http.Request, status int, form forgotForm) {
	if !s.sendMail {
		s.notice(w, r, http.StatusNotFound, "No password reset here",
			"This forum sends no mail, so it cannot reset passwords by mail. Ask an administrator to set a new password for you.")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.renderPage(w, r, status, "forgot", "Forgot your password?", s.URLs.Abs("/forgot-password"), form)
}

// forgotPassword mails a reset link to the member whose verified address
// (or handle) was typed. The answer is the same whether or not there is
// such a member, so the form tells nobody who is one.
func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request) error {
	if !s.sendMail {
		s.renderForgot(w, r, http.StatusNotFound, forgotForm{})
		return nil
	}
	if !s.parseForm(w, r) {
		return nil
	}
	form := forgotForm{Email: strings.TrimSpace(r.PostForm.Get("email"))}
	if form.Email == "" || len(form.Email) > maxEmailLen || !utf8.ValidString(form.Email) {
		form.Error = "Type the address of your account, or your handle."
		s.renderForgot(w, r, http.StatusUnprocessableEntity, form)
		return nil
	}
	if !s.allowMail(r, "reset-client:"+s.clientIP(r), resetPerClient) {
		s.errorPage(w, r, http.StatusTooManyRequests, "Too many password reset requests from here. Wait an hour, then try again.")
		return nil
	}
	var m *storage.Account
	var err error
	if strings.Contains(form.Email, "@") {
		m, err = s.Store.MemberByVerifiedEmail(r.Context(), form.Email)
	} else {
		m, err = s.Store.MemberByHandle(r.Context(), strings.ToLower(form.Email))
		if err == nil && (m.EmailVerifiedAt == nil || m.Email == "" || m.DeletedAt != nil) {
			m = nil
		}
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if m != nil && !m.Suspended && s.allowMail(r, "reset-address:"+strings.ToLower(m.Email), resetPerAddress) {
		err := s.Store.IssueToken(r.Context(), m.ID, storage.TokenResetPassword, "", mail.ResetLinkTTL,
			func(token string) (storage.NewMail, error) { return s.mail.ResetPassword(m, token) })
		if err != nil {
			return err
		}
		s.mailQueued()
	}
	s.renderForgot(w, r, http.StatusOK, forgotForm{Mailed: true, Email: form.Email})
	return nil
}

// resetPasswordPage asks for the new password, if the link works.
func (s *Server) resetPasswordPage(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	_, a, err := s.Store.CheckToken(r.Context(), storage.TokenResetPassword, token)
	if err != nil {
		s.tokenError(w, r, err, `Ask for a new one on the "Forgot your password?" page.`)
		return nil
	}
	s.renderToken(w, r, http.StatusOK, tokenPage{Action: mail.ResetPath + token, Heading: "Choose a new password",
		Message: "Choose the new password of " + a.Handle + ". Every other browser signed in as " + a.Handle + " is signed out.",
		Button:  "Set the new password", Reset: true})
	return nil
}

// resetPassword sets the new password, ends every session of the member
// and signs this browser in.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	if !s.parseForm(w, r) {
		return nil
	}
	password := r.PostForm.Get("password")
	if msg := passwordError(password, r.PostForm.Get("password2")); msg != "" {
		_, a, err := s.Store.CheckToken(r.Context(), storage.TokenResetPassword, token)
		if err != nil {
			s.tokenError(w, r, err, `Ask for a new one on the "Forgot your password?" page.`)
			return nil
		}
		s.renderToken(w, r, http.StatusUnprocessableEntity, tokenPage{Action: mail.ResetPath + token,
			Heading: "Choose a new password", Message: "Choose the new password of " + a.Handle + ".",
			Button: "Set the new password", Reset: true, Errors: map[string]string{"password": msg}})
		return nil
	}
	hash, err := storage.HashPassword(password)
	if err != nil {
		return err
	}
	m, err := s.Store.ResetPassword(r.Context(), token, hash)
	if err != nil {
		s.tokenError(w, r, err, `Ask for a new one on the "Forgot your password?" page.`)
		return nil
	}
	if m.Suspended || m.ApprovalPending {
		s.notice(w, r, http.StatusOK, "Password changed", "Your password is changed.")
		return nil
	}
	s.startSession(w, r, m, "/settings?done=password")
	return nil
}

// passwordError checks a new password and its repetition; it returns
// the message to show, or "".
func passwordError(password, again string) string {
	switch n := utf8.RuneCountInString(password); {
	case n < minPasswordLen:
		return "A password needs at least 10 characters."
	case n > maxPasswordLen:
		return "That password is too long."
	case password != again:
		return "The two passwords differ."
	}
	return ""
}
