package outbox_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/federation/outbox"
	"github.com/skein-forum/skein/internal/cputime"
	"github.com/skein-forum/skein/storage"
)

// BenchmarkOutboxFanout measures the event-to-jobs step of a big fan-out:
// one reply in a thread that 10,000 remote actors on 1,000 servers follow
// (shared inboxes, so 1,000 jobs), from the pending event to the
// committed activity and jobs.
func BenchmarkOutboxFanout(b *testing.B) {
	ctx := context.Background()
	n := testnode.New(b, nil)
	w := &outbox.Worker{Fed: n.Fed}
	const hosts, perHost = 1000, 10
	pem := strings.Repeat("k", 451) // a 2048-bit key's PEM is as long: the rows are read whole
	now := time.Now().UTC()
	accounts := make([]storage.Account, 0, hosts*perHost)
	follows := make([]storage.Follow, 0, hosts*perHost)
	for h := range hosts {
		domain := fmt.Sprintf("host%d.example", h)
		for i := range perHost {
			id := fmt.Sprintf("https://%s/users/u%d", domain, i)
			a := storage.Account{ID: n.Store.NewID(), Handle: fmt.Sprintf("u%d", i), Domain: domain, APID: &id,
				Role: storage.RoleMember, ActorType: "Person", Inbox: id + "/inbox", SharedInbox: "https://" + domain + "/inbox",
				PublicKeyID: id + "#main-key", PublicKeyPEM: pem, Software: "mastodon", CreatedAt: now}
			accounts = append(accounts, a)
			follows = append(follows, storage.Follow{ID: n.Store.NewID(), FollowerID: a.ID, TargetKind: storage.FollowThread,
				TargetID: n.Fx.Thread.ID, Accepted: true, CreatedAt: now})
		}
	}
	for start := 0; start < len(accounts); start += 500 {
		chunk, fchunk := accounts[start:start+500], follows[start:start+500]
		if _, err := n.Store.DB().NewInsert().Model(&chunk).Returning("NULL").Exec(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := n.Store.DB().NewInsert().Model(&fchunk).Returning("NULL").Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	drain := func() {
		evs, err := n.Store.PendingEvents(ctx, 1000)
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range evs {
			if err := n.Store.CompleteEvent(ctx, ev.ID, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	drain()
	b.ReportAllocs()
	jobs := 0
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		if _, err := n.Store.CreatePost(ctx, storage.NewPost{ThreadID: n.Fx.Thread.ID, AuthorID: n.Fx.Bob.ID,
			Source: "Fan-out", HTML: "<p>Fan-out</p>"}); err != nil {
			b.Fatal(err)
		}
		evs, err := n.Store.PendingEvents(ctx, 1)
		if err != nil || len(evs) != 1 {
			b.Fatal(err, len(evs))
		}
		start := cputime.Process()
		b.StartTimer()
		acts, err := w.Activities(ctx, evs[0])
		if err != nil {
			b.Fatal(err)
		}
		if err := n.Store.CompleteEvent(ctx, evs[0].ID, acts); err != nil {
			b.Fatal(err)
		}
		cpu += cputime.Process() - start
		for _, a := range acts {
			jobs += len(a.Inboxes)
		}
	}
	b.ReportMetric(float64(jobs)/float64(b.N), "recipients/op")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkOutboxRemoteReplies measures what ingest costs the outbox: a
// pass over 100 post.create events of remote replies spread over 20
// local threads that no remote server follows, so each event is loaded,
// found to send nothing and completed. ns/event is the figure.
func BenchmarkOutboxRemoteReplies(b *testing.B) {
	ctx := context.Background()
	n := testnode.New(b, nil)
	w := &outbox.Worker{Fed: n.Fed, Batch: 100}
	zed := n.AddRemoteAccount("zed", "bread.example")
	threads := []storage.ID{n.Fx.Thread.ID}
	for i := range 19 {
		t, _, err := n.Store.CreateThread(ctx, storage.NewThread{ForumID: n.Fx.Forum.ID, AuthorID: n.Fx.Alice.ID,
			Title: fmt.Sprintf("Thread %d", i), Source: "Opening", HTML: "<p>Opening</p>"})
		if err != nil {
			b.Fatal(err)
		}
		threads = append(threads, t.ID)
	}
	for { // the fixtures' own events
		if k, err := w.ProcessPending(ctx); err != nil || k == 0 {
			break
		}
	}
	seq := 0
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		b.StopTimer()
		nps := make([]storage.NewPost, 100)
		for i := range nps {
			seq++
			apid := fmt.Sprintf("https://bread.example/users/zed/statuses/%d", seq)
			nps[i] = storage.NewPost{ThreadID: threads[seq%len(threads)], AuthorID: zed.ID, APID: &apid,
				Source: "A reply", HTML: "<p>A reply from afar, with a few words in it.</p>"}
		}
		if _, err := n.Store.CreatePosts(ctx, nps); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for {
			k, err := w.ProcessPending(ctx)
			if err != nil {
				b.Fatal(err)
			}
			events += k
			if k < 100 {
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(events, 1)), "ns/event")
}
