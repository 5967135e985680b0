package federation

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/signature"
	"github.com/skein-forum/skein/storage"
)

// remoteKeys caches parsed public keys of remote actors by key id, so a
// busy peer's signatures cost one RSA verification and no database read.
// An entry is dropped whenever its actor is fetched again.
type remoteKeys struct {
	mu sync.RWMutex
	m  map[string]remoteKey
}

type remoteKey struct {
	pub   *rsa.PublicKey
	owner string // the actor's id
}

const remoteKeysMax = 10000

// keyRefreshMinAge is how old a remote actor's stored copy must be before
// a failing signature makes the node fetch it again.
const keyRefreshMinAge = time.Minute

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
}

func (c *remoteKeys) forget(keyID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, keyID)
}

// LookupKey returns the public key with the given key id and the id of the
// actor that owns it: a local actor's from its key pair, a remote one's
// from the cache, the database or a fetch of its actor. refresh forces the
// fetch, for when a signature failed with the key on file.
func (s *Server) LookupKey(ctx context.Context, keyID string, refresh bool) (*rsa.PublicKey, string, error) {
	actorID, _, _ := strings.Cut(keyID, "#")
	if path, local := s.urls.Path(actorID); local {
		return s.localPublicKey(ctx, path, keyID)
	}
	host, err := s.CheckRemote(actorID)
	if err != nil {
		return nil, "", err
	}
	if !refresh {
		if k, ok := s.remote.get(keyID); ok {
			return k.pub, k.owner, nil
		}
	}
	acc, err := s.store.AccountByKeyID(ctx, keyID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, "", err
	}
	if acc != nil && refresh && acc.FetchedAt != nil && s.cfg.Now().Sub(*acc.FetchedAt) < keyRefreshMinAge {
		// Fetched moments ago: a bad signature now is the signer's fault,
		// and refetching on every bad request would let anyone make the
		// node hammer a third party.
		return nil, "", fmt.Errorf("key %s: signature fails with a key fetched %s ago", keyID, s.cfg.Now().Sub(*acc.FetchedAt).Round(time.Second))
	}
	if acc == nil || refresh {
		// Mastodon's key ids are ACTOR#main-key; others use a path
		// (ACTOR/main-key) that serves the actor or a Key with an owner.
		acc, err = s.RefreshActor(ctx, actorID)
		if errors.Is(err, ErrNotActor) {
			acc, err = s.keyOwner(ctx, keyID)
		}
		if err != nil {
			return nil, "", err
		}
	}
	if acc.PublicKeyID != keyID || !strings.EqualFold(acc.Domain, host) {
		return nil, "", fmt.Errorf("key %s: actor %s publishes %s instead", keyID, actorID, acc.PublicKeyID)
	}
	pub, err := signature.ParsePublicKeyPEM(acc.PublicKeyPEM)
	if err != nil {
		return nil, "", fmt.Errorf("key %s: %w", keyID, err)
	}
	s.remote.put(keyID, remoteKey{pub: pub, owner: *acc.APID})
	return pub, *acc.APID, nil
}

// keyOwner fetches a key published as a document of its own and then
// its owner, which must be on the same host.
func (s *Server) keyOwner(ctx context.Context, keyID string) (*storage.Account, error) {
	m, _, err := s.FetchObject(ctx, keyID)
	if err != nil {
		return nil, err
	}
	owner, _ := m["owner"].(string)
	if owner == "" || !as.SameHost(owner, as.HostOf(keyID)) {
		return nil, fmt.Errorf("key %s: %w", keyID, ErrNotActor)
	}
	return s.RefreshActor(ctx, owner)
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

// VerifyFetch checks the HTTP signature of a GET and returns the id of the
// actor that signed it. When the signature fails with the key on file,
// the signer's actor is fetched once more: it may have rotated its key.
func (s *Server) VerifyFetch(r *http.Request) (string, error) {
	var owner string
	lookup := func(refresh bool) signature.KeyLookup {
		return func(ctx context.Context, keyID string) (*rsa.PublicKey, error) {
			pub, o, err := s.LookupKey(ctx, keyID, refresh)
			owner = o
			return pub, err
		}
	}
	_, err := signature.Verify(r, nil, s.cfg.Now(), lookup(false))
	if errors.Is(err, signature.ErrBadSignature) {
		_, err = signature.Verify(r, nil, s.cfg.Now(), lookup(true))
	}
	if err != nil {
		return "", err
	}
	return owner, nil
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
		if err != nil {
			s.log.Debug("unsigned or badly signed fetch refused", "path", r.URL.Path, "err", err)
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
