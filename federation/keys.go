package federation

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/sync/singleflight"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/signature"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// keyPair is a local actor's key, parsed once.
type keyPair struct {
	private   *rsa.PrivateKey
	publicPEM string
}

type keyRef struct {
	kind string
	id   storage.ID
}

// localKeys hands out local actors' key pairs. Keys are made lazily, the
// first time an actor document or a signature needs one: RSA generation
// takes 50-150 ms, which no page view and no new thread should wait for.
// Concurrent first requests for one actor share one generation, and the
// database's first-write-wins insert settles races between processes.
type localKeys struct {
	store *storage.Store
	group singleflight.Group

	mu    sync.RWMutex
	cache map[keyRef]*keyPair
}

func newLocalKeys(store *storage.Store) *localKeys {
	return &localKeys{store: store, cache: make(map[keyRef]*keyPair)}
}

// get returns the actor's key pair, generating and storing it if needed.
func (k *localKeys) get(ctx context.Context, kind string, id storage.ID) (*keyPair, error) {
	ref := keyRef{kind, id}
	k.mu.RLock()
	kp := k.cache[ref]
	k.mu.RUnlock()
	if kp != nil {
		return kp, nil
	}
	v, err, _ := k.group.Do(kind+":"+id.String(), func() (any, error) {
		// Callers share this work: one caller giving up must not fail the
		// others or leave a half-made key.
		ctx := context.WithoutCancel(ctx)
		row, err := k.store.ActorKey(ctx, kind, id)
		if errors.Is(err, storage.ErrNotFound) {
			row, err = k.generate(ctx, kind, id)
		}
		if err != nil {
			return nil, err
		}
		priv, err := signature.ParsePrivateKeyPEM(row.PrivatePEM)
		if err != nil {
			return nil, fmt.Errorf("key of %s %s: %w", kind, id, err)
		}
		kp := &keyPair{private: priv, publicPEM: row.PublicPEM}
		k.mu.Lock()
		k.cache[ref] = kp
		k.mu.Unlock()
		return kp, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*keyPair), nil
}

func (k *localKeys) generate(ctx context.Context, kind string, id storage.ID) (*storage.ActorKey, error) {
	priv, err := signature.GenerateKey()
	if err != nil {
		return nil, err
	}
	privPEM, err := signature.EncodePrivateKeyPEM(priv)
	if err != nil {
		return nil, err
	}
	pubPEM, err := signature.EncodePublicKeyPEM(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	// If another process stored a key first, SaveActorKey returns that one.
	return k.store.SaveActorKey(ctx, &storage.ActorKey{OwnerKind: kind, OwnerID: id, PublicPEM: pubPEM, PrivatePEM: privPEM})
}

// SigningKey returns the key id and private key a local actor signs with:
// kind is storage.KeyOwnerInstance (id 0), KeyOwnerMember, KeyOwnerForum or
// KeyOwnerThread. The key is generated on first use.
func (s *Server) SigningKey(ctx context.Context, kind string, id storage.ID) (keyID string, key *rsa.PrivateKey, err error) {
	actor, err := s.localActorID(ctx, kind, id)
	if err != nil {
		return "", nil, err
	}
	kp, err := s.keys.get(ctx, kind, id)
	if err != nil {
		return "", nil, err
	}
	return site.KeyID(actor), kp.private, nil
}

// localActorID is the ActivityPub id of a local actor named by key owner.
func (s *Server) localActorID(ctx context.Context, kind string, id storage.ID) (string, error) {
	switch kind {
	case storage.KeyOwnerInstance:
		return s.urls.InstanceActor(), nil
	case storage.KeyOwnerThread:
		return s.urls.Thread(id), nil
	case storage.KeyOwnerMember:
		a, err := s.store.AccountByID(ctx, id)
		if err != nil {
			return "", err
		}
		if !a.IsLocal() {
			return "", fmt.Errorf("account %s is remote: %w", id, storage.ErrNotFound)
		}
		return s.urls.Member(a.Handle), nil
	case storage.KeyOwnerForum:
		f, err := s.Forum(ctx, id)
		if err != nil {
			return "", err
		}
		return s.urls.Forum(f.Slug), nil
	}
	return "", fmt.Errorf("%w: unknown key owner kind %q", storage.ErrInvalid, kind)
}

// publicKey is the publicKey object of a local actor's document.
func (s *Server) publicKey(ctx context.Context, actorID, kind string, id storage.ID) (as.PublicKey, error) {
	kp, err := s.keys.get(ctx, kind, id)
	if err != nil {
		return as.PublicKey{}, err
	}
	return as.PublicKey{ID: site.KeyID(actorID), Owner: actorID, PublicKeyPem: kp.publicPEM}, nil
}

// instanceSigner signs an outbound GET as the instance actor.
func (s *Server) instanceSigner(ctx context.Context) (func(*http.Request) error, error) {
	keyID, key, err := s.SigningKey(ctx, storage.KeyOwnerInstance, 0)
	if err != nil {
		return nil, err
	}
	return func(r *http.Request) error { return signature.SignRequest(r, nil, keyID, key) }, nil
}
