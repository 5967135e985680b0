package inbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/inbox"
	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/federation/signature"
	"github.com/skein-forum/skein/internal/cputime"
)

// BenchmarkInboxAccept measures the inbox handler alone on the shared
// inbox: verify a signed Mastodon Create (key cached), check it and queue
// it. Requests are signed before the timer starts: signing is the
// sender's cost.
func BenchmarkInboxAccept(b *testing.B) {
	n := unlimitedNode(b)
	zed := testnode.NewRemoteServer(b, "mastodon").Actor("zed", "Person", 0)
	reply := n.URLs.Post(n.Fx.Posts[0].ID)
	sign := func() (*http.Request, []byte) {
		body, _ := json.Marshal(zed.Create(zed.Note(reply, "<p>Rye worked: it doubled overnight, and the crumb is open.</p>")))
		r := httptest.NewRequest(http.MethodPost, n.URLs.SharedInbox(), bytes.NewReader(body))
		r.Header.Set("Content-Type", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`)
		if err := signature.SignRequest(r, body, zed.KeyID(), zed.Key); err != nil {
			b.Fatal(err)
		}
		return r, body
	}
	warm, _ := sign() // fetches and caches the key
	if rec := serve(n, warm); rec.Code != http.StatusAccepted {
		b.Fatalf("warm-up: %d %s", rec.Code, rec.Body)
	}
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		reqs[i], _ = sign()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if rec := serve(n, reqs[i]); rec.Code != http.StatusAccepted {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkInboxAcceptParallel is BenchmarkInboxAccept with POSTs
// arriving concurrently, as from many servers: the group commit shares
// one SQLite transaction among the POSTs that arrive together.
func BenchmarkInboxAcceptParallel(b *testing.B) {
	n := unlimitedNode(b)
	zed := testnode.NewRemoteServer(b, "mastodon").Actor("zed", "Person", 0)
	reply := n.URLs.Post(n.Fx.Posts[0].ID)
	sign := func() *http.Request {
		body, _ := json.Marshal(zed.Create(zed.Note(reply, "<p>Rye worked: it doubled overnight, and the crumb is open.</p>")))
		r := httptest.NewRequest(http.MethodPost, n.URLs.SharedInbox(), bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/activity+json")
		if err := signature.SignRequest(r, body, zed.KeyID(), zed.Key); err != nil {
			b.Fatal(err)
		}
		return r
	}
	if rec := serve(n, sign()); rec.Code != http.StatusAccepted {
		b.Fatalf("warm-up: %d %s", rec.Code, rec.Body)
	}
	reqs := make(chan *http.Request, b.N)
	for range b.N {
		reqs <- sign()
	}
	b.ReportAllocs()
	b.SetParallelism(32) // many senders wait on the disk at once
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := serve(n, <-reqs); rec.Code != http.StatusAccepted {
				b.Errorf("%d %s", rec.Code, rec.Body)
			}
		}
	})
}

// unlimitedNode is a test node whose inbox has no rate limits: the
// benchmarks send thousands of activities a minute from one actor.
func unlimitedNode(b *testing.B) *testnode.Node {
	n := testnode.New(b, nil)
	n.InboxCfg = inbox.Config{HostPerMinute: -1, ActorPerMinute: -1}
	n.Restart()
	return n
}

func serve(n *testnode.Node, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	n.Mux.ServeHTTP(rec, r)
	return rec
}

// BenchmarkProcessCreate measures the worker applying queued Mastodon
// Create{Note} replies: find the thread, sanitize and store one post each
// (the author is known). "1 actor" is a single busy sender, whose
// activities are applied in order; "20 actors" is the gts scenario's
// shape, 20 senders on 4 servers.
func BenchmarkProcessCreate(b *testing.B) {
	for _, actors := range []int{1, 20} {
		b.Run(fmt.Sprintf("%d actors", actors), func(b *testing.B) { benchmarkProcessCreate(b, actors) })
	}
}

func benchmarkProcessCreate(b *testing.B, actors int) {
	n := testnode.New(b, nil)
	ctx := context.Background()
	var senders []*testnode.RemoteActor
	for h := range (actors + 4) / 5 {
		rs := testnode.NewRemoteServer(b, "mastodon")
		for i := range min(5, actors-5*h) {
			a := rs.Actor(fmt.Sprintf("zed%d", i), "Person", i)
			if _, err := n.Fed.ResolveActor(ctx, a.ID()); err != nil {
				b.Fatal(err)
			}
			senders = append(senders, a)
		}
	}
	reply := n.URLs.Post(n.Fx.Posts[0].ID)
	for i := range b.N {
		zed := senders[i%len(senders)]
		act := zed.Create(zed.Note(reply, "<p>Rye worked: it doubled overnight, and the crumb is <em>open</em>.</p>"))
		delete(act["object"].(map[string]any), "replies") // no backfill jobs in the count
		body, _ := json.Marshal(act)
		if _, err := n.Store.AcceptInbox(ctx, zed.ID(), zed.KeyID(), act["id"].(string), body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	w := &inbox.Worker{Inbox: n.Inbox, PollInterval: time.Millisecond}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(wctx) }()
	for w.Counters().Done+w.Counters().Failed < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cancel()
	<-done
	if c := w.Counters(); c.Failed > 0 || testnode.Count(b, n.Store, "SELECT count(*) FROM inbox_items WHERE last_error <> ''") > 0 {
		b.Fatalf("failures: %+v", c)
	}
}

// BenchmarkIngest measures what issue targets: signed Mastodon
// Create{Note} replies POSTed by 20 actors on 4 servers, 32 at once,
// until every one is a post, with the worker running as `skein serve`
// runs it. cpu-µs/op is the process's CPU (user and system) per activity
// over the run, accept and apply together; the requests are signed
// before the timer starts. "queue" takes every activity through the
// queue (accept, claim, store, finish); "direct" lets the POST store a
// known author's reply itself.
func BenchmarkIngest(b *testing.B) {
	for _, mode := range []string{"queue", "direct"} {
		b.Run(mode, func(b *testing.B) { benchmarkIngest(b, mode == "queue") })
	}
}

func benchmarkIngest(b *testing.B, queue bool) {
	n := unlimitedNode(b)
	if queue {
		inbox.QueueEveryActivity(n.Inbox)
	}
	w := &inbox.Worker{Inbox: n.Inbox}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	defer func() { cancel(); <-done }()

	reply := n.URLs.Post(n.Fx.Posts[0].ID)
	var senders []*testnode.RemoteActor
	for h := range 4 {
		rs := testnode.NewRemoteServer(b, "mastodon")
		for i := range 5 {
			senders = append(senders, rs.Actor(fmt.Sprintf("zed%d", i), "Person", 5*h+i))
		}
	}
	sign := func(zed *testnode.RemoteActor) *http.Request { return signedReply(b, n, zed, reply) }
	posts := func() int { return testnode.Count(b, n.Store, "SELECT count(*) FROM posts WHERE ap_id IS NOT NULL") }
	reqs := make(chan *http.Request, b.N)
	for i := range b.N {
		reqs <- sign(senders[i%len(senders)])
	}
	// Warm-up, after the signing, which takes longer than the inbox
	// remembers a Create's signer: every key fetched, every author
	// applied once.
	for _, a := range senders {
		if rec := serve(n, sign(a)); rec.Code != http.StatusAccepted {
			b.Fatalf("warm-up: %d %s", rec.Code, rec.Body)
		}
	}
	testnode.WaitFor(b, "the warm-up's posts", func() bool { return posts() == len(senders) })
	testnode.WaitFor(b, "the warm-up's items done", func() bool {
		return testnode.Count(b, n.Store, "SELECT count(*) FROM inbox_items WHERE done_at IS NULL") == 0
	})
	time.Sleep(100 * time.Millisecond) // and their results recorded by the worker (its flush delay is 20 ms)
	b.ReportAllocs()
	b.SetParallelism(16) // 32 senders on 2 cores
	before := cputime.Process()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := serve(n, <-reqs); rec.Code != http.StatusAccepted {
				b.Errorf("%d %s", rec.Code, rec.Body)
			}
		}
	})
	for posts() < len(senders)+b.N {
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64((cputime.Process()-before).Microseconds())/float64(b.N), "cpu-µs/op")
	// Stored directly: they leave no inbox item, so the inbox counts them.
	b.ReportMetric(100*float64(inbox.StoredDirectly(n.Inbox))/float64(len(senders)+b.N), "direct-%")
	b.ReportMetric(inbox.PostsPerCommit(n.Inbox), "posts/commit")
}

// signedReply is a signed POST to n's shared inbox of a Mastodon Create
// of a reply by zed to the post at reply, without a replies collection
// (so that storing it queues no backfill job).
func signedReply(b *testing.B, n *testnode.Node, zed *testnode.RemoteActor, reply string) *http.Request {
	act := zed.Create(zed.Note(reply, "<p>Rye worked: it doubled overnight, and the crumb is <em>open</em>.</p>"))
	delete(act["object"].(map[string]any), "replies")
	body, _ := json.Marshal(act)
	r := httptest.NewRequest(http.MethodPost, n.URLs.SharedInbox(), bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/activity+json")
	if err := signature.SignRequest(r, body, zed.KeyID(), zed.Key); err != nil {
		b.Fatal(err)
	}
	return r
}
