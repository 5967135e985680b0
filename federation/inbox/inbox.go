package inbox

import (
	"context"
	"crypto/rsa"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/skein-forum/skein/federation"
	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/signature"
	"github.com/skein-forum/skein/internal/worker"
	"github.com/skein-forum/skein/ratelimit"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/uptrace/bun/dialect"
)

// MaxInboxBody is the largest activity an inbox accepts.
const MaxInboxBody = 1 << 20

// errGoneActor means a Delete of an actor by itself came signed with a key
// the node never saw: the actor is gone (its document answers 410), so
// there is nothing to verify against and nothing of theirs to delete.
var errGoneActor = errors.New("self-delete of an unknown actor")

// errKeyElsewhere refuses a signature by a key on another host than the
// activity's actor.
var errKeyElsewhere = errors.New("signing key is on another host than the actor")

// Config is what an Inbox needs beyond the federation server.
type Config struct {
	// DeliveryQueued is called after the inbox queued activities to send
	// (the Accept of a Follow), to wake the delivery worker; nil leaves
	// them to its next poll.
	DeliveryQueued func()
	// HostPerMinute and ActorPerMinute bound the inbox POSTs one remote
	// host and one actor may send a minute (bursts of as many at once);
	// more are answered 429 with Retry-After. 0 means the defaults,
	// [DefaultHostPerMinute] and [DefaultActorPerMinute]; a negative
	// value turns the limit off.
	HostPerMinute  int
	ActorPerMinute int
	// MaxBacklog is how much of the worker's work may wait in the queue
	// before POSTs are answered 503 with Retry-After (see backlog.go):
	// 0 means [DefaultMaxBacklog], a negative value turns it off.
	MaxBacklog time.Duration
	// QueueEveryActivity turns off storing a known author's Create{Note}
	// in the POST itself (direct.go): every activity then goes through
	// the queue, as on PostgreSQL.
	QueueEveryActivity bool
}

// Inbox receives and applies activities. It is safe for concurrent use;
// [Worker] runs its queue.
type Inbox struct {
	fed            *federation.Server
	store          *storage.Store
	urls           *site.URLs
	log            *slog.Logger
	deliveryQueued func()

	hosts  *ratelimit.Set // inbox POSTs per remote host
	actors *ratelimit.Set // and per actor

	wake     worker.Signal // work was queued: wake the Worker
	commit   inboxCommit   // accepted POSTs, committed in groups
	posts    postCommit    // posts the worker stores, committed in groups
	backfill backfillBudget
	backlog  backlog       // accepted and not yet applied, for backpressure
	recent   lookups       // lookups every reply repeats, remembered a moment
	parsed   parsedDocs    // documents decoded by the inboxes, for the worker
	order    actorOrder    // Creates stored as they arrive, in each actor's order
	storing  notesInFlight // their Notes, until committed
	// directDone counts the activities stored as they arrived, which
	// the Worker's counters include; directRate counts them by the time
	// they were stored, for the dashboard (they leave no inbox item).
	directDone atomic.Int64
	directRate recentCount
}

// New returns the inbox of the node fed serves.
func New(fed *federation.Server, cfg Config) *Inbox {
	if cfg.HostPerMinute == 0 {
		cfg.HostPerMinute = DefaultHostPerMinute
	}
	if cfg.ActorPerMinute == 0 {
		cfg.ActorPerMinute = DefaultActorPerMinute
	}
	if cfg.MaxBacklog == 0 {
		cfg.MaxBacklog = DefaultMaxBacklog
	}
	return &Inbox{fed: fed, store: fed.Store(), urls: fed.URLs(), log: fed.Log(), deliveryQueued: cfg.DeliveryQueued,
		hosts: newLimiterSet(cfg.HostPerMinute), actors: newLimiterSet(cfg.ActorPerMinute),
		wake: worker.NewSignal(), recent: newLookups(), backlog: backlog{max: cfg.MaxBacklog, room: make(chan struct{}, maxWaiting)},
		order: actorOrder{off: fed.Store().Dialect() == dialect.PG || cfg.QueueEveryActivity}}
}

// Register adds the POST side of every actor's inbox and the shared one.
func (in *Inbox) Register(mux *http.ServeMux) {
	for _, p := range []string{"/inbox", "/actor/inbox", "/u/{handle}/inbox", "/f/{slug}/inbox", "/t/{id}/inbox"} {
		mux.HandleFunc("POST "+p, in.serveInbox)
	}
}

func (in *Inbox) serveInbox(w http.ResponseWriter, r *http.Request) {
	if !in.backlog.admit(r.Context()) {
		// Before anything is read: turning a sender away must cost
		// less than taking its POST.
		w.Header().Set("Retry-After", "1")
		inboxError(w, http.StatusServiceUnavailable, "busy, try again later")
		return
	}
	if r.ContentLength > MaxInboxBody {
		inboxError(w, http.StatusRequestEntityTooLarge, "body larger than 1 MiB")
		return
	}
	if !isActivityContentType(r.Header.Get("Content-Type")) {
		inboxError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/activity+json or application/ld+json")
		return
	}
	if ok, err := in.inboxExists(r); err != nil {
		in.inboxFailure(w, r, err)
		return
	} else if !ok {
		inboxError(w, http.StatusNotFound, "no such inbox")
		return
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, MaxInboxBody), r.ContentLength)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			inboxError(w, http.StatusRequestEntityTooLarge, "body larger than 1 MiB")
			return
		}
		inboxError(w, http.StatusBadRequest, "could not read body")
		return
	}
	env, err := as.ReadEnvelope(body)
	if err != nil {
		in.refuse(w, r, http.StatusBadRequest, err.Error(), nil, "", nil)
		return
	}
	if handlers[env.Type] == nil {
		// Answered 202: the sender has nothing to fix or retry.
		in.fed.Refusals().Log(r.Context(), slog.LevelInfo, "inbox activity dropped", strings.ToLower(as.HostOf(env.Actor)),
			"type not handled", slog.String("actor", env.Actor), slog.String("type", env.Type))
		w.WriteHeader(http.StatusAccepted)
		return
	}
	actorHost, err := in.fed.CheckRemote(env.Actor)
	switch {
	case errors.Is(err, federation.ErrBlocked):
		in.refuse(w, r, http.StatusForbidden, "domain is blocked", env, strings.ToLower(as.HostOf(env.Actor)), nil)
		return
	case err != nil:
		in.refuse(w, r, http.StatusBadRequest, "actor is not a remote http(s) URL", env, "", nil)
		return
	}
	// Every activity taken changes something here. Without an id it
	// could not be told from a replay of itself: anyone holding a copy of
	// the signed request could send it again within the Date window (an
	// old Update reverting a post).
	if env.ID == "" {
		in.refuse(w, r, http.StatusBadRequest, "activity has no id", env, actorHost, nil)
		return
	}
	if !as.SameHost(env.ID, actorHost) {
		in.refuse(w, r, http.StatusBadRequest, "activity id is on another host than its actor", env, actorHost, nil)
		return
	}

	owner, keyID, err := in.verifyInbox(r, body, env, actorHost)
	switch {
	case errors.Is(err, errGoneActor):
		// Mastodon sends this for every account it deletes, to every
		// server it ever talked to: accept it without a fetch storm.
		w.WriteHeader(http.StatusAccepted)
		return
	case errors.Is(err, federation.ErrBlocked):
		in.refuse(w, r, http.StatusForbidden, "domain is blocked", env, actorHost, err)
		return
	case errors.Is(err, signature.ErrMalformed):
		in.refuse(w, r, http.StatusBadRequest, federation.SignatureReason(err), env, actorHost, err)
		return
	case storage.Unavailable(err):
		// Storing the signer's actor failed, not the signature: a 401
		// would make the sender drop the activity instead of retrying.
		in.inboxFailure(w, r, err)
		return
	case errors.Is(err, federation.ErrKeyUnavailable):
		// The signer's server did not answer for its key this time; a
		// 401 would make the sender drop the activity for good.
		federation.RetryLater(w)
		in.refuse(w, r, http.StatusServiceUnavailable, "signing key not available yet, try again later", env, actorHost, err)
		return
	case err != nil:
		w.Header().Set("WWW-Authenticate", `Signature realm="skein", headers="(request-target) host date digest"`)
		in.refuse(w, r, http.StatusUnauthorized, federation.SignatureReason(err), env, actorHost, err)
		return
	}
	if owner != env.Actor {
		in.refuse(w, r, http.StatusUnauthorized, "signing key does not belong to the activity's actor", env, actorHost, nil)
		return
	}
	// Counted once the sender is known: a forger cannot spend a real
	// server's allowance.
	now := in.fed.Now()
	for _, l := range []struct {
		set      *ratelimit.Set
		key, who string
	}{{in.actors, env.Actor, "actor"}, {in.hosts, actorHost, "host"}} {
		if ok, wait := l.set.Allow(l.key, now); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait/time.Second))))
			in.refuse(w, r, http.StatusTooManyRequests, "too many activities from this "+l.who+", try again later", env, actorHost, nil)
			return
		}
	}
	if refused, err := in.store.ActorSuspended(r.Context(), owner); err != nil {
		in.inboxFailure(w, r, err)
		return
	} else if refused {
		in.refuse(w, r, http.StatusForbidden, "actor is suspended", env, actorHost, nil)
		return
	}
	stored, turn := in.applyDirect(r.Context(), env, body)
	if stored {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if hook := testHookQueueing.Load(); hook != nil {
		(*hook)(env)
	}
	// Kept before the commit: the worker may claim the item at once.
	kept := in.parsed.put(string(body), env.Doc, now)
	stored, err = in.acceptInbox(r.Context(), storage.NewInboxItem{ActorID: env.Actor, KeyID: keyID, ActivityID: env.ID, Body: body}, turn)
	if err != nil || !stored {
		in.parsed.drop(string(body), kept)
	}
	if err != nil {
		in.inboxFailure(w, r, err)
		return
	}
	if stored {
		in.Notify()
	}
	w.WriteHeader(http.StatusAccepted)
}

// bodyPresize bounds the room readBody takes on the sender's word (its
// Content-Length): more is grown into as it arrives, so a sender
// announcing a megabyte and sending nothing costs no megabyte.
const bodyPresize = 64 << 10

// readBody reads the body whole, as io.ReadAll, but into room sized by
// its Content-Length (declared, up to bodyPresize): a typical activity
// of a few kilobytes is read with one allocation instead of four or five
// growing copies.
func readBody(r io.Reader, declared int64) ([]byte, error) {
	size := 512
	if declared > 0 {
		size = int(min(declared, bodyPresize-1)) + 1 // +1: the read that finds EOF needs room; min first, so no declared length overflows
	}
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// verifyInbox checks the POST's signature and returns the key's owner and
// id. The key must be on the actor's host, which is checked before any
// lookup: only the actor's own server can vouch for it, and a key named
// anywhere else would make the node fetch from a third party for
// nothing. A self-delete is checked against a key on file only (see
// errGoneActor).
func (in *Inbox) verifyInbox(r *http.Request, body []byte, env *as.Envelope, actorHost string) (owner, keyID string, err error) {
	onActorHost := func(keyID string) error {
		if !as.SameHost(keyID, actorHost) {
			return errKeyElsewhere
		}
		return nil
	}
	if env.Type == "Delete" && env.Object == env.Actor {
		v, err := signature.Verify(r, body, in.fed.Now(), func(ctx context.Context, keyID string) (*rsa.PublicKey, error) {
			if err := onActorHost(keyID); err != nil {
				return nil, err
			}
			pub, o, err := in.fed.KnownKey(ctx, keyID)
			if errors.Is(err, storage.ErrNotFound) {
				err = errGoneActor
			}
			owner = o
			return pub, err
		})
		if err != nil {
			return "", "", err
		}
		return owner, v.KeyID, nil
	}
	v, owner, err := in.fed.VerifySignature(r, body, onActorHost)
	if err != nil {
		return "", "", err
	}
	return owner, v.KeyID, nil
}

// inboxExists reports whether the inbox a POST names belongs to a local
// actor. Mirrors of remote threads and the hidden forum holding them have
// no inbox: they are not ours to speak for.
func (in *Inbox) inboxExists(r *http.Request) (bool, error) {
	ctx := r.Context()
	var err error
	switch {
	case r.PathValue("handle") != "":
		_, err = in.memberID(ctx, r.PathValue("handle"))
	case r.PathValue("slug") != "":
		var f *storage.Forum
		if f, err = in.store.ForumBySlug(ctx, r.PathValue("slug")); err == nil && f.Hidden {
			return false, nil
		}
	case r.PathValue("id") != "":
		id, perr := storage.ParseID(r.PathValue("id"))
		if perr != nil {
			return false, nil
		}
		var t *storage.Thread
		if t, err = in.store.ThreadByID(ctx, id); err == nil && (t.IsMirror() || t.DeletedAt != nil) {
			return false, nil
		}
	}
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Notify tells the Worker there is work; it never blocks.
func (in *Inbox) Notify() { in.wake.Notify() }

func (in *Inbox) inboxFailure(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	in.log.Error("inbox", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", "30")
	inboxError(w, http.StatusServiceUnavailable, "try again later")
}

// refuse answers a refused POST with status and reason, a short fixed
// phrase, and logs it at most once a minute per host and reason (see
// [federation.RefusalLog]): refusals a sender will retry, or whose sender
// cannot be verified, at WARN; bad or unwelcome input at INFO.
func (in *Inbox) refuse(w http.ResponseWriter, r *http.Request, status int, reason string, env *as.Envelope, host string, err error) {
	level := slog.LevelInfo
	if status == http.StatusUnauthorized || status == http.StatusTooManyRequests || status >= 500 {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{slog.Int("status", status), slog.String("path", r.URL.Path)}
	if env != nil {
		attrs = append(attrs, slog.String("actor", env.Actor), slog.String("type", env.Type))
	}
	if err != nil {
		attrs = append(attrs, slog.Any("err", err))
	}
	in.fed.Refusals().Log(r.Context(), level, "inbox activity refused", host, reason, attrs...)
	inboxError(w, status, reason)
}

// inboxError answers a short plain-text reason.
func inboxError(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, reason+"\n")
}

// isActivityContentType accepts the two ActivityPub media types, and
// plain JSON, which a few servers send.
func isActivityContentType(ct string) bool {
	switch ct {
	case "application/activity+json", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`:
		return true // what nearly every server sends, spared the parse
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/activity+json", "application/ld+json", "application/json":
		return true
	}
	return false
}
