package federation

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/signature"
	"github.com/skein-forum/skein/federation/transport"
	"github.com/skein-forum/skein/storage"
)

// ErrKeyUnavailable means a signer's key could not be fetched for a
// reason that may pass by itself (a timeout, a refused connection, a 5xx
// answer). Such a request is answered 503 with Retry-After, not 401:
// senders take a 4xx as final and drop the activity for good.
var ErrKeyUnavailable = errors.New("signing key temporarily unavailable")

const (
	// KeyRefetchGap is how often, at most, a remote key is fetched again
	// because a signature failed with the stored copy, across every
	// process on the database: a rotated key is taken at once, and a
	// stream of bad signatures costs its server one fetch per interval.
	KeyRefetchGap = 10 * time.Second
	// keyMissTTL is how long a failed key lookup is remembered: a busy
	// peer's first burst of requests must not become a burst of fetches.
	keyMissTTL = 30 * time.Second
	// keyLookupTimeout bounds the fetch of a signer's key on the request
	// path (the key document and its owner's).
	keyLookupTimeout = 5 * time.Second
	// RetryAfterSeconds is the Retry-After of a request refused because
	// the signer's key could not be fetched for now.
	RetryAfterSeconds = 60

	remoteKeysMax = 10000
	keyMissesMax  = 1000
)

// remoteKeys caches parsed public keys of remote actors by key id, so a
// busy peer's signatures cost one RSA verification and no database read,
// and remembers key ids whose lookup failed a moment ago. An entry is
// dropped whenever its actor is fetched again.
type remoteKeys struct {
	mu     sync.RWMutex
	m      map[string]remoteKey
	misses map[string]keyMiss
}

type remoteKey struct {
	pub   *rsa.PublicKey
	owner string // the actor's id
}

type keyMiss struct {
	err   error
	until time.Time
}

func (c *remoteKeys) get(keyID string) (remoteKey, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, ok := c.m[keyID]
	return k, ok
}

func (c *remoteKeys) put(keyID string, k remoteKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= remoteKeysMax {
		c.m = make(map[string]remoteKey)
	}
	c.m[keyID] = k
	delete(c.misses, keyID)
}

func (c *remoteKeys) forget(keyID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, keyID)
	delete(c.misses, keyID)
}

// missed is the error of a lookup of keyID that failed less than
// keyMissTTL before now, or nil.
func (c *remoteKeys) missed(keyID string, now time.Time) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if m, ok := c.misses[keyID]; ok && now.Before(m.until) {
		return m.err
	}
	return nil
}

func (c *remoteKeys) miss(keyID string, err error, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.misses == nil || len(c.misses) >= keyMissesMax {
		// Dropping them all at once is cheap and bounded; a full table
		// means someone is making up key ids, which the inbox's rate
		// limits deal with.
		c.misses = make(map[string]keyMiss)
	}
	c.misses[keyID] = keyMiss{err: err, until: now.Add(keyMissTTL)}
}

// LookupKey returns the public key with the given key id and the id of
// the actor that owns it: a local actor's from its key pair, a remote
// one's from the cache, the database or a fetch. A fetch reads the
// document at the key id: the actor itself (Mastodon's ACTOR#main-key),
// or a key document or key stub (GoToSocial's ACTOR/main-key), whose
// owner is then fetched and must publish the same key under that id.
// Concurrent lookups of one key share a fetch, and a failed one is
// remembered for a short while. A failure that may pass is
// [ErrKeyUnavailable].
func (s *Server) LookupKey(ctx context.Context, keyID string) (*rsa.PublicKey, string, error) {
	if pub, owner, local, err := s.localKey(ctx, keyID); local {
		return pub, owner, err
	}
	if _, err := s.CheckRemote(keyID); err != nil {
		return nil, "", err
	}
	if k, ok := s.remote.get(keyID); ok {
		return k.pub, k.owner, nil
	}
	acc, err := s.store.AccountByKeyID(ctx, keyID)
	if err == nil {
		return s.rememberKey(keyID, acc)
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return nil, "", err
	}
	v, err, _ := s.fetches.Do("key "+keyID, func() (any, error) {
		// A lookup that finished just before this one joined has
		// cached its outcome: take it rather than fetch again.
		if k, ok := s.remote.get(keyID); ok {
			return k, nil
		}
		if err := s.remote.missed(keyID, s.cfg.Now()); err != nil {
			return nil, err
		}
		acc, err := s.fetchKey(ctx, keyID)
		if err != nil {
			if !storage.Unavailable(err) {
				s.remote.miss(keyID, err, s.cfg.Now())
			}
			return nil, err
		}
		pub, owner, err := s.rememberKey(keyID, acc)
		return remoteKey{pub: pub, owner: owner}, err
	})
	if err != nil {
		return nil, "", err
	}
	k := v.(remoteKey)
	return k.pub, k.owner, nil
}

// RefreshKey is LookupKey after a signature failed with failed, the key
// LookupKey gave: the signer may have rotated its key. It first reads
// the database again, where another process may have stored the new key
// already; else it fetches the key once more, unless any process did so
// less than [KeyRefetchGap] ago.
func (s *Server) RefreshKey(ctx context.Context, keyID string, failed *rsa.PublicKey) (*rsa.PublicKey, string, error) {
	if pub, owner, local, err := s.localKey(ctx, keyID); local {
		return pub, owner, err
	}
	if _, err := s.CheckRemote(keyID); err != nil {
		return nil, "", err
	}
	acc, err := s.store.AccountByKeyID(ctx, keyID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, "", err
	}
	if acc != nil {
		pub, owner, err := s.rememberKey(keyID, acc)
		if err == nil && (failed == nil || !pub.Equal(failed)) {
			return pub, owner, nil
		}
	}
	v, err, _ := s.fetches.Do("refresh "+keyID, func() (any, error) {
		ok, err := s.store.ClaimKeyRefetch(ctx, keyID, s.cfg.Now(), KeyRefetchGap)
		if err != nil {
			return nil, err
		}
		if !ok {
			// Fetched moments ago: the key on file stands, and the
			// signature fails with it as it did.
			return acc, nil
		}
		return s.fetchKey(ctx, keyID)
	})
	if err != nil {
		return nil, "", err
	}
	if v.(*storage.Account) == nil {
		return nil, "", fmt.Errorf("key %s: %w", keyID, storage.ErrNotFound)
	}
	return s.rememberKey(keyID, v.(*storage.Account))
}

// rememberKey parses acc's key, which has id keyID, and caches it.
func (s *Server) rememberKey(keyID string, acc *storage.Account) (*rsa.PublicKey, string, error) {
	if acc.PublicKeyID != keyID || acc.APID == nil {
		return nil, "", fmt.Errorf("key %s: actor publishes %s instead", keyID, acc.PublicKeyID)
	}
	pub, err := signature.ParsePublicKeyPEM(acc.PublicKeyPEM)
	if err != nil {
		return nil, "", fmt.Errorf("key %s: %w", keyID, err)
	}
	s.remote.put(keyID, remoteKey{pub: pub, owner: *acc.APID})
	return pub, *acc.APID, nil
}

// fetchKey fetches the key keyID and stores its owner. Failures that may
// pass are marked [ErrKeyUnavailable].
func (s *Server) fetchKey(ctx context.Context, keyID string) (*storage.Account, error) {
	acc, err := s.fetchKeyOwner(ctx, keyID)
	if err != nil && transport.Transient(err) && !errors.Is(err, ErrKeyUnavailable) {
		err = fmt.Errorf("%w: %w", ErrKeyUnavailable, err)
	}
	return acc, err
}

func (s *Server) fetchKeyOwner(ctx context.Context, keyID string) (*storage.Account, error) {
	docURL, _, _ := strings.Cut(keyID, "#")
	m, final, err := s.FetchObject(ctx, docURL)
	if err != nil {
		return nil, err
	}
	k, ok := as.FindKey(m, keyID)
	if !ok {
		return nil, fmt.Errorf("key %s: the document at its address does not publish it", keyID)
	}
	if as.IsActorType(m) && as.String(m, "inbox") != "" {
		// The actor itself, as Mastodon serves at ACTOR#main-key.
		acc, err := s.StoreActor(ctx, m, final)
		if err != nil {
			return nil, err
		}
		if acc.PublicKeyID != keyID {
			return nil, fmt.Errorf("key %s: actor %s owns %s instead", keyID, *acc.APID, acc.PublicKeyID)
		}
		return acc, nil
	}
	// A key document or a stub: only the owner's own document can say
	// the key is theirs, and the owner must be on the key's host.
	if k.Owner == "" || k.Owner == docURL || !as.SameHost(k.Owner, as.HostOf(keyID)) {
		return nil, fmt.Errorf("key %s: %w (owner %q)", keyID, ErrNotActor, k.Owner)
	}
	acc, err := s.RefreshActor(ctx, k.Owner)
	if err != nil {
		return nil, fmt.Errorf("key %s: owner: %w", keyID, err)
	}
	if acc.PublicKeyID != keyID {
		return nil, fmt.Errorf("key %s: its owner %s publishes %s instead", keyID, k.Owner, acc.PublicKeyID)
	}
	if k.PEM != "" {
		served, err := signature.ParsePublicKeyPEM(k.PEM)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", keyID, err)
		}
		if owned, err := signature.ParsePublicKeyPEM(acc.PublicKeyPEM); err != nil || !owned.Equal(served) {
			return nil, fmt.Errorf("key %s: its owner %s publishes another key under that id", keyID, k.Owner)
		}
	}
	return acc, nil
}

// localKey is the key of a local actor when keyID is on this node
// (local is then true): a node can fetch from itself, and tests sign
// with local keys.
func (s *Server) localKey(ctx context.Context, keyID string) (pub *rsa.PublicKey, owner string, local bool, err error) {
	actorID, _, _ := strings.Cut(keyID, "#")
	path, local := s.urls.Path(actorID)
	if !local {
		return nil, "", false, nil
	}
	pub, owner, err = s.localPublicKey(ctx, path, keyID)
	return pub, owner, true, err
}

// localPublicKey finds the key of a local actor by its path; a node can
// fetch from itself, and tests sign with local keys.
func (s *Server) localPublicKey(ctx context.Context, path, keyID string) (*rsa.PublicKey, string, error) {
	actorID := s.urls.Abs(path)
	if keyID != actorID+"#main-key" {
		return nil, "", fmt.Errorf("key %s: %w", keyID, storage.ErrNotFound)
	}
	var kind string
	var id storage.ID
	switch prefix, name, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/"); {
	case path == "/actor":
		kind = storage.KeyOwnerInstance
	case prefix == "u":
		a, err := s.store.MemberByHandle(ctx, name)
		if err != nil {
			return nil, "", err
		}
		kind, id = storage.KeyOwnerMember, a.ID
	case prefix == "f":
		f, err := s.store.ForumBySlug(ctx, name)
		if err != nil {
			return nil, "", err
		}
		kind, id = storage.KeyOwnerForum, f.ID
	case prefix == "t":
		tid, err := storage.ParseID(name)
		if err != nil {
			return nil, "", fmt.Errorf("key %s: %w", keyID, storage.ErrNotFound)
		}
		kind, id = storage.KeyOwnerThread, tid
	default:
		return nil, "", fmt.Errorf("key %s: %w", keyID, storage.ErrNotFound)
	}
	kp, err := s.keys.get(ctx, kind, id)
	if err != nil {
		return nil, "", err
	}
	return &kp.private.PublicKey, actorID, nil
}

// VerifySignature checks the HTTP signature of r against body (nil for a
// GET) and returns what it verified and the key's owner. vet, when not
// nil, sees the key id before any lookup and may refuse it, so that a
// request naming a key it could never use costs no fetch. When the
// signature fails with the key on file, the key is looked up once more
// with [Server.RefreshKey]: the signer may have rotated it.
func (s *Server) VerifySignature(r *http.Request, body []byte, vet func(keyID string) error) (*signature.Verified, string, error) {
	var owner string
	var used *rsa.PublicKey
	lookup := func(refresh bool) signature.KeyLookup {
		return func(ctx context.Context, keyID string) (*rsa.PublicKey, error) {
			if vet != nil {
				if err := vet(keyID); err != nil {
					return nil, err
				}
			}
			ctx, cancel := context.WithTimeout(ctx, keyLookupTimeout)
			defer cancel()
			var pub *rsa.PublicKey
			var err error
			if refresh {
				pub, owner, err = s.RefreshKey(ctx, keyID, used)
			} else {
				pub, owner, err = s.LookupKey(ctx, keyID)
			}
			used = pub
			return pub, err
		}
	}
	v, err := signature.Verify(r, body, s.cfg.Now(), lookup(false))
	if errors.Is(err, signature.ErrBadSignature) {
		v, err = signature.Verify(r, body, s.cfg.Now(), lookup(true))
	}
	if err != nil {
		return nil, "", err
	}
	return v, owner, nil
}

// VerifyFetch checks the HTTP signature of a GET and returns the id of
// the actor that signed it.
func (s *Server) VerifyFetch(r *http.Request) (string, error) {
	_, owner, err := s.VerifySignature(r, nil, nil)
	return owner, err
}

// requireSignature guards a handler under authorized fetch: only GETs
// signed by a non-blocked server, and not by a suspended actor, get
// through.
func (s *Server) requireSignature(next http.Handler) http.Handler {
	if !s.cfg.AuthorizedFetch {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		owner, err := s.VerifyFetch(r)
		switch {
		case errors.Is(err, ErrKeyUnavailable) || storage.Unavailable(err):
			s.refusals.Log(r.Context(), slog.LevelWarn, "signed fetch deferred", signerHost(r), "signing key not available yet",
				slog.String("path", r.URL.Path), slog.Any("err", err))
			RetryLater(w)
			writeError(w, http.StatusServiceUnavailable, "signing key not available yet, try again later")
			return
		case err != nil:
			s.refusals.Log(r.Context(), slog.LevelWarn, "signed fetch refused", signerHost(r), SignatureReason(err),
				slog.String("path", r.URL.Path), slog.Any("err", err))
			w.Header().Set("WWW-Authenticate", `Signature realm="skein", headers="(request-target) host date"`)
			writeError(w, http.StatusUnauthorized, "a valid HTTP signature is required")
			return
		}
		if refused, err := s.store.ActorSuspended(r.Context(), owner); err != nil || refused {
			writeError(w, http.StatusForbidden, "actor is suspended")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// signerHost is the host of the keyId a request's signature names, for
// the log; "" when it names none.
func signerHost(r *http.Request) string {
	p, err := signature.ParseSignatureHeader(r.Header.Get("Signature"))
	if err != nil {
		return ""
	}
	return strings.ToLower(as.HostOf(p.KeyID))
}

// SignatureReason is the sentinel's text of a signature error: a short
// fixed reason, safe to send back and to group log lines by, unlike the
// wrapped detail, which may echo the request.
func SignatureReason(err error) string {
	for _, e := range []error{signature.ErrUnsigned, signature.ErrMalformed, signature.ErrAlgorithm,
		signature.ErrHeadersNotCovered, signature.ErrStaleDate, signature.ErrBadDigest,
		ErrKeyUnavailable, signature.ErrKeyLookup, signature.ErrBadSignature} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "signature not accepted"
}

// RetryLater sets the Retry-After of an answer refusing a request only
// for now (503 or 429).
func RetryLater(w http.ResponseWriter) {
	w.Header().Set("Retry-After", fmt.Sprint(RetryAfterSeconds))
}

// KnownKey is LookupKey without a fetch: the key from the cache or the
// database, or storage.ErrNotFound when the node never saw it.
func (s *Server) KnownKey(ctx context.Context, keyID string) (*rsa.PublicKey, string, error) {
	actorID, _, _ := strings.Cut(keyID, "#")
	if _, err := s.CheckRemote(actorID); err != nil {
		return nil, "", err
	}
	if k, ok := s.remote.get(keyID); ok {
		return k.pub, k.owner, nil
	}
	acc, err := s.store.AccountByKeyID(ctx, keyID)
	if err != nil {
		return nil, "", err
	}
	pub, err := signature.ParsePublicKeyPEM(acc.PublicKeyPEM)
	if err != nil {
		return nil, "", fmt.Errorf("key %s: %w", keyID, err)
	}
	return pub, *acc.APID, nil
}
