package storage_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/skein-forum/skein/internal/cputime"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// BenchmarkCreatePosts stores 64 remote replies (about 1.5 KB of HTML
// each, spread over 16 threads) on SQLite: one transaction per post, as
// the inbox worker did (one), and the 64 in one CreatePosts (batch).
// Every reply notifies the thread's author, as a reply to a member's
// thread does. cpu-µs/post is the process's CPU time a post, which a
// busy machine inflates less than ns/op.
func BenchmarkCreatePosts(b *testing.B) {
	for _, mode := range []string{"one", "batch"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			s := storagetest.Open(b, "sqlite")
			fx := storagetest.Seed(b, s)
			var threads []storage.ID
			for i := range 16 {
				th, _, err := s.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Alice.ID,
					Title: fmt.Sprintf("Thread %d", i), Source: "opening", HTML: "<p>opening</p>"})
				if err != nil {
					b.Fatal(err)
				}
				threads = append(threads, th.ID)
			}
			html := ""
			for len(html) < 1500 {
				html += "<p>Rye flour feeds a starter well; keep it warm and <em>feed it twice a day</em>.</p>"
			}
			seq := 0
			batch := func() []storage.NewPost {
				nps := make([]storage.NewPost, 64)
				for i := range nps {
					seq++
					apid := fmt.Sprintf("https://remote.example/notes/%d", seq)
					nps[i] = storage.NewPost{ThreadID: threads[i%16], AuthorID: fx.Bob.ID, Source: "", HTML: html, APID: &apid}
				}
				return nps
			}
			b.ReportAllocs()
			cpu0 := cputime.Process()
			for b.Loop() {
				nps := batch()
				if mode == "batch" {
					if _, err := s.CreatePosts(ctx, nps); err != nil {
						b.Fatal(err)
					}
					continue
				}
				for _, np := range nps {
					if _, err := s.CreatePost(ctx, np); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "posts/s")
			b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N*64)/1e3, "cpu-µs/post")
		})
	}
}
