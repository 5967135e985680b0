// Package node assembles a whole Skein node from its parts: the store,
// the web view, the ActivityPub side and the background workers, behind
// one http.Handler. `skein serve` and the multi-node tests build nodes
// the same way, so what the tests prove is what runs.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun/dialect"

	"github.com/skein-forum/skein/federation"
	"github.com/skein-forum/skein/federation/delivery"
	"github.com/skein-forum/skein/federation/inbox"
	"github.com/skein-forum/skein/federation/outbox"
	"github.com/skein-forum/skein/federation/transport"
	"github.com/skein-forum/skein/mail"
	"github.com/skein-forum/skein/media"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/web"
)

// Config is everything `skein serve` takes.
type Config struct {
	Listen               string
	BaseURL              string
	DataDir              string
	DatabaseURL          string
	Registration         string // "open", "approval" or "closed"
	Federation           string // "open" (default) or "allowlist"
	TrustedProxies       web.TrustedProxies
	MetricsListen        string // address of the /metrics listener; empty: none
	AllowPrivateNetworks bool
	AllowHTTP            bool
	AuthorizedFetch      bool
	// InboxHostPerMinute and InboxActorPerMinute bound the inbox POSTs
	// one remote host and one actor may send a minute (see
	// [inbox.Config]); 0 is the default, negative turns a limit off.
	InboxHostPerMinute  int
	InboxActorPerMinute int
	// InboxQueueAll sends every inbox activity through the queue (see
	// inbox.Config.QueueEveryActivity).
	InboxQueueAll bool
	Version       string
	Log           *slog.Logger
	// PprofListen, when set, serves net/http/pprof on its own listener
	// (loopback only in practice) for profiling runs; off by default.
	PprofListen string
	// Now is the clock federation checks signature dates against, and
	// the mail workers' (when notifications are old enough to mail, when
	// a digest is due); nil is time.Now. Tests move it to replay requests
	// after their window, or to the hour of a digest.
	Now func() time.Time
	// Mail is the SMTP server the node's mail goes through; the zero
	// value turns mail off (see MailOffNotice).
	Mail mail.Config
	// RequireEmail makes registration ask for an address and sign-in
	// wait until it is verified.
	RequireEmail bool
	// SiteName and SiteDescription are the site's name and description
	// until an admin edits them on /admin/site; an empty name is the
	// host's.
	SiteName        string
	SiteDescription string
	// AdminCommand is the command, as the admin can paste it, that
	// creates the first admin for this node's database; the first-run
	// log line gives it. Empty: "skein user create NAME --admin".
	AdminCommand string
	// GuestCacheBytes bounds the rendered pages kept for guests (see
	// [web.Config]): 0 is the default, negative keeps none.
	GuestCacheBytes int64
	// Database tunes the store: its pool, and whether an empty PostgreSQL
	// database may be started beside a SQLite node in DataDir. DataDir,
	// DatabaseURL and Federation above fill its fields of the same names.
	Database storage.Options
}

// MediaDir is where, under the data directory, images are kept; several
// processes serving one database share it.
const MediaDir = "media"

// mediaSweepInterval is how often the media sweeper runs when nothing
// wakes it.
const mediaSweepInterval = 10 * time.Minute

// Node is a running forum.
type Node struct {
	cfg   Config
	log   *slog.Logger
	Store *storage.Store
	URLs  *site.URLs
	Web   *web.Server
	Fed   *federation.Server
	// Inbox receives activities; its worker, InboxWorker, applies them.
	Inbox *inbox.Inbox
	// Delivery sends queued activities and Outbox turns outbox events
	// into them; both run from Start. Tests may tune their fields before.
	Delivery *delivery.Worker
	Outbox   *outbox.Worker
	client   *transport.Client
	// Metrics is what /metrics serves; federation reports inbox and
	// delivery figures through its methods.
	Metrics *Metrics
	handler http.Handler

	// Media keeps uploaded images and copies of remote ones in
	// DataDir/media; nil when the node has no data directory.
	Media *media.Library

	// InboxWorker applies received activities; nil until Start.
	InboxWorker *inbox.Worker
	// Mail sends the mail queue; nil when mail is off.
	Mail *mail.Worker
	// Notices queues notification mail and digests; it runs from Start.
	Notices *mail.NoticeWorker

	classes *hostClasses // delivery metrics' host classes
}

// New opens and migrates the database, makes sure there is a forum, and
// builds the handler. It starts nothing; see Serve and Start.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	urls, err := site.New(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	opts := cfg.Database
	if cfg.DataDir != "" || cfg.DatabaseURL != "" {
		opts.DataDir, opts.DatabaseURL = cfg.DataDir, cfg.DatabaseURL
	}
	opts.Federation = cfg.Federation
	store, err := storage.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: cfg.Log, Store: store, URLs: urls}
	if err := n.prepare(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return n, nil
}

func (n *Node) prepare(ctx context.Context) error {
	applied, err := n.Store.Migrate(ctx)
	if err != nil {
		return err
	}
	for _, name := range applied {
		n.log.Info("applied migration", "name", name)
	}
	if f, created, err := n.Store.EnsureDefaultForum(ctx); err != nil {
		return err
	} else if created {
		n.log.Info("created a first forum", "slug", f.Slug, "title", f.Title)
	}
	n.Metrics = NewMetrics(n.Store)
	n.classes = newHostClasses(n.Store)
	n.client = transport.New(transport.Options{
		AllowPrivateNetworks: n.cfg.AllowPrivateNetworks,
		AllowHTTP:            n.cfg.AllowHTTP,
		UserAgent:            "Skein/" + n.cfg.Version + " (+" + n.URLs.Base() + ")",
	})
	fed, err := federation.New(federation.Config{
		Store:                n.Store,
		URLs:                 n.URLs,
		Log:                  n.log,
		Client:               n.client,
		AllowPrivateNetworks: n.cfg.AllowPrivateNetworks,
		AllowHTTP:            n.cfg.AllowHTTP,
		AuthorizedFetch:      n.cfg.AuthorizedFetch,
		Version:              n.cfg.Version,
		SiteName:             n.siteName,
		SiteDescription:      n.siteDescription,
		Now:                  n.cfg.Now,
		OpenRegistrations:    func() bool { return n.cfg.Registration == web.RegistrationOpen },
		BlockedDomain:        n.blockedDomain,
	})
	if err != nil {
		return fmt.Errorf("federation: %w", err)
	}
	n.Fed = fed
	n.Inbox = inbox.New(fed, inbox.Config{DeliveryQueued: func() {
		if d := n.Delivery; d != nil {
			d.Notify()
		}
	}, HostPerMinute: n.cfg.InboxHostPerMinute, ActorPerMinute: n.cfg.InboxActorPerMinute,
		QueueEveryActivity: n.cfg.InboxQueueAll})
	n.Delivery = &delivery.Worker{Store: n.Store, Client: n.client, Keys: n.Fed.SigningKey,
		Refused: n.deliveryRefused, Observe: n.observeDelivery, Log: n.log.With("worker", "delivery")}
	n.Outbox = &outbox.Worker{Fed: fed, Queued: n.Delivery.Notify, Log: n.log.With("worker", "outbox")}
	composer, err := n.prepareMail(ctx)
	if err != nil {
		return err
	}
	if n.cfg.DataDir != "" {
		dir, err := media.NewDir(filepath.Join(n.cfg.DataDir, MediaDir))
		if err != nil {
			return err
		}
		n.Media = media.NewLibrary(n.Store, dir, n.URLs, n.log.With("worker", "media"))
	}
	w, err := web.New(web.Config{Store: n.Store, URLs: n.URLs, Log: n.log, Registration: n.cfg.Registration,
		Mail: composer, SendMail: n.Mail != nil, MailQueued: n.notifyMail, RequireEmail: n.cfg.RequireEmail,
		SiteName: n.cfg.SiteName, SiteDescription: n.cfg.SiteDescription, GuestCacheBytes: n.cfg.GuestCacheBytes,
		ActivityPub: fed.Documents(), TrustedProxies: n.cfg.TrustedProxies,
		FederationStats: n.federationStats, FollowRemote: fed.FollowRemote, UnfollowRemote: fed.UnfollowRemote,
		AnswerFollowRequest: n.Inbox.AnswerFollowRequest, Media: n.Media})
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	n.Web = w
	mux := http.NewServeMux()
	n.Web.Register(mux)
	n.Fed.Register(mux)
	n.Inbox.Register(mux)
	mux.HandleFunc("GET /healthz", n.healthz)
	mux.HandleFunc("GET /readyz", n.readyz)
	n.handler = observeRequests(n.log, n.Metrics, n.cfg.TrustedProxies, n.Web.Handler(n.wakeWorkersAfterPOST(mux)))
	return nil
}

// Handler is the node's whole HTTP surface.
func (n *Node) Handler() http.Handler { return n.handler }

// Start runs the background workers until ctx ends; the returned function
// waits for them to stop.
func (n *Node) Start(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	if n.Store.Dialect() == dialect.SQLite {
		// One process owns a SQLite queue: leases left now are from a
		// process that died, and their jobs can go at once.
		if k, err := n.Store.ReleaseAllDeliveries(ctx, time.Now()); err != nil {
			n.log.Error("release orphaned deliveries", "err", err)
		} else if k > 0 {
			n.log.Info("resumed deliveries of a previous run", "jobs", k)
		}
		if k, err := n.Store.ReleaseAllInbox(ctx, time.Now()); err != nil {
			n.log.Error("release orphaned inbox items", "err", err)
		} else if k > 0 {
			n.log.Info("resumed inbox items of a previous run", "items", k)
		}
	}
	wg.Go(func() {
		if err := n.Delivery.Run(ctx); err != nil && ctx.Err() == nil {
			n.log.Error("delivery worker stopped", "err", err)
		}
	})
	n.InboxWorker = &inbox.Worker{Inbox: n.Inbox, Log: n.log.With("worker", "inbox"), Applied: func() {
		n.Outbox.Notify()
		n.notifyMail()
	}}
	wg.Go(func() {
		if err := n.InboxWorker.Run(ctx); err != nil {
			n.log.Error("inbox worker stopped", "err", err)
		}
	})
	wg.Go(func() { n.watchQueues(ctx) })
	wg.Go(func() { n.labelDeliveries(ctx) })
	if n.Media != nil {
		// Deleted posts' and accounts' files, uploads never posted,
		// the remote cache's cap.
		wg.Go(func() { n.Media.Run(ctx, mediaSweepInterval) })
	}
	n.startMail(ctx, &wg)
	wg.Go(func() { n.mergeSearchIndex(ctx) })
	// Blocks made by other processes (or the shell) take effect here
	// within storage.PolicyRecheck, and what slipped through meanwhile
	// is purged.
	wg.Go(func() { n.Store.WatchPolicy(ctx, func(err error) { n.log.Error("watch domain policy", "err", err) }) })
	wg.Go(func() {
		if err := n.Outbox.Run(ctx); err != nil && ctx.Err() == nil {
			n.log.Error("outbox worker stopped", "err", err)
		}
	})
	return wg.Wait
}

// wakeWorkersAfterPOST wakes the outbox and delivery workers after every
// POST of a form (that may have written an outbox event or a follow), so
// a post leaves at once instead of at the next poll. The web package
// cannot reach the workers; it need not know about them. A POST to an
// inbox writes only its queue item: the inbox worker wakes them once it
// has applied a batch (inbox.Worker.Applied), not hundreds of times a
// second under load.
func (n *Node) wakeWorkersAfterPOST(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if r.Method == http.MethodPost && !strings.HasSuffix(r.URL.Path, "/inbox") {
			n.Outbox.Notify()
			n.Delivery.Notify()
			n.notifyMail()
		}
	})
}

// Serve listens on the configured address and serves until ctx ends, then
// shuts down gracefully: in-flight requests finish, workers stop, the
// database closes.
func (n *Node) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", n.cfg.Listen)
	if err != nil {
		n.Store.Close()
		return fmt.Errorf("listen on %s: %w", n.cfg.Listen, err)
	}
	return n.ServeListener(ctx, ln)
}

// ServeListener is Serve on a listener the caller opened.
func (n *Node) ServeListener(ctx context.Context, ln net.Listener) error {
	defer n.Store.Close()
	srv := &http.Server{
		Handler:           n.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
	}
	workCtx, stopWork := context.WithCancel(context.Background())
	wait := n.Start(workCtx)
	n.log.Info("skein is running", "listen", ln.Addr().String(), "url", n.URLs.Base(), "version", n.cfg.Version)
	if !n.cfg.Mail.Enabled() {
		n.log.Warn(MailOffNotice)
	}
	if members, err := n.Store.CountMembers(ctx); err == nil && members == 0 {
		n.log.Info("no members yet: create an admin with `"+n.adminCommand()+"`", "command", n.adminCommand())
	}
	if n.cfg.PprofListen != "" {
		stop, err := servePprof(n.cfg.PprofListen, n.log)
		if err != nil {
			stopWork()
			wait()
			return err
		}
		defer stop()
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	// Metrics have their own listener, never the public one: they tell
	// more about the node than its visitors need to know.
	if n.cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", n.cfg.MetricsListen)
		if err != nil {
			srv.Close()
			stopWork()
			wait()
			return fmt.Errorf("metrics listener on %s: %w", n.cfg.MetricsListen, err)
		}
		msrv := &http.Server{Handler: n.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
		defer msrv.Close()
		go func() {
			if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics: %w", err)
			}
		}()
		n.log.Info("metrics are served", "listen", mln.Addr().String(), "path", "/metrics")
	}
	select {
	case err := <-errc:
		stopWork()
		wait()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	n.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	stopWork()
	wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	n.log.Info("stopped")
	return nil
}

// MetricsHandler serves /metrics (and only that), for the separate
// listener of --metrics-listen.
func (n *Node) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", n.Metrics.Handler())
	return mux
}

func (n *Node) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// readyz answers 200 when the database answers, no migration is pending
// and the statements pages read with are prepared: what a load balancer
// should wait for after an upgrade.
func (n *Node) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := n.Store.Ping(ctx); err != nil {
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	if pending, err := n.Store.PendingMigrations(ctx); err != nil || pending > 0 {
		http.Error(w, "migrations pending", http.StatusServiceUnavailable)
		return
	}
	if err := n.Store.Ready(ctx); err != nil {
		n.log.Warn("not ready", "err", err)
		http.Error(w, "database not ready", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}
