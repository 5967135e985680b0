package delivery_test

import (
	"context"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/delivery"
	"github.com/skein-forum/skein/federation/fedtest"
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

// inbox is a remote server on loopback (a Mastodon-style fedtest
// server) that verifies every POST the way Mastodon does and records it;
// check holds each one to what this worker must send: Content-Type, Host,
// signed headers (request-target) host date digest, the keyId of the
// activity's actor.
type inbox struct {
	*fedtest.Server
	t testing.TB
}

// testKeys finds the test actor's key without a fetch: actorID is not on
// loopback.
func testKeys(_ context.Context, keyID string) (*rsa.PublicKey, string, error) {
	if keyID != actorID+"#main-key" {
		return nil, "", fmt.Errorf("unknown key %s", keyID)
	}
	return &testKey().PublicKey, actorID, nil
}

func newInbox(t testing.TB) *inbox {
	in := &inbox{t: t}
	in.Server = fedtest.NewWith(t, fedtest.Mastodon, fedtest.Options{Keys: testKeys, OnDelivery: in.check})
	return in
}

func (in *inbox) check(d fedtest.Delivery) {
	t := in.t
	if d.Status == fedtest.Unanswered {
		return // cut off by a fault, as the sender saw it
	}
	if d.Status == http.StatusUnauthorized {
		t.Errorf("%s: refused: %v", d.Inbox, d.Err)
	}
	if ct := d.Header.Get("Content-Type"); ct != delivery.ContentType {
		t.Errorf("Content-Type = %q", ct)
	}
	if d.Header.Get("Date") == "" || !strings.HasPrefix(d.Header.Get("Digest"), "SHA-256=") {
		t.Errorf("Date %q, Digest %q", d.Header.Get("Date"), d.Header.Get("Digest"))
	}
	if h := d.Header.Get("Host"); h != in.Host {
		t.Errorf("Host = %q, want %q", h, in.Host)
	}
	p, err := signature.ParseSignatureHeader(d.Header.Get("Signature"))
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
}

func (in *inbox) host() string { return in.Host }

// url is an inbox path on this server.
func (in *inbox) url(path string) string { return in.URL + path }

// stats counts the POSTs (answered or still held), the accepted receipts
// by "path activity-id", and the most POSTs served at once.
func (in *inbox) stats() (requests int, got map[string]int, maxConc int) {
	requests, maxConc = in.InboxStats()
	got = map[string]int{}
	for _, d := range in.Received("", "") {
		id, _ := d.Activity["id"].(string)
		got[d.Inbox+" "+id]++
	}
	return requests, got, maxConc
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

// enqueue queues the activities' deliveries.
func enqueue(t testing.TB, s *storage.Store, acts ...storage.NewActivity) {
	t.Helper()
	if err := s.EnqueueActivities(context.Background(), acts); err != nil {
		t.Fatal(err)
	}
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
