package storage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/skein-forum/skein/internal/cputime"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// BenchmarkCreateInboxPosts stores batches of remote replies the way the
// inbox stores them under the load tool's ingest scenario: each a reply
// to the opening post of one of 100 threads of the 18,000-post seed,
// from 200 remote actors on 20 hosts, each applied as its Create arrived:
// the transaction checks the activity id against the queue
// ([storage.Store.CreateInboxPosts]). Each reply notifies its thread's
// author. cpu-µs/post is the process's CPU time a post, committing and
// checkpointing included, which a busy machine inflates less than ns/op;
// writer-µs/post is the CPU time of the goroutine that stores the batch
// alone, what the inbox's one writer spends a post.
func BenchmarkCreateInboxPosts(b *testing.B) {
	for _, size := range []int{16, 64} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			benchInboxPosts(b, size, false)
		})
	}
}

// BenchmarkCreateInboxPostsPrepared is BenchmarkCreateInboxPosts with
// each post prepared first ([storage.NewPost.Prepare]), as the inbox
// does on the goroutine of the request that brings it: writer-µs/post
// leaves out that work, cpu-µs/post counts it.
func BenchmarkCreateInboxPostsPrepared(b *testing.B) {
	b.Run("batch=64", func(b *testing.B) {
		benchInboxPosts(b, 64, true)
	})
}

func benchInboxPosts(b *testing.B, size int, prepare bool) {
	s, rig := inboxPostsRig(b, storagetest.Options(b, "sqlite"), size)
	store := func() time.Duration {
		nps, acts := rig.batch()
		if prepare {
			for i := range nps {
				nps[i].Prepare()
			}
		}
		return rig.store(nps, acts)
	}
	// A few thousand replies first, so that the indexes have the depth
	// and spread of a node that has been taking them for a while; the
	// pages the second half wrote to the WAL, a post.
	for range 2048 / size {
		store()
	}
	pages := walPages(b, s, func() {
		for range 2048 / size {
			store()
		}
	})
	b.ReportAllocs()
	var writer time.Duration
	cpu0 := cputime.Process()
	for b.Loop() {
		writer += store()
	}
	posts := float64(b.N * size)
	b.ReportMetric(posts/b.Elapsed().Seconds(), "posts/s")
	b.ReportMetric(float64(pages)/2048, "wal-pages/post") // after the loop, which drops metrics reported before it
	b.ReportMetric(float64(cputime.Process()-cpu0)/posts/1e3, "cpu-µs/post")
	b.ReportMetric(float64(writer)/posts/1e3, "writer-µs/post")
}

// postsRig makes batches of remote replies and stores them.
type postsRig struct {
	// batch makes the next batch, its posts and their activities.
	batch func() ([]storage.NewPost, []string)
	// store stores a batch and returns the CPU time the storing
	// goroutine spent on it (zero where the system cannot tell).
	store func(nps []storage.NewPost, acts []string) time.Duration
}

// inboxPostsRig seeds a store with opts and returns it with the batches
// of size replies the benchmark stores.
func inboxPostsRig(b testing.TB, opts storage.Options, size int) (*storage.Store, postsRig) {
	ctx := context.Background()
	s, seeded := storagetest.SeedProse(b, opts)
	type target struct{ thread, first storage.ID }
	var targets []target
	for _, id := range seeded.ThreadIDs[:100] {
		th, err := s.ThreadByID(ctx, id)
		if err != nil || th.FirstPostID == nil {
			b.Fatalf("thread %s: %v", id, err)
		}
		targets = append(targets, target{th.ID, *th.FirstPostID})
	}
	var actors []*storage.Account
	for h := range 20 {
		for a := range 10 {
			actors = append(actors, storagetest.RemoteActor(b, s, fmt.Sprintf("a%d", a), fmt.Sprintf("h%d.example", h)))
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	seq := 0
	batch := func() ([]storage.NewPost, []string) {
		nps := make([]storage.NewPost, size)
		acts := make([]string, size)
		for i := range nps {
			seq++
			a, t := actors[r.IntN(len(actors))], targets[r.IntN(len(targets))]
			note := fmt.Sprintf("%s/statuses/%d", *a.APID, 100000+seq)
			html := `<p><span class="h-card" translate="no"><a href="https://node.example/t/` + t.thread.String() +
				`" class="u-url mention">@<span>t.` + t.thread.String() + `</span></a></span> I tried the rye trick last week and ` +
				`the starter doubled in six hours, which it never did before. Keep the jar somewhere around 24 degrees.</p>` +
				`<p>Discard is great in pancakes. <a href="https://` + a.Domain + `/tags/sourdough" class="mention hashtag" rel="tag">#<span>sourdough</span></a></p>`
			first := t.first
			nps[i] = storage.NewPost{ThreadID: t.thread, AuthorID: a.ID, HTML: html, ReplyToID: &first, APID: &note,
				URL: "https://" + a.Domain + "/@" + a.Handle + "/" + fmt.Sprint(100000+seq)}
			acts[i] = note + "/activity"
		}
		return nps, acts
	}
	return s, postsRig{batch: batch, store: func(nps []storage.NewPost, acts []string) time.Duration {
		// Locked to its thread, the goroutine's CPU time is the thread's.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cpu0 := cputime.Thread()
		res, err := s.CreateInboxPosts(ctx, nps, acts)
		spent := cputime.Thread() - cpu0
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil || !r.Created {
				b.Fatalf("not stored: %v", r.Err)
			}
		}
		return spent
	}}
}
