package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// Errors of remote resolution.
var (
	ErrBlocked      = errors.New("domain is blocked")
	ErrHostMismatch = errors.New("document id is on another host than it was fetched from")
	ErrLocal        = errors.New("address is on this node")
)

// FetchObject GETs rawURL signed by the instance actor (some servers
// require signed fetches for everything) and decodes a JSON object. It
// returns the URL the document was finally served from.
func (s *Server) FetchObject(ctx context.Context, rawURL string) (map[string]any, string, error) {
	sign, err := s.instanceSigner(ctx)
	if err != nil {
		return nil, "", err
	}
	body, final, err := s.client.Get(ctx, rawURL, as.AcceptHeader, sign)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, "", fmt.Errorf("fetch %s: not a JSON object: %w", rawURL, err)
	}
	return m, final, nil
}

// CheckRemote validates a remote http(s) URL and returns its host (with
// port, lower case).
func (s *Server) CheckRemote(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", &storage.Invalid{Field: "url", Msg: fmt.Sprintf("not an http(s) URL: %q", raw)}
	}
	if _, local := s.urls.Path(raw); local {
		return "", fmt.Errorf("%w: %s", ErrLocal, raw)
	}
	host := strings.ToLower(u.Host)
	if s.Blocked(host) {
		return "", fmt.Errorf("%w: %s", ErrBlocked, host)
	}
	return host, nil
}

// Blocked reports whether a remote host is blocked (Config.BlockedDomain),
// with or without its port.
func (s *Server) Blocked(host string) bool {
	if s.cfg.BlockedDomain == nil {
		return false
	}
	h := host
	if i := strings.LastIndexByte(h, ':'); i > 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	return s.cfg.BlockedDomain(host) || (h != host && s.cfg.BlockedDomain(h))
}

// ResolveActor returns the remote actor with ActivityPub id id, from the
// database while its copy is younger than ActorMaxAge, else fetched
// (signed by the instance actor), checked and stored.
func (s *Server) ResolveActor(ctx context.Context, id string) (*storage.Account, error) {
	if _, err := s.CheckRemote(id); err != nil {
		return nil, err
	}
	acc, err := s.store.AccountByAPID(ctx, id)
	if err == nil && acc.FetchedAt != nil && s.cfg.Now().Sub(*acc.FetchedAt) < s.cfg.ActorMaxAge {
		return acc, nil
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	return s.RefreshActor(ctx, id)
}

// RefreshActor fetches a remote actor again whatever its age, as when a
// signature fails with the stored key (the actor may have rotated it).
// Concurrent refreshes of one actor share one fetch.
func (s *Server) RefreshActor(ctx context.Context, id string) (*storage.Account, error) {
	if _, err := s.CheckRemote(id); err != nil {
		return nil, err
	}
	v, err, _ := s.fetches.Do(id, func() (any, error) {
		m, final, err := s.FetchObject(ctx, id)
		if err != nil {
			return nil, err
		}
		return s.StoreActor(ctx, m, final)
	})
	if err != nil {
		return nil, err
	}
	return v.(*storage.Account), nil
}

// StoreActor parses an actor document fetched from fetchedFrom and stores
// it. The document's id must be on the host it was served from: anyone
// can serve a document claiming any id, and only the id's own host may
// speak for it.
func (s *Server) StoreActor(ctx context.Context, m map[string]any, fetchedFrom string) (*storage.Account, error) {
	if !as.IsActorType(m) {
		return nil, fmt.Errorf("%w: %s is a %v", ErrNotActor, fetchedFrom, m["type"])
	}
	acc, err := ParseActor(ctx, m)
	if err != nil {
		return nil, err
	}
	fetchedHost, err := s.CheckRemote(fetchedFrom)
	if err != nil {
		return nil, err
	}
	if acc.Domain != fetchedHost {
		return nil, fmt.Errorf("%w: %s from %s", ErrHostMismatch, *acc.APID, fetchedFrom)
	}
	if !as.SameHost(acc.PublicKeyID, acc.Domain) {
		return nil, fmt.Errorf("%w: key %s of %s", ErrHostMismatch, acc.PublicKeyID, *acc.APID)
	}
	stored, err := s.store.UpsertRemoteAccount(ctx, acc)
	if err != nil {
		return nil, err
	}
	s.remote.forget(stored.PublicKeyID)
	return stored, nil
}

// ResolveHandle finds a remote actor by its address, "name@host" (with or
// without a leading "@" or "acct:"), through the host's WebFinger, and
// stores it. The host may carry a port. WebFinger is asked over https,
// and over http too when AllowHTTP is set.
func (s *Server) ResolveHandle(ctx context.Context, handle string) (*storage.Account, error) {
	acct := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(handle), "acct:"), "@")
	name, host, ok := strings.Cut(acct, "@")
	if !ok || name == "" || host == "" || strings.ContainsAny(host, "/?#@") {
		return nil, &storage.Invalid{Field: "handle", Msg: fmt.Sprintf("%q is not name@host", handle)}
	}
	if strings.EqualFold(host, s.urls.Host()) {
		return nil, fmt.Errorf("%w: %s", ErrLocal, handle)
	}
	if s.Blocked(strings.ToLower(host)) {
		return nil, fmt.Errorf("%w: %s", ErrBlocked, host)
	}
	resource := "acct:" + name + "@" + host
	query := "/.well-known/webfinger?resource=" + url.QueryEscape(resource)
	schemes := []string{"https://"}
	if s.cfg.AllowHTTP {
		schemes = append(schemes, "http://")
	}
	var body []byte
	var err error
	for _, scheme := range schemes {
		body, _, err = s.client.Get(ctx, scheme+host+query, "application/jrd+json, application/json", nil)
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("webfinger %s: %w", resource, err)
	}
	var jrd JRD
	if err := json.Unmarshal(body, &jrd); err != nil {
		return nil, fmt.Errorf("webfinger %s: %w", resource, err)
	}
	for _, l := range jrd.Links {
		if l.Rel == "self" && l.Href != "" && (l.Type == "application/activity+json" ||
			strings.HasPrefix(l.Type, "application/ld+json")) {
			return s.ResolveActor(ctx, l.Href)
		}
	}
	return nil, fmt.Errorf("%w: %s", errNoWebFinger, resource)
}

// ResolveURL finds the actor behind an address someone pasted: an actor's
// id, or any web address whose ActivityPub form is an actor, such as a
// Skein thread page (the thread's Group). Other objects give ErrNotActor.
func (s *Server) ResolveURL(ctx context.Context, rawURL string) (*storage.Account, error) {
	if _, err := s.CheckRemote(rawURL); err != nil {
		return nil, err
	}
	if acc, err := s.store.AccountByAPID(ctx, rawURL); err == nil &&
		acc.FetchedAt != nil && s.cfg.Now().Sub(*acc.FetchedAt) < s.cfg.ActorMaxAge {
		return acc, nil
	}
	m, final, err := s.FetchObject(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	return s.StoreActor(ctx, m, final)
}
