package fedtest

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/skein-forum/skein/federation/signature"
)

// keyPoolSize bounds how many distinct RSA keys a process makes: making a
// 2048-bit key takes tens of milliseconds or more, and servers are told
// apart by key id, not by key.
const keyPoolSize = 8

var (
	keyPoolMu sync.Mutex
	keyPool   [keyPoolSize]*rsa.PrivateKey
)

// Key returns the i-th key of a small pool made once per process, on first
// use (i is taken modulo the pool's size of 8). Servers started one after
// another take turns in the pool.
func Key(i int) *rsa.PrivateKey {
	i = ((i % keyPoolSize) + keyPoolSize) % keyPoolSize
	keyPoolMu.Lock()
	defer keyPoolMu.Unlock()
	if keyPool[i] == nil {
		k, err := signature.GenerateKey()
		if err != nil {
			panic(fmt.Sprintf("fedtest: %v", err))
		}
		keyPool[i] = k
	}
	return keyPool[i]
}

// PublicKeyPEM is the PEM form of k's public key, as actor documents
// publish it.
func PublicKeyPEM(k *rsa.PrivateKey) string {
	pem, err := signature.EncodePublicKeyPEM(&k.PublicKey)
	if err != nil {
		panic(fmt.Sprintf("fedtest: %v", err))
	}
	return pem
}

// KeyLookup finds the public key of a key id and the id of the actor that
// owns it.
type KeyLookup func(ctx context.Context, keyID string) (pub *rsa.PublicKey, owner string, err error)

// KeyCache fetches the keys that sign requests to a fake server, as a real
// server does: it GETs the key id and takes the publicKey entry with that
// id. A document that speaks for the key's owner (the owner's actor, or a
// GoToSocial key stub, whose id is the owner's) is taken at its word, as
// GoToSocial takes stubs; any other (a Key of its own) makes it GET the
// owner too, which must list the same key.
// Keys are kept for the cache's life; one fetch per key serves concurrent
// lookups. Several servers may share one cache.
type KeyCache struct {
	// Client makes the fetches; nil is a client with a 10 s timeout.
	Client *http.Client
	// Sign, when set, signs each fetch (a server's instance actor does).
	Sign func(*http.Request) error

	mu   sync.Mutex
	keys map[string]cachedKey
	sf   singleflight.Group
}

type cachedKey struct {
	pub   *rsa.PublicKey
	owner string
}

var defaultClient = &http.Client{Timeout: 10 * time.Second}

// Lookup is a [KeyLookup].
func (c *KeyCache) Lookup(ctx context.Context, keyID string) (*rsa.PublicKey, string, error) {
	c.mu.Lock()
	k, ok := c.keys[keyID]
	c.mu.Unlock()
	if ok {
		return k.pub, k.owner, nil
	}
	v, err, _ := c.sf.Do(keyID, func() (any, error) {
		k, err := c.fetch(ctx, keyID)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.keys == nil {
			c.keys = map[string]cachedKey{}
		}
		c.keys[keyID] = k
		c.mu.Unlock()
		return k, nil
	})
	if err != nil {
		return nil, "", err
	}
	k = v.(cachedKey)
	return k.pub, k.owner, nil
}

func (c *KeyCache) fetch(ctx context.Context, keyID string) (cachedKey, error) {
	url, _, _ := strings.Cut(keyID, "#")
	doc, err := c.get(ctx, url)
	if err != nil {
		return cachedKey{}, err
	}
	pem, owner, ok := publicKeyOf(doc, keyID)
	if !ok {
		return cachedKey{}, fmt.Errorf("%s does not publish key %s", url, keyID)
	}
	if owner == "" {
		owner, _ = doc["id"].(string)
	}
	if id, _ := doc["id"].(string); id != owner || !sameHost(id, url) {
		// Not the owner's document: the owner must vouch for the key.
		od, err := c.get(ctx, owner)
		if err != nil {
			return cachedKey{}, fmt.Errorf("owner of %s: %w", keyID, err)
		}
		if id, _ := od["id"].(string); id != owner {
			return cachedKey{}, fmt.Errorf("owner %s of %s serves a document with id %q", owner, keyID, id)
		}
		if _, _, ok := publicKeyOf(od, keyID); !ok {
			return cachedKey{}, fmt.Errorf("owner %s does not list key %s", owner, keyID)
		}
	}
	pub, err := signature.ParsePublicKeyPEM(pem)
	if err != nil {
		return cachedKey{}, fmt.Errorf("key %s: %w", keyID, err)
	}
	return cachedKey{pub: pub, owner: owner}, nil
}

// publicKeyOf finds the key with id keyID in a document's publicKey, an
// object or an array of them.
func publicKeyOf(doc map[string]any, keyID string) (pem, owner string, ok bool) {
	var keys []any
	switch pk := doc["publicKey"].(type) {
	case map[string]any:
		keys = []any{pk}
	case []any:
		keys = pk
	}
	for _, k := range keys {
		m, _ := k.(map[string]any)
		if id, _ := m["id"].(string); id == keyID {
			pem, _ = m["publicKeyPem"].(string)
			owner, _ = m["owner"].(string)
			return pem, owner, pem != ""
		}
	}
	return "", "", false
}

func (c *KeyCache) get(ctx context.Context, url string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/activity+json")
	if c.Sign != nil {
		if err := c.Sign(req); err != nil {
			return nil, err
		}
	}
	client := c.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var doc map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if doc == nil {
		return nil, errors.New("GET " + url + ": not a JSON object")
	}
	return doc, nil
}

// sameHost reports whether two URLs have the same scheme and host.
func sameHost(a, b string) bool {
	ua, err1 := neturl.Parse(a)
	ub, err2 := neturl.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && strings.EqualFold(ua.Host, ub.Host)
}
