package fedtest

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Options change a [Server]; the zero value is a server with its own key
// from the pool ([Key]) and its own [KeyCache].
type Options struct {
	// Key signs for every actor of the server; nil takes the next key of
	// the pool.
	Key *rsa.PrivateKey
	// Keys finds the keys that sign requests to the server; nil is a
	// [KeyCache] of the server's own, signing its fetches as the
	// server's instance actor.
	Keys KeyLookup
	// Errorf reports what no real server would accept from a sender that
	// works: a body that is not JSON, an activity without @context, one
	// signed by a key its actor does not own. [New] sets it to t.Errorf.
	Errorf func(format string, args ...any)
	// Logf reports what a sender may fix by retrying (a signature that
	// does not verify while the sender restarts, say); nil is silent.
	Logf func(format string, args ...any)
	// OnDelivery, when set, sees every POST to an inbox once it is
	// answered, in the goroutine that served it.
	OnDelivery func(Delivery)
	// NoSharedInbox leaves out the shared inbox of a style that has one,
	// as smaller servers do: deliveries then go to each actor's inbox.
	NoSharedInbox bool
	// AuthorizedFetch makes the server serve documents only to signed
	// GETs, as Mastodon's secure mode does; GoToSocial always does.
	AuthorizedFetch bool
}

// Server is a fake fediverse server on a loopback port.
type Server struct {
	URL  string // http://127.0.0.1:PORT
	Host string // 127.0.0.1:PORT

	style  Style
	key    *rsa.PrivateKey
	opts   Options
	keys   KeyLookup
	srv    *http.Server
	ln     net.Listener
	closed atomic.Bool

	mu       sync.Mutex
	actors   map[string]*Actor // by id
	docs     map[string]any    // served at a path
	handlers map[string]http.HandlerFunc
	hits     map[string]int
	requests []Request
	inbox    inboxState
}

// headerWithHost is r's header with the Host that net/http moved out of
// it: it is among what senders sign.
func headerWithHost(r *http.Request) http.Header {
	h := r.Header.Clone()
	h.Set("Host", r.Host)
	return h
}

// Request is one request the server got, of any kind.
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	At     time.Time
}

var nextKey atomic.Int64

// Start starts a server of the given style on a free loopback port. Close
// stops it.
func Start(style Style, o Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fedtest: listen: %w", err)
	}
	s := &Server{
		URL: "http://" + ln.Addr().String(), Host: ln.Addr().String(),
		style: style, key: o.Key, opts: o, ln: ln,
		actors: map[string]*Actor{}, docs: map[string]any{}, handlers: map[string]http.HandlerFunc{}, hits: map[string]int{},
	}
	if s.key == nil {
		s.key = Key(int(nextKey.Add(1) - 1))
	}
	inst := s.InstanceActor()
	s.keys = o.Keys
	if s.keys == nil {
		c := &KeyCache{Sign: func(r *http.Request) error {
			r.Header.Set("Accept", style.accept())
			return Sign(r, nil, inst.Signing(http.MethodGet))
		}}
		s.keys = c.Lookup
	}
	s.inbox.changed = make(chan struct{})
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// New starts a server for a test and stops it when the test ends; what no
// real server would accept fails the test.
func New(t testing.TB, style Style) *Server {
	t.Helper()
	return NewWith(t, style, Options{})
}

// NewWith is [New] with options; Errorf and Logf default to the test's.
func NewWith(t testing.TB, style Style, o Options) *Server {
	t.Helper()
	if o.Errorf == nil {
		o.Errorf = t.Errorf
	}
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	s, err := Start(style, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, cutting connections still open (handlers that
// hang on a request see its context end). Calling it again does nothing.
func (s *Server) Close() {
	if s.closed.Swap(true) {
		return
	}
	s.srv.Close()
}

// Style is the style the server plays.
func (s *Server) Style() Style { return s.style }

// SharedInbox is the server's shared inbox, or "" for a style without one.
func (s *Server) SharedInbox() string {
	if !s.hasSharedInbox() {
		return ""
	}
	return s.URL + "/inbox"
}

// Actor returns the Person called name (or the Group, after
// [Server.Group]). Every name has an actor: documents are served for any
// name a request asks for.
func (s *Server) Actor(name string) *Actor {
	return s.actor(s.URL+s.style.personPath(name), name, "Person")
}

// Group returns the Group called name, served from then on.
func (s *Server) Group(name string) *Actor {
	return s.actor(s.URL+s.style.groupPath(name), name, "Group")
}

// InstanceActor is the server's own actor, which signs its fetches:
// Mastodon's and Lemmy's Application at /actor, GoToSocial's Service at
// /users/HOST.
func (s *Server) InstanceActor() *Actor {
	if s.style == GoToSocial {
		return s.actor(s.URL+"/users/"+s.Host, s.Host, "Service")
	}
	return s.actor(s.URL+"/actor", s.Host, "Application")
}

func (s *Server) actor(id, name, typ string) *Actor {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.actors[id]; a != nil {
		return a
	}
	a := &Actor{Server: s, Name: name, ID: id, Type: typ, Key: s.key}
	s.actors[id] = a
	return a
}

// lookupActor is the actor whose id is the server's URL plus path, if the
// path is an actor path of the style.
func (s *Server) lookupActor(path string) *Actor {
	s.mu.Lock()
	a := s.actors[s.URL+path]
	s.mu.Unlock()
	if a != nil {
		return a
	}
	for _, prefix := range s.actorPrefixes() {
		name, ok := strings.CutPrefix(path, prefix)
		if ok && name != "" && !strings.Contains(name, "/") {
			if prefix == s.style.groupPath("") && prefix != s.style.personPath("") {
				return s.Group(name)
			}
			return s.Actor(name)
		}
	}
	return nil
}

func (s *Server) actorPrefixes() []string {
	if s.style == Lemmy {
		return []string{"/u/", "/c/"}
	}
	return []string{"/users/"}
}

// Publish serves doc at the path of its id (which must be on this server)
// from now on, as the style serves documents.
func (s *Server) Publish(doc map[string]any) {
	id, _ := doc["id"].(string)
	path, ok := strings.CutPrefix(id, s.URL)
	if !ok {
		panic(fmt.Sprintf("fedtest: publish %q on %s", id, s.URL))
	}
	s.mu.Lock()
	s.docs[path] = doc
	s.mu.Unlock()
}

// Handle serves path with h from now on, before anything the server
// serves there by itself; nil gives the path back.
func (s *Server) Handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil {
		delete(s.handlers, path)
		return
	}
	s.handlers[path] = h
}

// Hits counts the requests for path, of any method; "" counts all.
func (s *Server) Hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if path != "" {
		return s.hits[path]
	}
	n := 0
	for _, k := range s.hits {
		n += k
	}
	return n
}

// Requests is every request the server got, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: headerWithHost(r), At: time.Now()})
	h := s.handlers[r.URL.Path]
	doc, published := s.docs[r.URL.Path]
	s.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	path := r.URL.Path
	if r.Method == http.MethodPost {
		if s.isInbox(path) {
			s.serveInbox(w, r)
			return
		}
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch path {
	case "/.well-known/webfinger":
		s.serveWebFinger(w, r)
		return
	case "/.well-known/nodeinfo":
		writeJSON(w, "application/json", map[string]any{"links": []any{map[string]any{
			"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": s.URL + "/nodeinfo/2.0"}}})
		return
	case "/nodeinfo/2.0":
		name, version := s.style.software()
		writeJSON(w, "application/json", map[string]any{"version": "2.0",
			"software": map[string]any{"name": name, "version": version}, "protocols": []any{"activitypub"},
			"services": map[string]any{"inbound": []any{}, "outbound": []any{}}, "openRegistrations": false,
			"usage": map[string]any{"users": map[string]any{}}, "metadata": map[string]any{}})
		return
	}
	if s.style == GoToSocial {
		if owner, ok := strings.CutSuffix(path, "/main-key"); ok {
			if a := s.lookupActor(owner); a != nil {
				// The key stub is served to anyone: it is how others
				// verify this server's signatures.
				s.writeDocument(w, a.KeyStub())
				return
			}
		}
	}
	if a := s.lookupActor(path); a != nil {
		if a.Type == "Application" || s.checkSignedGET(w, r) {
			s.writeDocument(w, a.Document())
		}
		return
	}
	if published {
		if s.checkSignedGET(w, r) {
			s.writeDocument(w, doc)
		}
		return
	}
	if i := strings.LastIndexByte(path, '/'); i > 0 {
		if a := s.lookupActor(strings.TrimSuffix(path[:i], "/collections")); a != nil {
			switch path[i+1:] {
			case "outbox", "followers", "following", "featured", "tags", "moderators":
				if s.checkSignedGET(w, r) {
					s.writeDocument(w, map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
						"id": s.URL + path, "type": "OrderedCollection", "totalItems": 0, "orderedItems": []any{}})
				}
				return
			}
		}
	}
	http.NotFound(w, r)
}

func (s *Server) hasSharedInbox() bool { return s.style.sharedInbox() && !s.opts.NoSharedInbox }

func (s *Server) isInbox(path string) bool {
	if path == "/inbox" {
		return s.hasSharedInbox()
	}
	owner, ok := strings.CutSuffix(path, "/inbox")
	return ok && s.lookupActor(owner) != nil
}

// checkSignedGET answers 401 and reports false when the style (or
// AuthorizedFetch) wants GETs signed and r's signature does not verify.
func (s *Server) checkSignedGET(w http.ResponseWriter, r *http.Request) bool {
	if !s.style.signedGETsRequired() && !s.opts.AuthorizedFetch {
		return true
	}
	if _, _, err := s.verify(r, nil); err != nil {
		s.logf("GET %s: %v", r.URL.Path, err)
		writeJSON(w, "application/json", map[string]any{"error": "Unauthorized: http request wasn't signed or http signature was invalid: (verifier)"}, http.StatusUnauthorized)
		return false
	}
	return true
}

func (s *Server) serveWebFinger(w http.ResponseWriter, r *http.Request) {
	res := r.URL.Query().Get("resource")
	var a *Actor
	if acct, ok := strings.CutPrefix(res, "acct:"); ok {
		if name, host, ok := strings.Cut(acct, "@"); ok && host == s.Host {
			// A declared Group answers for its name (Lemmy answers for
			// communities and persons alike); any other name is a Person.
			s.mu.Lock()
			a = s.actors[s.URL+s.style.groupPath(name)]
			s.mu.Unlock()
			if a == nil || a.Type != "Group" {
				a = s.Actor(name)
			}
		}
	} else if strings.HasPrefix(res, s.URL+"/") {
		if u, err := url.Parse(res); err == nil {
			a = s.lookupActor(u.Path)
		}
	}
	if a == nil {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, "application/jrd+json", map[string]any{
		"subject": "acct:" + a.Handle(),
		"aliases": []any{a.ID, s.URL + "/@" + a.Name},
		"links": []any{
			map[string]any{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": s.URL + "/@" + a.Name},
			map[string]any{"rel": "self", "type": "application/activity+json", "href": a.ID},
		},
	})
}

func (s *Server) writeDocument(w http.ResponseWriter, doc any) {
	writeJSON(w, s.style.documentContentType(), doc)
}

func writeJSON(w http.ResponseWriter, contentType string, doc any, status ...int) {
	w.Header().Set("Content-Type", contentType)
	if len(status) > 0 {
		w.WriteHeader(status[0])
	}
	_ = json.NewEncoder(w).Encode(doc)
}

func (s *Server) errorf(format string, args ...any) {
	if s.opts.Errorf != nil && !s.closed.Load() {
		s.opts.Errorf("fedtest %s: "+format, append([]any{s.Host}, args...)...)
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil && !s.closed.Load() {
		s.opts.Logf("fedtest %s: "+format, append([]any{s.Host}, args...)...)
	}
}

func (s *Server) client() *http.Client { return defaultClient }

// do sends req and returns the status and the start of the body.
func (s *Server) do(req *http.Request) (int, string, error) {
	resp, err := s.client().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}
