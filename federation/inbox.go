package federation

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/signature"
	"github.com/skein-forum/skein/storage"
)

// The inboxes: every local actor's and the shared one. A POST is checked
// here and nothing is stored unless every check passes (issue 4); what
// passes is queued (storage.AcceptInboxBatch, grouped by inbox_commit.go), answered 202 and applied later
// by the InboxWorker. Nothing on this path fetches anything remote when
// the signer's key is already known, so a busy peer costs one RSA
// verification, one small JSON decode and one insert per activity.

// MaxInboxBody is the largest activity an inbox accepts.
const MaxInboxBody = 1 << 20

// keyLookupTimeout bounds the fetch of an unknown signer's key on the
// request path.
const keyLookupTimeout = 5 * time.Second

// inboxTypes are the activities the worker applies. Anything else is
// answered 202 and dropped unstored: the sender did nothing wrong, we
// just have nothing to do with an EmojiReact or a Move.
var inboxTypes = map[string]bool{
	"Create": true, "Update": true, "Delete": true, "Follow": true, "Undo": true,
	"Accept": true, "Reject": true, "Like": true, "Announce": true, "Flag": true,
}

// errGoneActor means a Delete of an actor by itself came signed with a key
// the node never saw: the actor is gone (its document answers 410), so
// there is nothing to verify against and nothing of theirs to delete.
var errGoneActor = errors.New("self-delete of an unknown actor")

// inboxState is what the inboxes and their worker share.
type inboxState struct {
	wake     chan struct{} // work was queued: wake the InboxWorker
	commit   inboxCommit   // inbox_commit.go
	backfill backfillBudget
}

// registerInboxes adds the POST side of every actor.
func (s *Server) registerInboxes(mux *http.ServeMux) {
	for _, p := range []string{"/inbox", "/actor/inbox", "/u/{handle}/inbox", "/f/{slug}/inbox", "/t/{id}/inbox"} {
		mux.HandleFunc("POST "+p, s.serveInbox)
	}
}

func (s *Server) serveInbox(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > MaxInboxBody {
		inboxError(w, http.StatusRequestEntityTooLarge, "body larger than 1 MiB")
		return
	}
	if !isActivityContentType(r.Header.Get("Content-Type")) {
		inboxError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/activity+json or application/ld+json")
		return
	}
	if ok, err := s.inboxExists(r); err != nil {
		s.inboxFailure(w, r, err)
		return
	} else if !ok {
		inboxError(w, http.StatusNotFound, "no such inbox")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxInboxBody))
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
		inboxError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !inboxTypes[env.Type] {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	actorHost, err := s.checkRemote(env.Actor)
	switch {
	case errors.Is(err, ErrBlocked):
		inboxError(w, http.StatusForbidden, "domain is blocked")
		return
	case err != nil:
		inboxError(w, http.StatusBadRequest, "actor is not a remote http(s) URL")
		return
	}
	if env.ID != "" && !sameHost(env.ID, actorHost) {
		inboxError(w, http.StatusBadRequest, "activity id is on another host than its actor")
		return
	}

	owner, keyID, err := s.verifyInbox(r, body, env)
	switch {
	case errors.Is(err, errGoneActor):
		// Mastodon sends this for every account it deletes, to every
		// server it ever talked to: accept it without a fetch storm.
		w.WriteHeader(http.StatusAccepted)
		return
	case errors.Is(err, ErrBlocked):
		inboxError(w, http.StatusForbidden, "domain is blocked")
		return
	case errors.Is(err, signature.ErrMalformed):
		inboxError(w, http.StatusBadRequest, reasonOf(err))
		return
	case storage.Unavailable(err):
		// Storing the signer's actor failed, not the signature: a 401
		// would make the sender drop the activity instead of retrying.
		s.inboxFailure(w, r, err)
		return
	case err != nil:
		s.log.Debug("inbox signature refused", "actor", env.Actor, "err", err)
		w.Header().Set("WWW-Authenticate", `Signature realm="skein", headers="(request-target) host date digest"`)
		inboxError(w, http.StatusUnauthorized, reasonOf(err))
		return
	}
	if owner != env.Actor {
		inboxError(w, http.StatusUnauthorized, "signing key does not belong to the activity's actor")
		return
	}
	if refused, err := s.actorRefused(r.Context(), owner); err != nil {
		s.inboxFailure(w, r, err)
		return
	} else if refused {
		inboxError(w, http.StatusForbidden, "actor is suspended")
		return
	}
	stored, err := s.acceptInbox(r.Context(), storage.NewInboxItem{ActorID: env.Actor, KeyID: keyID, ActivityID: env.ID, Body: body})
	if err != nil {
		s.inboxFailure(w, r, err)
		return
	}
	if stored {
		s.wakeInbox()
	}
	w.WriteHeader(http.StatusAccepted)
}

// verifyInbox checks the POST's signature and returns the key's owner and
// id. A failing signature fetches the signer's actor once more, in case
// it rotated its key, except for a self-delete (see errGoneActor).
func (s *Server) verifyInbox(r *http.Request, body []byte, env *as.Envelope) (owner, keyID string, err error) {
	selfDelete := env.Type == "Delete" && env.Object == env.Actor
	lookup := func(refresh bool) signature.KeyLookup {
		return func(ctx context.Context, keyID string) (*rsa.PublicKey, error) {
			ctx, cancel := context.WithTimeout(ctx, keyLookupTimeout)
			defer cancel()
			var pub *rsa.PublicKey
			var err error
			if selfDelete {
				pub, owner, err = s.knownKey(ctx, keyID)
			} else {
				pub, owner, err = s.LookupKey(ctx, keyID, refresh)
			}
			return pub, err
		}
	}
	v, err := signature.Verify(r, body, s.cfg.Now(), lookup(false))
	if errors.Is(err, signature.ErrBadSignature) && !selfDelete {
		v, err = signature.Verify(r, body, s.cfg.Now(), lookup(true))
	}
	if err != nil {
		return "", "", err
	}
	return owner, v.KeyID, nil
}

// knownKey is LookupKey without a fetch: the key from the cache or the
// database, or errGoneActor.
func (s *Server) knownKey(ctx context.Context, keyID string) (*rsa.PublicKey, string, error) {
	actorID, _, _ := strings.Cut(keyID, "#")
	if _, err := s.checkRemote(actorID); err != nil {
		return nil, "", err
	}
	if k, ok := s.remote.get(keyID); ok {
		return k.pub, k.owner, nil
	}
	acc, err := s.store.AccountByKeyID(ctx, keyID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, "", errGoneActor
	}
	if err != nil {
		return nil, "", err
	}
	pub, err := signature.ParsePublicKeyPEM(acc.PublicKeyPEM)
	if err != nil {
		return nil, "", fmt.Errorf("key %s: %w", keyID, err)
	}
	return pub, *acc.APID, nil
}

// inboxExists reports whether the inbox a POST names belongs to a local
// actor. Mirrors of remote threads and the hidden forum holding them have
// no inbox: they are not ours to speak for.
func (s *Server) inboxExists(r *http.Request) (bool, error) {
	ctx := r.Context()
	var err error
	switch {
	case r.PathValue("handle") != "":
		_, err = s.store.MemberByHandle(ctx, r.PathValue("handle"))
	case r.PathValue("slug") != "":
		var f *storage.Forum
		if f, err = s.store.ForumBySlug(ctx, r.PathValue("slug")); err == nil && f.Hidden {
			return false, nil
		}
	case r.PathValue("id") != "":
		id, perr := storage.ParseID(r.PathValue("id"))
		if perr != nil {
			return false, nil
		}
		var t *storage.Thread
		if t, err = s.store.ThreadByID(ctx, id); err == nil && (t.IsMirror() || t.DeletedAt != nil) {
			return false, nil
		}
	}
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// wakeInbox tells the InboxWorker there is work; it never blocks.
func (s *Server) wakeInbox() {
	select {
	case s.inbox.wake <- struct{}{}:
	default:
	}
}

func (s *Server) inboxFailure(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.log.Error("inbox", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", "30")
	inboxError(w, http.StatusServiceUnavailable, "try again later")
}

// inboxError answers a short plain-text reason.
func inboxError(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, reason+"\n")
}

// reasonOf is the sentinel's text of a signature error: safe to send,
// unlike the wrapped detail, which may echo the request.
func reasonOf(err error) string {
	for _, e := range []error{signature.ErrUnsigned, signature.ErrMalformed, signature.ErrAlgorithm,
		signature.ErrHeadersNotCovered, signature.ErrStaleDate, signature.ErrBadDigest,
		signature.ErrKeyLookup, signature.ErrBadSignature} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "signature not accepted"
}

// isActivityContentType accepts the two ActivityPub media types, and
// plain JSON, which a few servers send.
func isActivityContentType(ct string) bool {
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
