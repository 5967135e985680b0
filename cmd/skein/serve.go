package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"strings"

	"github.com/skein-forum/skein/federation/inbox"
	"github.com/skein-forum/skein/node"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/web"
)

func runServe(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	var cfg node.Config
	var db dbFlags
	var logFormat, logLevel string
	f := newFlagSet("serve", "skein serve [flags]", stdout)
	f.String(&cfg.Listen, "listen", "127.0.0.1:8080", "address to listen on")
	f.String(&cfg.BaseURL, "base-url", "", "public URL that ids and links use (default http://localhost:PORT, or http:// + the listen address)")
	db.register(f)
	var searchCache, guestCacheMB int
	f.Int(&searchCache, "search-cache", storage.DefaultSearchCache, "pages of search results kept until a post changes (SQLite; 0: none)")
	f.Int(&guestCacheMB, "guest-cache", web.DefaultGuestCacheMB, "MB of rendered pages (threads, forums, search results) kept for guests until what they show changes (0: none)")
	var trustedProxies string
	f.String(&cfg.Registration, "registration", "open", "who may register: open, approval (an admin approves each) or closed")
	f.String(&cfg.Federation, "federation", "open", "open (every host not blocked) or allowlist (only hosts on the allow list)")
	f.String(&trustedProxies, "trusted-proxy", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For/-Proto are believed")
	f.String(&cfg.MetricsListen, "metrics-listen", "", "address for Prometheus /metrics (e.g. 127.0.0.1:9090); empty: off")
	f.Bool(&cfg.AllowPrivateNetworks, "allow-private-networks", false, "let federation reach private and loopback addresses (tests, LANs)")
	f.Bool(&cfg.AllowHTTP, "allow-http", false, "let federation talk to plain-HTTP peers")
	f.Bool(&cfg.AuthorizedFetch, "authorized-fetch", false, "require a valid HTTP signature on every ActivityPub GET (Mastodon's secure mode)")
	f.Int(&cfg.InboxHostPerMinute, "inbox-host-rate", inbox.DefaultHostPerMinute, "inbox POSTs one remote host may send a minute (bursts of as many), beyond which it gets 429; -1: no limit")
	f.Int(&cfg.InboxActorPerMinute, "inbox-actor-rate", inbox.DefaultActorPerMinute, "inbox POSTs one remote actor may send a minute (bursts of as many), beyond which it gets 429; -1: no limit")
	f.Bool(&cfg.InboxQueueAll, "inbox-queue-all", false, "send every inbox activity through the queue, also the Create{Note} replies of known authors that are otherwise stored by the POST itself")
	f.String(&cfg.PprofListen, "pprof-listen", "", "serve Go profiles (net/http/pprof) on this address, e.g. 127.0.0.1:6060; off when empty")
	f.String(&cfg.SiteName, "site-name", "", "the site's name in page headers, titles, feeds, mail, NodeInfo and the instance actor (default: the host name); an edit on /admin/site wins")
	f.String(&cfg.SiteDescription, "site-description", "", "one sentence on what the site is about; an edit on /admin/site wins")
	var smtp smtpFlags
	smtp.register(f)
	f.Bool(&cfg.RequireEmail, "require-email", false, "registration needs a mail address, and members sign in once it is confirmed (needs mail)")
	f.String(&logFormat, "log-format", "text", "log format: text or json")
	f.String(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	if err := f.parse(args); err != nil {
		return err
	}
	if len(f.Args()) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, f.Args()[0])
	}
	switch cfg.Registration {
	case "open", "approval", "closed":
	default:
		return fmt.Errorf("%w: --registration must be open, approval or closed, not %q", errUsage, cfg.Registration)
	}
	if cfg.Federation != storage.FederationOpen && cfg.Federation != storage.FederationAllowlist {
		return fmt.Errorf("%w: --federation must be open or allowlist, not %q", errUsage, cfg.Federation)
	}
	for _, l := range []struct {
		name string
		v    int
	}{{"--inbox-host-rate", cfg.InboxHostPerMinute}, {"--inbox-actor-rate", cfg.InboxActorPerMinute}} {
		if l.v == 0 || l.v < -1 {
			return fmt.Errorf("%w: %s must be at least 1, or -1 for no limit", errUsage, l.name)
		}
	}
	var err error
	if cfg.TrustedProxies, err = web.ParseTrustedProxies(trustedProxies); err != nil {
		return fmt.Errorf("%w: --trusted-proxy: %w", errUsage, err)
	}
	if cfg.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(cfg.MetricsListen); err != nil {
			return fmt.Errorf("%w: --metrics-listen %q: want HOST:PORT", errUsage, cfg.MetricsListen)
		}
	}
	if cfg.Mail, err = smtp.config(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if cfg.RequireEmail && !cfg.Mail.Enabled() {
		return fmt.Errorf("%w: --require-email needs mail: set --smtp-url or --smtp-host", errUsage)
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return fmt.Errorf("%w: --listen %q: want HOST:PORT", errUsage, cfg.Listen)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = defaultBaseURL(cfg.Listen)
	}
	log, err := newLogger(os.Stderr, logFormat, logLevel)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if err := db.check(); err != nil {
		return err
	}
	cfg.DataDir, cfg.DatabaseURL = db.dataDir, db.databaseURL
	cfg.AdminCommand = firstAdminCommand(os.Args[0], db)
	cfg.Database = db.options()
	cfg.Database.SearchCache = searchCache
	if searchCache <= 0 {
		cfg.Database.SearchCache = -1
	}
	cfg.GuestCacheBytes = int64(guestCacheMB) << 20
	if guestCacheMB <= 0 {
		cfg.GuestCacheBytes = -1
	}
	cfg.Version = Version
	cfg.Log = log
	n, err := node.New(ctx, cfg)
	if err != nil {
		return err
	}
	// Start-up (migrations, templates) collects at Go's default pace, so
	// the idle node keeps no more than it did.
	tuneGC()
	return n.Serve(ctx)
}

// defaultBaseURL follows the listen address: a node on 127.0.0.1:8080 or
// :8080 is http://localhost:8080, anything else http:// + the address.
func defaultBaseURL(listen string) string {
	host, port, _ := net.SplitHostPort(listen)
	switch host {
	case "", "127.0.0.1", "::1", "localhost", "0.0.0.0", "::":
		return "http://localhost:" + port
	}
	return "http://" + listen
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// firstAdminCommand is the command that creates the first admin of the node
// serve runs, as the admin can paste it in another shell of the same
// directory: the program the way it was started (`go run ./cmd/skein`
// when go run built it) and the database flags in use.
func firstAdminCommand(arg0 string, db dbFlags) string {
	prog := arg0
	switch {
	case strings.Contains(arg0, string(os.PathSeparator)+"go-build"):
		prog = "go run ./cmd/skein"
	case !strings.ContainsRune(arg0, os.PathSeparator):
		prog = "skein" // found on the PATH
	}
	cmd := prog + " user create NAME --admin"
	if db.databaseURL == "" {
		return cmd + " --data " + shellQuote(db.dataDir)
	}
	if u, err := url.Parse(db.databaseURL); err == nil && u.User != nil {
		if _, hasPassword := u.User.Password(); hasPassword {
			// The password stays out of the log.
			return cmd + ` --database-url "$SKEIN_DATABASE_URL"`
		}
	}
	return cmd + " --database-url " + shellQuote(db.databaseURL)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@=-+,%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// gcPercent is the collector's target unless GOGC says otherwise: the
// heap may grow to three times what is live before a collection. A node
// taking activities in bursts allocates for every one (the JSON, the
// sanitized HTML, the rows), and with Go's default of 100 the collector
// took about 7% of its CPU; the live heap is a few tens of megabytes, so
// the memory this costs is small beside the database's page cache.
const gcPercent = 200

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
