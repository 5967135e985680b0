// Package federation speaks ActivityPub for the node: it serves every
// member, forum, thread and post as an ActivityStreams document (actors,
// Notes, paged collections), answers WebFinger, NodeInfo and host-meta,
// holds the local actors' keys, and resolves remote actors with signed
// fetches. Documents are built from storage rows in one place per kind
// ([Server.MemberActor] and the other actors, [NoteFromPost], the
// collections' handlers) from the wire structs of [activitystreams],
// whose reader parses remote documents. The inbox and outbox, which use
// this package, are its subpackages [inbox] and [outbox]; it imports
// neither.
package federation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/transport"
	"github.com/skein-forum/skein/httpcache"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// Config is what the federation server needs. Store and URLs are required.
type Config struct {
	Store *storage.Store
	URLs  *site.URLs
	Log   *slog.Logger // nil discards

	// Client makes outbound requests; nil makes one from the two Allow
	// fields below with the transport package's safe defaults (1 MiB,
	// 10 s, no private addresses, https only).
	Client *transport.Client
	// AllowPrivateNetworks and AllowHTTP loosen the outbound guard, for
	// tests and private deployments (--allow-private-networks,
	// --allow-http). AllowHTTP also lets WebFinger fall back to http://.
	AllowPrivateNetworks bool
	AllowHTTP            bool

	// AuthorizedFetch requires a valid signature from a non-blocked
	// server on every ActivityPub GET of documents and collections
	// (Mastodon's secure mode). WebFinger, NodeInfo, host-meta and the
	// instance actor stay public so peers can bootstrap.
	AuthorizedFetch bool
	// BlockedDomain reports whether a remote host is blocked; nil blocks
	// nothing.
	BlockedDomain func(host string) bool

	// Version is the software version NodeInfo reports.
	Version string
	// SiteName and SiteDescription give the site's name and description
	// as its pages show them, for NodeInfo and the instance actor; nil
	// names the site after its host and describes it as a Skein forum.
	SiteName        func() string
	SiteDescription func() string
	// OpenRegistrations tells NodeInfo whether anyone may sign up; nil
	// means closed.
	OpenRegistrations func() bool

	// CollectionCacheBytes bounds the rendered pages of thread posts
	// collections kept in memory; 0 means 32 MiB, a
	// negative value turns the cache off, and the Note cache with it.
	CollectionCacheBytes int64

	// ActorMaxAge is how long a fetched remote actor is trusted before it
	// is fetched again; default 24 hours.
	ActorMaxAge time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server serves the node's ActivityPub documents and resolves remote ones.
// It is safe for concurrent use.
type Server struct {
	cfg    Config
	store  *storage.Store
	urls   *site.URLs
	log    *slog.Logger
	client *transport.Client

	keys    *localKeys
	actors  *httpcache.Cache[string]     // rendered local actor documents, by key and version
	pages   *httpcache.Cache[pageKey]    // rendered thread collection pages
	notes   *httpcache.Cache[storage.ID] // rendered Notes of local posts, by thread version
	remote  remoteKeys                   // parsed public keys of remote actors
	fetches singleflight.Group           // one fetch per remote actor at a time

	refusals *RefusalLog

	forumsMu sync.RWMutex
	forums   map[storage.ID]*storage.Forum // forums are few and rarely change

	documents http.Handler // built once by New

	nodeInfoMu   sync.Mutex
	nodeInfo     map[string]*document
	nodeInfoAt   time.Time
	nodeInfoName string // the site name and description nodeInfo was made with
}

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.URLs == nil {
		return nil, errors.New("federation: Store and URLs are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Client == nil {
		cfg.Client = transport.New(transport.Options{
			AllowPrivateNetworks: cfg.AllowPrivateNetworks,
			AllowHTTP:            cfg.AllowHTTP,
		})
	}
	if cfg.ActorMaxAge <= 0 {
		cfg.ActorMaxAge = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	s := &Server{
		cfg:    cfg,
		store:  cfg.Store,
		urls:   cfg.URLs,
		log:    cfg.Log,
		client: cfg.Client,
		keys:   newLocalKeys(cfg.Store),
		actors: httpcache.New[string](actorCacheBytes, 0),
		forums: make(map[storage.ID]*storage.Forum),

		refusals: NewRefusalLog(cfg.Log, cfg.Now),
	}
	switch {
	case cfg.CollectionCacheBytes == 0:
		s.pages = httpcache.New[pageKey](defaultPageCacheBytes, 0)
	case cfg.CollectionCacheBytes > 0:
		s.pages = httpcache.New[pageKey](cfg.CollectionCacheBytes, 0)
	}
	if cfg.CollectionCacheBytes >= 0 {
		s.notes = httpcache.New[storage.ID](noteCacheBytes, 0)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /u/{handle}", s.answer(s.serveMember))
	mux.HandleFunc("GET /f/{slug}", s.answer(s.serveForum))
	mux.HandleFunc("GET /t/{id}", s.answer(s.serveThread))
	mux.HandleFunc("GET /p/{id}", s.answer(s.servePost))
	s.documents = s.requireSignature(dropQuery(mux))
	return s, nil
}

// Refusals is where refused requests and dropped activities are logged,
// rate-limited per remote host and reason.
func (s *Server) Refusals() *RefusalLog { return s.refusals }

// Store is the node's store, which the inbox and outbox work on too.
func (s *Server) Store() *storage.Store { return s.store }

// URLs are the node's addresses.
func (s *Server) URLs() *site.URLs { return s.urls }

// Log is the logger of Config.Log.
func (s *Server) Log() *slog.Logger { return s.log }

// Now is Config.Now's time.
func (s *Server) Now() time.Time { return s.cfg.Now() }

// Client makes the node's outbound requests.
func (s *Server) Client() *transport.Client { return s.client }

// Documents serves the ActivityPub side of the four URLs that are also web
// pages: /u/{handle}, /f/{slug}, /t/{id} and /p/{id}. The web package
// hands it a GET whose Accept header asks for ActivityPub (see
// IsActivityPubAccept).
func (s *Server) Documents() http.Handler { return s.documents }

// dropQuery keeps a document's id equal to the URL it is served from: the
// web pages take queries (a thread's ?page=N), the documents none. Page N
// of a thread goes to the matching page of its posts collection, anything
// else to the bare URL.
func dropQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" {
			next.ServeHTTP(w, r)
			return
		}
		target := r.URL.Path
		if strings.HasPrefix(target, "/t/") {
			if n, err := strconv.ParseInt(r.URL.Query().Get("page"), 10, 64); err == nil && n > 1 && n < 1<<40 {
				target += "/posts?page=true&from=" + strconv.FormatInt((n-1)*PostsPageSize+1, 10)
			}
		}
		w.Header().Add("Vary", "Accept")
		http.Redirect(w, r, target, http.StatusFound)
	})
}

// Register adds the GET routes that exist only for ActivityPub: the
// instance actor, discovery and every collection. The inboxes are
// [inbox.Inbox.Register]'s.
func (s *Server) Register(mux *http.ServeMux) {
	// Public even under authorized fetch: a peer must be able to find
	// and fetch the instance actor's key to sign anything at all.
	mux.HandleFunc("GET /actor", s.answer(s.serveInstanceActor))
	mux.HandleFunc("GET /.well-known/webfinger", s.answer(s.serveWebFinger))
	mux.HandleFunc("GET /.well-known/nodeinfo", s.answer(s.serveNodeInfoIndex))
	mux.HandleFunc("GET /nodeinfo/{version}", s.answer(s.serveNodeInfo))
	mux.HandleFunc("GET /.well-known/host-meta", s.serveHostMeta)

	signed := func(pattern string, h documentHandler) { mux.Handle(pattern, s.requireSignature(s.answer(h))) }
	signed("GET /t/{id}/posts", s.serveThreadPosts)
	signed("GET /f/{slug}/threads", s.serveForumThreads)
	signed("GET /p/{id}/replies", s.servePostReplies)
	signed("GET /p/{id}/likes", withoutQuery(s.servePostLikes))
	for _, prefix := range []string{"/u/{handle}", "/f/{slug}", "/t/{id}", "/actor"} {
		signed("GET "+prefix+"/followers", withoutQuery(s.serveFollowers))
		signed("GET "+prefix+"/following", withoutQuery(s.serveFollowing))
		signed("GET "+prefix+"/outbox", s.serveOutbox)
		signed("GET "+prefix+"/featured", withoutQuery(s.serveFeatured))
	}
}

// withoutQuery refuses any query for the collections that have no pages
// (counts, and the empty featured collection).
func withoutQuery(h documentHandler) documentHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.RawQuery != "" {
			return errBadPage
		}
		return h(w, r)
	}
}

// documentHandler serves one ActivityPub GET route. It writes the answer
// itself, or returns the error for [Server.answer] to render.
type documentHandler func(w http.ResponseWriter, r *http.Request) error

// answer adapts h to net/http: an error h returns is rendered by
// [Server.fail].
func (s *Server) answer(h documentHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}
}

// refusal is a request refused with a status and a short reason for the
// peer.
type refusal struct {
	status int
	reason string
}

func (e *refusal) Error() string { return e.reason }

// errBadPage refuses a collection query that does not parse.
var errBadPage = &refusal{http.StatusBadRequest, "bad page"}

// goneError answers 410 with a Tombstone: the document at id, formerly a
// formerType, was deleted.
type goneError struct {
	id, formerType string
	deleted        time.Time
}

func (e *goneError) Error() string { return "gone: " + e.id }

// gone answers 410 with a Tombstone.
func (s *Server) gone(w http.ResponseWriter, r *http.Request, g *goneError) {
	ts := &as.Tombstone{Context: as.LDContext(), ID: g.id, Type: "Tombstone", FormerType: g.formerType}
	if !g.deleted.IsZero() {
		ts.Deleted = as.FormatTime(g.deleted)
	}
	doc, err := newDocument(ts, time.Time{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeDocument(w, r, http.StatusGone, doc)
}

// fail answers an error: a refusal with its status and reason, a deleted
// document with its Tombstone, 404 for anything not found, 500 (logged)
// for the rest. Peers never see the detail.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ref *refusal
	var g *goneError
	switch {
	case errors.As(err, &ref):
		writeError(w, ref.status, ref.reason)
	case errors.As(err, &g):
		s.gone(w, r, g)
	case errors.Is(err, storage.ErrNotFound) || errors.Is(err, errNotFound):
		writeError(w, http.StatusNotFound, "not found")
	case errors.Is(err, context.Canceled):
	default:
		s.log.Error("activitypub document", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// Forum returns a forum by id from a small cache. Documents only take a
// forum's slug from it, which never changes.
func (s *Server) Forum(ctx context.Context, id storage.ID) (*storage.Forum, error) {
	s.forumsMu.RLock()
	f := s.forums[id]
	s.forumsMu.RUnlock()
	if f != nil {
		return f, nil
	}
	f, err := s.store.ForumByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("forum of thread: %w", err)
	}
	s.forumsMu.Lock()
	if len(s.forums) > 1024 {
		s.forums = make(map[storage.ID]*storage.Forum)
	}
	s.forums[id] = f
	s.forumsMu.Unlock()
	return f, nil
}
