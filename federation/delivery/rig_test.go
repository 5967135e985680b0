package delivery_test

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/delivery"
	"github.com/skein-forum/skein/federation/signature"
	"github.com/skein-forum/skein/federation/transport"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// The sending actor of every test activity and its key, made once: RSA
// key generation takes a noticeable fraction of a second.
const actorID = "https://forum.example/f/kitchen"

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := signature.GenerateKey()
	if err != nil {
		panic(err)
	}
	return k
})

// inbox is a remote server on loopback that checks every POST the way
// Mastodon does (signature over (request-target) host date digest, the
// Digest of the body, keyId of the activity's actor, the content type)
// and counts receipts per inbox path and activity id.
type inbox struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	requests int            // every POST, answered or not
	got      map[string]int // "path activity-id" -> accepted receipts
	inFlight int
	maxConc  int
	// answer picks the status of the n-th request (from 1); nil is 202.
	answer func(n int) int
	// hold, when set, is waited on before answering.
	hold chan struct{}
	// fault, when set, may misbehave instead of answering the n-th
	// request; it reports whether it did.
	fault func(n int, w http.ResponseWriter, r *http.Request) bool
}

func newInbox(t testing.TB) *inbox {
	in := &inbox{t: t, got: map[string]int{}}
	in.srv = httptest.NewServer(http.HandlerFunc(in.serve))
	t.Cleanup(in.srv.Close)
	return in
}

func (in *inbox) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	in.check(r, body)
	in.mu.Lock()
	in.requests++
	n := in.requests
	in.inFlight++
	in.maxConc = max(in.maxConc, in.inFlight)
	answer, hold, fault := in.answer, in.hold, in.fault
	in.mu.Unlock()
	defer func() {
		in.mu.Lock()
		in.inFlight--
		in.mu.Unlock()
	}()
	if fault != nil && fault(n, w, r) {
		return
	}
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	status := http.StatusAccepted
	if answer != nil {
		status = answer(n)
	}
	if status < 300 {
		var act struct{ ID string }
		_ = json.Unmarshal(body, &act)
		in.mu.Lock()
		in.got[r.URL.Path+" "+act.ID]++
		in.mu.Unlock()
	}
	w.WriteHeader(status)
}

func (in *inbox) check(r *http.Request, body []byte) {
	t := in.t
	if ct := r.Header.Get("Content-Type"); ct != delivery.ContentType {
		t.Errorf("Content-Type = %q", ct)
	}
	if r.Header.Get("Date") == "" || !strings.HasPrefix(r.Header.Get("Digest"), "SHA-256=") {
		t.Errorf("Date %q, Digest %q", r.Header.Get("Date"), r.Header.Get("Digest"))
	}
	if r.Host != in.host() {
		t.Errorf("Host = %q, want %q", r.Host, in.host())
	}
	p, err := signature.ParseSignatureHeader(r.Header.Get("Signature"))
	if err != nil {
		t.Errorf("signature header: %v", err)
		return
	}
	if got := strings.Join(p.Headers, " "); got != "(request-target) host date digest" {
		t.Errorf("signed headers = %q", got)
	}
	if p.KeyID != actorID+"#main-key" {
		t.Errorf("keyId = %q", p.KeyID)
	}
	_, err = signature.Verify(r, body, time.Now(), func(_ context.Context, keyID string) (*rsa.PublicKey, error) {
		if keyID != actorID+"#main-key" {
			return nil, fmt.Errorf("unknown key %s", keyID)
		}
		return &testKey().PublicKey, nil
	})
	if err != nil {
		t.Errorf("verify: %v", err)
	}
}

func (in *inbox) host() string { return strings.TrimPrefix(in.srv.URL, "http://") }

// url is an inbox path on this server.
func (in *inbox) url(path string) string { return in.srv.URL + path }

func (in *inbox) stats() (requests int, got map[string]int, maxConc int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	got = make(map[string]int, len(in.got))
	for k, v := range in.got {
		got[k] = v
	}
	return in.requests, got, in.maxConc
}

func (in *inbox) received(path, activity string) int {
	_, got, _ := in.stats()
	return got[path+" "+activity]
}

// newWorker returns a worker on s with fast retries and polling, sending
// over a client that may reach loopback.
func newWorker(s *storage.Store) *delivery.Worker {
	return &delivery.Worker{
		Store:  s,
		Client: transport.New(transport.Options{AllowPrivateNetworks: true, AllowHTTP: true, Timeout: 20 * time.Second}),
		Keys: func(ctx context.Context, kind string, id storage.ID) (string, *rsa.PrivateKey, error) {
			return actorID + "#main-key", testKey(), nil
		},
		Log:          slog.New(slog.DiscardHandler),
		Timeout:      20 * time.Second,
		PollInterval: 10 * time.Millisecond,
		RetryBase:    5 * time.Millisecond,
		RetryMax:     40 * time.Millisecond,
		FlushDelay:   time.Millisecond,
	}
}

// start runs w until the test ends and returns a function that stops it
// and waits for Run to return.
func start(t testing.TB, w *delivery.Worker) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("worker: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// eventually polls cond until it holds; the deadline only turns a hang
// into a failure, it asserts nothing about speed.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// activity makes an activity from the test actor to the recipients.
func activity(fx *storagetest.Fixtures, n int, to ...storage.Recipient) storage.NewActivity {
	id := fmt.Sprintf("%s/activities/%d", actorID, n)
	return storage.NewActivity{APID: id, ActorID: actorID, KeyOwnerKind: storage.KeyOwnerForum, KeyOwnerID: fx.Forum.ID,
		Body:    []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","id":"` + id + `","actor":"` + actorID + `"}`),
		Inboxes: to}
}

func personal(in *inbox, path string) storage.Recipient {
	return storage.Recipient{Inbox: in.url(path)}
}

func queueEmpty(t testing.TB, s *storage.Store) func() bool {
	return func() bool {
		st, err := s.QueueStats(context.Background(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return st.Deliveries == 0
	}
}
