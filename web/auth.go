package web

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/skein-forum/skein/storage"
)

const (
	minPasswordLen = 10
	maxPasswordLen = 1000 // argon2 takes any length; this bounds the work
	maxDisplayName = 100
)

// registerForm is the registration form; the password is never echoed.
type registerForm struct {
	Handle       string
	DisplayName  string
	Email        string
	AskEmail     bool // mail is on: the address can be verified
	RequireEmail bool
	Next         string
	Errors       map[string]string // field name → message
}

func (s *Server) registerForm(w http.ResponseWriter, r *http.Request) error {
	if !s.AcceptsRegistrations() {
		s.forbidden(w, r, "Registration on this forum is closed.")
		return nil
	}
	s.renderRegister(w, r, http.StatusOK, registerForm{Next: localPath(r.URL.Query().Get("next"))})
	return nil
}

func (s *Server) renderRegister(w http.ResponseWriter, r *http.Request, status int, form registerForm) {
	form.AskEmail, form.RequireEmail = s.sendMail || s.requireEmail, s.requireEmail
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "register", sitePage(r, "Register", "Become a member of "+s.SiteName()+".", s.URLs.Abs("/register"), form))
}

// register creates a member and signs them in.
func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	if !s.AcceptsRegistrations() {
		s.forbidden(w, r, "Registration on this forum is closed.")
		return nil
	}
	if !s.parseForm(w, r) {
		return nil
	}
	// Hashing a password is deliberately slow; a client gets as many tries
	// here as at signing in.
	if !allow(s.ipLimit, s.clientIP(r)) {
		s.tooManyAttempts(w, r)
		return nil
	}
	f := r.PostForm
	form := registerForm{
		Handle:      strings.ToLower(strings.TrimSpace(f.Get("handle"))),
		DisplayName: strings.TrimSpace(f.Get("display_name")),
		Email:       strings.TrimSpace(f.Get("email")),
		Next:        localPath(f.Get("next")),
		Errors:      map[string]string{},
	}
	password := f.Get("password")
	if msg := s.checkEmail(form.Email, s.requireEmail); msg != "" {
		form.Errors["email"] = msg
	}
	if err := storage.ValidateHandle(form.Handle); err != nil {
		form.Errors["handle"] = handleError(err)
	}
	if utf8.RuneCountInString(form.DisplayName) > maxDisplayName || !utf8.ValidString(form.DisplayName) {
		form.Errors["display_name"] = "A display name is at most 100 characters."
	}
	switch n := utf8.RuneCountInString(password); {
	case n < minPasswordLen:
		form.Errors["password"] = "A password needs at least 10 characters."
	case n > maxPasswordLen:
		form.Errors["password"] = "That password is too long."
	case password != f.Get("password2"):
		form.Errors["password2"] = "The two passwords differ."
	}
	if len(form.Errors) > 0 {
		s.renderRegister(w, r, http.StatusUnprocessableEntity, form)
		return nil
	}
	hash, err := storage.HashPassword(password)
	if err != nil {
		return err
	}
	approval := s.Registration == RegistrationApproval
	nm := storage.NewMember{Handle: form.Handle, DisplayName: form.DisplayName, Email: form.Email,
		PasswordHash: hash, ApprovalPending: approval}
	s.registrationMail(&nm)
	m, err := s.Store.CreateMember(r.Context(), nm)
	if errors.Is(err, storage.ErrNameTaken) || errors.Is(err, storage.ErrInvalid) {
		form.Errors["handle"] = handleError(err)
		s.renderRegister(w, r, http.StatusUnprocessableEntity, form)
		return nil
	}
	if err != nil {
		return err
	}
	s.mailQueued()
	sent := ""
	if nm.VerifyMail != nil && m.Email != "" {
		sent = " We sent a link to " + m.Email + " to confirm your address."
	}
	if approval {
		s.notice(w, r, http.StatusOK, "Registration received",
			"Thank you, "+m.Name()+". An administrator will look at your registration; once it is approved you can sign in as "+m.Handle+"."+sent)
		return nil
	}
	if s.requireEmail {
		s.notice(w, r, http.StatusOK, "Confirm your address",
			"Thank you, "+m.Name()+"."+sent+" Follow it, then sign in as "+m.Handle+".")
		return nil
	}
	s.startSession(w, r, m, form.Next)
	return nil
}

func handleError(err error) string {
	if errors.Is(err, storage.ErrReserved) {
		return "That name is reserved; try another."
	}
	if errors.Is(err, storage.ErrNameTaken) {
		return "That name is taken; try another."
	}
	return "A handle is 1 to 30 lower-case letters, digits or underscores."
}

// signInForm is the sign-in form; the password is never echoed.
type signInForm struct {
	Handle       string
	Next         string
	Error        string
	Registration bool
	Forgot       bool // mail is on: offer the password reset
	Unverified   bool // offer a new verification link
}

func (s *Server) signInForm(w http.ResponseWriter, r *http.Request) error {
	s.renderSignIn(w, r, http.StatusOK, signInForm{Next: localPath(r.URL.Query().Get("next"))})
	return nil
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, form signInForm) {
	form.Registration = s.AcceptsRegistrations()
	form.Forgot = s.sendMail
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "signin", sitePage(r, "Sign in", "Sign in to "+s.SiteName()+".", s.URLs.Abs("/signin"), form))
}

// dummyHash is checked when the handle is unknown, so a wrong handle
// takes as long as a wrong password and does not reveal who is a member.
var dummyHash = sync.OnceValue(func() string {
	h, _ := storage.HashPassword("skein: no such member")
	return h
})

// signIn checks a handle and password. Failed attempts slow down the
// address that makes them, per account and overall (see
// storage.Store.BeginSignIn); the owner's own address is never refused
// because of another's guesses.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) error {
	if !s.parseForm(w, r) {
		return nil
	}
	form := signInForm{
		Handle: strings.ToLower(strings.TrimSpace(r.PostForm.Get("handle"))),
		Next:   localPath(r.PostForm.Get("next")),
	}
	password := r.PostForm.Get("password")
	if len(form.Handle) > 100 {
		form.Handle = form.Handle[:100]
	}
	addr := s.clientIP(r)
	wait, err := s.Store.BeginSignIn(r.Context(), s.SignInLimits, addr, form.Handle, s.now())
	if err != nil {
		return err
	}
	if wait > 0 {
		s.signInDelayed(w, r, wait)
		return nil
	}
	m, err := s.Store.MemberByHandle(r.Context(), form.Handle)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		_ = storage.CheckPassword(dummyHash(), password)
	case err != nil:
		return err
	}
	if m == nil || len(password) > 4*maxPasswordLen || storage.CheckPassword(m.PasswordHash, password) != nil {
		form.Error = "That handle and password do not match."
		s.renderSignIn(w, r, http.StatusUnauthorized, form)
		return nil
	}
	if err := s.Store.SignInSucceeded(r.Context(), s.SignInLimits, addr, form.Handle); err != nil {
		return err
	}
	if m.Suspended {
		form.Error = "This account is suspended."
		s.renderSignIn(w, r, http.StatusForbidden, form)
		return nil
	}
	if m.ApprovalPending {
		form.Error = "Your registration is waiting for an administrator's approval."
		s.renderSignIn(w, r, http.StatusForbidden, form)
		return nil
	}
	if s.requireEmail && m.EmailVerifiedAt == nil && !m.IsAdmin() {
		form.Error = "Confirm your address first: follow the link we sent you. No mail? Ask for a new link below."
		form.Unverified = true
		s.renderSignIn(w, r, http.StatusForbidden, form)
		return nil
	}
	s.startSession(w, r, m, form.Next)
	return nil
}

// signInDelayed answers an attempt made before the address's wait is
// over, saying how long is left.
func (s *Server) signInDelayed(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	when := strconv.Itoa(secs) + " seconds"
	if secs >= 120 {
		when = strconv.Itoa((secs+59)/60) + " minutes"
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.errorPage(w, r, http.StatusTooManyRequests,
		"Too many failed sign-ins from your address. Wait "+when+", then try again.")
}

func (s *Server) tooManyAttempts(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusTooManyRequests,
		"Too many sign-in attempts from here or for this account. Wait a minute, then try again.")
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, m *storage.Account, next string) {
	token, err := s.Store.CreateSession(r.Context(), m.ID, sessionTTL)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.setSessionCookie(w, token)
	s.redirect(w, r, next)
}

// signOut ends this browser's session.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.Store.DeleteSession(r.Context(), c.Value); err != nil {
			return err
		}
	}
	s.clearSessionCookie(w)
	s.redirect(w, r, "/")
	return nil
}
