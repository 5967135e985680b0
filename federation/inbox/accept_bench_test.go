package inbox_test

import (
	"net/http"
	"testing"

	"github.com/skein-forum/skein/federation/inbox"
	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/internal/cputime"
)

// BenchmarkInboxAcceptCPU is the whole POST of one signed Mastodon
// Create{Note} reply to the shared inbox, one after another, with the
// process's CPU per POST (cpu-µs/op) beside the wall time, which is
// mostly the wait for the commit. "direct" is a known author's reply,
// stored by the POST itself (direct.go): read, verify, store, answer;
// "queued" is the same POST with no worker running, so it is queued.
// Requests are signed before the timer starts; run it with a bounded
// -benchtime (say 1000x): the inbox remembers a signer for 30 s.
func BenchmarkInboxAcceptCPU(b *testing.B) {
	for _, mode := range []string{"direct", "queued"} {
		b.Run(mode, func(b *testing.B) { benchmarkInboxAcceptCPU(b, mode == "direct") })
	}
}

func benchmarkInboxAcceptCPU(b *testing.B, direct bool) {
	n := unlimitedNode(b)
	zed := testnode.NewRemoteServer(b, "mastodon").Actor("zed", "Person", 0)
	reply := n.URLs.Post(n.Fx.Posts[0].ID)
	sign := func() *http.Request { return signedReply(b, n, zed, reply) }
	if !direct {
		// Fetches and caches the key. (Direct: resolving the actor
		// below does, and a POST queued now would hold the actor's
		// later Creates to the queue, with no worker to apply it.)
		if rec := serve(n, sign()); rec.Code != http.StatusAccepted {
			b.Fatalf("warm-up: %d %s", rec.Code, rec.Body)
		}
	}
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		reqs[i] = sign()
	}
	if direct {
		signer, err := n.Fed.ResolveActor(b.Context(), zed.ID())
		if err != nil {
			b.Fatal(err)
		}
		inbox.ApplyDirectlyNow(n.Inbox, signer)
	}
	b.ReportAllocs()
	before := cputime.Process()
	b.ResetTimer()
	for i := range b.N {
		if rec := serve(n, reqs[i]); rec.Code != http.StatusAccepted {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cputime.Process()-before).Microseconds())/float64(b.N), "cpu-µs/op")
	stored := testnode.Count(b, n.Store, "SELECT count(*) FROM inbox_items WHERE done_at = received_at")
	if want := 0; !direct && stored != want || direct && stored < b.N {
		b.Fatalf("%d of %d stored as they came", stored, b.N)
	}
}
