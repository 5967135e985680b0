package fedtest

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/skein-forum/skein/federation/signature"
)

// Delivery is one POST to an inbox of the server, answered or not.
type Delivery struct {
	Inbox    string         // the path it was POSTed to
	Activity map[string]any // nil when the body was not a JSON object
	Body     []byte
	Header   http.Header
	// Signer is the owner of the key that signed it, when it verified.
	Signer string
	Status int   // what the inbox answered, or [Unanswered]
	Err    error // why it was refused, if it was
	At     time.Time
}

// Type is the activity's type.
func (d Delivery) Type() string { s, _ := d.Activity["type"].(string); return s }

// Accepted reports whether the inbox took the delivery (a 2xx answer).
func (d Delivery) Accepted() bool { return d.Status >= 200 && d.Status < 300 }

// ObjectID is the id of the activity's object, embedded or not.
func (d Delivery) ObjectID() string { return ObjectID(d.Activity) }

// Object is the activity's embedded object, or nil.
func (d Delivery) Object() map[string]any { o, _ := d.Activity["object"].(map[string]any); return o }

// ObjectID is the id of an activity's object, embedded or not.
func ObjectID(activity map[string]any) string {
	switch o := activity["object"].(type) {
	case string:
		return o
	case map[string]any:
		id, _ := o["id"].(string)
		return id
	}
	return ""
}

// Responder decides how an inbox answers its n-th POST (counting from 1)
// before the inbox verifies anything: it may write any answer, wait, or
// hang until r's context ends. It returns the status it answered with, or
// [Unanswered] when it wrote none (it cut the connection, or the sender
// gave up), or 0 to let the inbox verify and answer as usual.
type Responder func(n int, w http.ResponseWriter, r *http.Request) (status int)

// Unanswered is what a [Responder] returns when the sender got no status.
const Unanswered = -1

// Status answers the n-th POST with status(n) when that is not a 2xx;
// a 2xx lets the inbox verify and accept as usual.
func Status(status func(n int) int) Responder {
	return func(n int, w http.ResponseWriter, r *http.Request) int {
		code := status(n)
		if code >= 200 && code < 300 {
			return 0
		}
		w.WriteHeader(code)
		return code
	}
}

// Delay holds every POST for d before the inbox answers it as usual.
func Delay(d time.Duration) Responder {
	return func(n int, w http.ResponseWriter, r *http.Request) int {
		select {
		case <-time.After(d):
			return 0
		case <-r.Context().Done():
			return Unanswered
		}
	}
}

// Hold holds every POST until release is closed.
func Hold(release <-chan struct{}) Responder {
	return func(n int, w http.ResponseWriter, r *http.Request) int {
		select {
		case <-release:
			return 0
		case <-r.Context().Done():
			return Unanswered
		}
	}
}

type inboxState struct {
	respond    Responder
	posts      int
	inFlight   int
	maxFlight  int
	deliveries []Delivery
	// changed is closed, and replaced, whenever a delivery is recorded.
	changed chan struct{}
}

// Respond makes the server's inboxes answer through fn from now on; nil
// restores the usual answers.
func (s *Server) Respond(fn Responder) {
	s.mu.Lock()
	s.inbox.respond = fn
	s.mu.Unlock()
}

// maxInboxBody bounds what an inbox reads, as real servers do.
const maxInboxBody = 1 << 20

func (s *Server) serveInbox(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxInboxBody))
	if err != nil {
		return
	}
	s.mu.Lock()
	s.inbox.posts++
	n, respond := s.inbox.posts, s.inbox.respond
	s.inbox.inFlight++
	s.inbox.maxFlight = max(s.inbox.maxFlight, s.inbox.inFlight)
	s.mu.Unlock()
	d := Delivery{Inbox: r.URL.Path, Body: body, Header: headerWithHost(r)}
	defer func() {
		d.At = time.Now()
		s.record(d)
	}()
	if respond != nil {
		if status := respond(n, w, r); status != 0 {
			d.Status = status
			d.Err = errors.New("answered by the responder")
			_ = json.Unmarshal(body, &d.Activity)
			return
		}
	}
	d.Status, d.Err = s.accept(r, body, &d)
	if d.Err != nil {
		http.Error(w, d.Err.Error(), d.Status)
		return
	}
	w.WriteHeader(d.Status)
}

// accept verifies a POST as a real inbox does and returns the status to
// answer: 202, 400 for a body that is no activity, 401 for a signature
// that does not verify or a key its actor does not own.
func (s *Server) accept(r *http.Request, body []byte, d *Delivery) (int, error) {
	if err := json.Unmarshal(body, &d.Activity); err != nil || d.Activity == nil {
		s.errorf("inbox %s: body is not a JSON object: %.200s", r.URL.Path, body)
		return http.StatusBadRequest, errors.New("body is not a JSON object")
	}
	_, owner, err := s.verify(r, body)
	if err != nil {
		// The sender may be down for a moment (a restart) and retry.
		s.logf("inbox %s: %s: %v", r.URL.Path, d.Type(), err)
		return http.StatusUnauthorized, err
	}
	d.Signer = owner
	if actor, _ := d.Activity["actor"].(string); actor != owner {
		err := fmt.Errorf("%s by %q signed by %s", d.Type(), actor, owner)
		s.errorf("inbox %s: %v", r.URL.Path, err)
		return http.StatusUnauthorized, err
	}
	if !bytes.Contains(body, []byte(`"@context"`)) {
		s.errorf("inbox %s: %s without @context: %.300s", r.URL.Path, d.Type(), body)
	}
	return http.StatusAccepted, nil
}

// verify checks r's signature (Digest and Date included) and returns the
// key id's public key and owner.
func (s *Server) verify(r *http.Request, body []byte) (*rsa.PublicKey, string, error) {
	var (
		pub   *rsa.PublicKey
		owner string
	)
	_, err := signature.Verify(r, body, time.Now(), func(ctx context.Context, keyID string) (*rsa.PublicKey, error) {
		var err error
		pub, owner, err = s.keys(ctx, keyID)
		return pub, err
	})
	if err != nil {
		return nil, "", err
	}
	return pub, owner, nil
}

func (s *Server) record(d Delivery) {
	s.mu.Lock()
	s.inbox.inFlight--
	s.inbox.deliveries = append(s.inbox.deliveries, d)
	close(s.inbox.changed)
	s.inbox.changed = make(chan struct{})
	on := s.opts.OnDelivery
	s.mu.Unlock()
	if on != nil {
		on(d)
	}
}

// Deliveries is every POST to the server's inboxes, answered or not,
// oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.inbox.deliveries...)
}

// Received is what the server's inboxes accepted: at inbox (a path; ""
// for any) and of type typ ("" for any), oldest first.
func (s *Server) Received(inbox, typ string) []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Delivery
	for _, d := range s.inbox.deliveries {
		if d.Accepted() && (inbox == "" || d.Inbox == inbox) && (typ == "" || d.Type() == typ) {
			out = append(out, d)
		}
	}
	return out
}

// InboxStats counts the POSTs the inboxes got (answered or still in
// flight) and the most they served at once.
func (s *Server) InboxStats() (posts, maxInFlight int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inbox.posts, s.inbox.maxFlight
}

// Await waits until at least n accepted deliveries satisfy match (nil
// matches any) and returns the first n of them, or ctx's error with what
// matched so far.
func (s *Server) Await(ctx context.Context, n int, match func(Delivery) bool) ([]Delivery, error) {
	for {
		s.mu.Lock()
		var got []Delivery
		for _, d := range s.inbox.deliveries {
			if d.Accepted() && (match == nil || match(d)) {
				got = append(got, d)
			}
		}
		changed := s.inbox.changed
		s.mu.Unlock()
		if len(got) >= n {
			return got[:n], nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return got, fmt.Errorf("fedtest %s: %d of %d deliveries arrived: %w", s.Host, len(got), n, ctx.Err())
		}
	}
}

// AwaitType waits for n accepted activities of type typ at inbox (a path;
// "" for any inbox), for at most timeout, and fails t otherwise.
func (s *Server) AwaitType(t interface {
	Helper()
	Fatalf(string, ...any)
}, timeout time.Duration, inbox, typ string, n int) []Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	got, err := s.Await(ctx, n, func(d Delivery) bool {
		return (inbox == "" || d.Inbox == inbox) && (typ == "" || d.Type() == typ)
	})
	if err != nil {
		t.Fatalf("waiting for %d %q at %q: %v", n, typ, inbox, err)
	}
	return got
}
