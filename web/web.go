// Package web renders Skein's forum as server-side HTML: the home page,
// forums, threads, member profiles, registration and sign-in, and the
// forms that post, edit, like and moderate. Every page works without
// JavaScript. The same URLs answer ActivityPub documents; web hands those
// requests to the federation handler it is given and never builds JSON
// itself.
package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/skein-forum/skein/httpcache"
	"github.com/skein-forum/skein/mail"
	"github.com/skein-forum/skein/media"
	"github.com/skein-forum/skein/ratelimit"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// Registration modes.
const (
	RegistrationOpen   = "open"
	RegistrationClosed = "closed"
	// RegistrationApproval takes registrations that an admin approves
	// before the new member can sign in.
	RegistrationApproval = "approval"
)

// Config is what the web view needs from the node.
type Config struct {
	Store *storage.Store
	URLs  *site.URLs
	Log   *slog.Logger // nil means slog.Default()
	// SiteName is shown in every page header and og:site_name; empty
	// means the host name. An admin's edit (/admin/site) wins over it.
	SiteName string
	// SiteDescription is a sentence on what the site is about, for the
	// home page and feeds; an admin's edit wins over it too.
	SiteDescription string
	// Registration is "open", "approval" or "closed" (empty means closed).
	Registration string
	// ActivityPub answers the requests for pages whose Accept header asks
	// for ActivityPub JSON; nil serves HTML to everyone.
	ActivityPub http.Handler
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client; without them every client behind a proxy would share
	// the proxy's sign-in rate limit.
	TrustedProxies TrustedProxies
	// FederationStats feeds the admin dashboard's delivery and inbox
	// figures; nil shows "not available".
	FederationStats func(context.Context) (*FederationStats, error)
	// FollowRemote resolves what a member typed (a URL or @name@host)
	// and sends that remote actor a Follow; UnfollowRemote takes it back.
	// The node wires them to federation; nil hides /follow-remote.
	FollowRemote   func(ctx context.Context, member *storage.Account, query string) (*storage.Account, error)
	UnfollowRemote func(ctx context.Context, member *storage.Account, remoteID storage.ID) error
	// AnswerFollowRequest approves or refuses a remote follow held for
	// approval (the follower is silenced) and tells the follower; nil
	// hides follow requests.
	AnswerFollowRequest func(ctx context.Context, followID storage.ID, approve bool) error
	// Mail composes the node's mail and checks unsubscribe links; nil
	// answers unsubscribe links with "not found".
	Mail *mail.Composer
	// SendMail is true when an SMTP server is configured: only then are
	// mails queued, and the pages that depend on mail (forgot password)
	// offer it.
	SendMail bool
	// MailQueued wakes the mail worker after a form queued a message.
	MailQueued func()
	// RequireEmail makes the address mandatory at registration, and
	// signing in wait until it is verified.
	RequireEmail bool
	// SignInLimits slow password guessing (storage.Store.BeginSignIn);
	// the zero value takes the defaults.
	SignInLimits storage.SignInLimits
	// Media stores the images members upload and serves them at
	// /media/; nil turns uploads and avatars off.
	Media *media.Library
	// GuestCacheBytes bounds the rendered pages kept for guests (threads,
	// forums, search results; see serveCachedGuestPage): 0 is 64 MB, a
	// negative value keeps none.
	GuestCacheBytes int64
	// Now is the clock of the sign-in limits and of how long a thread
	// page's posts are kept (see renderPosts); nil is time.Now. Tests
	// move it instead of sleeping.
	Now func() time.Time
}

// Server is the web view: the handlers and what they share.
type Server struct {
	Store        *storage.Store
	URLs         *site.URLs
	Log          *slog.Logger
	Registration string
	ActivityPub  http.Handler

	TrustedProxies  TrustedProxies
	FederationStats func(context.Context) (*FederationStats, error)
	SignInLimits    storage.SignInLimits
	now             func() time.Time

	followRemote   func(ctx context.Context, member *storage.Account, query string) (*storage.Account, error)
	unfollowRemote func(ctx context.Context, member *storage.Account, remoteID storage.ID) error
	answerFollow   func(ctx context.Context, followID storage.ID, approve bool) error

	media *media.Library

	identity     *siteIdentity
	mail         *mail.Composer
	sendMail     bool
	mailQueued   func()
	requireEmail bool

	prefix     string // path of the base URL ("" or "/forum"), prepended to every link
	pages      map[string]*template.Template
	static     *staticFiles
	guestCache *httpcache.Cache[string]
	// threadPosts keeps the pages of posts every reader of a thread sees
	// alike (see renderPosts).
	threadPosts *httpcache.Versioned[threadPageKey, *threadPage]
	// ipLimit bounds the password hashing one client address can make
	// this process do (registration, account deletion); sign-in's limits
	// are in the database (storage.Store.BeginSignIn).
	ipLimit *ratelimit.Set
	// uploadLimit bounds the images one member stores through this
	// process (decoding and re-encoding each costs a second of a core).
	uploadLimit *ratelimit.Set
}

// New prepares the web view: it parses every template once.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.URLs == nil {
		return nil, errors.New("web: a store and site URLs are required")
	}
	switch cfg.Registration {
	case "":
		cfg.Registration = RegistrationClosed
	case RegistrationOpen, RegistrationClosed, RegistrationApproval:
	default:
		return nil, fmt.Errorf("web: registration %q: want %q, %q or %q", cfg.Registration, RegistrationOpen, RegistrationApproval, RegistrationClosed)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SiteName == "" {
		cfg.SiteName = cfg.URLs.Host()
	}
	base, err := url.Parse(cfg.URLs.Base())
	if err != nil {
		return nil, fmt.Errorf("web: base url: %w", err)
	}
	s := &Server{
		Store:           cfg.Store,
		URLs:            cfg.URLs,
		Log:             cfg.Log,
		Registration:    cfg.Registration,
		ActivityPub:     cfg.ActivityPub,
		TrustedProxies:  cfg.TrustedProxies,
		FederationStats: cfg.FederationStats,
		SignInLimits:    cfg.SignInLimits,
		now:             cfg.Now,
		prefix:          strings.TrimRight(base.EscapedPath(), "/"),
		guestCache:      httpcache.New[string](cmp.Or(cfg.GuestCacheBytes, guestCacheBytes), guestCacheTTL),
		threadPosts:     httpcache.NewVersioned[threadPageKey, *threadPage](threadPostsBytes, guestCacheTTL),
		ipLimit:         ratelimit.New(signInRate, signInBurst, limitSize),
		uploadLimit:     ratelimit.New(uploadRate, uploadBurst, limitSize),

		followRemote:   cfg.FollowRemote,
		unfollowRemote: cfg.UnfollowRemote,
		answerFollow:   cfg.AnswerFollowRequest,

		media: cfg.Media,

		identity:     &siteIdentity{store: cfg.Store, defaultName: cfg.SiteName, defaultDesc: cfg.SiteDescription},
		mail:         cfg.Mail,
		sendMail:     cfg.SendMail && cfg.Mail != nil,
		mailQueued:   cfg.MailQueued,
		requireEmail: cfg.RequireEmail,
	}
	if s.mailQueued == nil {
		s.mailQueued = func() {}
	}
	if s.static, err = loadStatic(); err != nil {
		return nil, err
	}
	if s.pages, err = s.parseTemplates(); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler wraps a mux that holds the web routes (and, if the caller
// likes, the federation routes) with cross-origin protection and the
// security headers every page carries. CrossOriginProtection refuses
// state-changing requests that a browser marks as cross-site; requests
// without Origin and Sec-Fetch-Site, as server-to-server ActivityPub
// POSTs are, pass untouched.
func (s *Server) Handler(mux http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden, "This form was sent from another site, so it was refused. Go back, reload the page and try again.")
	}))
	return securityHeaders(s.URLs.Secure(), cop.Handler(mux))
}

// AcceptsRegistrations reports whether the register page takes
// registrations (at once, or for an admin to approve).
func (s *Server) AcceptsRegistrations() bool {
	return s.Registration == RegistrationOpen || s.Registration == RegistrationApproval
}

// path makes a site path into the link pages use, under the base URL's
// path prefix.
func (s *Server) path(p string) string { return s.prefix + p }
