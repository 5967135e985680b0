package federation_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/skein-forum/skein/federation"
	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/storage/storagetest"
)

// BenchmarkNoteJSON measures building and marshalling one Note, what the
// delivery code does per post and a collection page does twenty times.
func BenchmarkNoteJSON(b *testing.B) {
	n := testnode.New(b, nil)
	ctx := context.Background()
	p, err := n.Store.PostByID(ctx, n.Fx.Posts[2].ID)
	if err != nil {
		b.Fatal(err)
	}
	th, _ := n.Store.ThreadByID(ctx, p.ThreadID)
	parts := federation.NoteParts{Post: p, Thread: th, Forum: n.Fx.Forum}
	b.ReportAllocs()
	for b.Loop() {
		note := federation.NoteFromPost(n.URLs, parts)
		note.Context = as.LDContext()
		if _, err := json.Marshal(note); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCollectionPage serves a full page of 20 embedded Notes from a
// real SQLite database, through the handler: from the page cache
// (cached: one version read) and built every time (uncached).
func BenchmarkCollectionPage(b *testing.B) {
	benchCaches(b, func(n *testnode.Node) string {
		storagetest.Replies(b, n.Store, n.Fx.Thread.ID, n.Fx.Bob.ID, 40)
		return n.URLs.ThreadPosts(n.Fx.Thread.ID) + "?page=true&from=21"
	})
}

// BenchmarkNoteDocument serves the Note of an early reply in a thread of
// 2,000 posts, whose replies page scans the thread after it: from the
// Note cache (two primary-key reads) and built every time.
func BenchmarkNoteDocument(b *testing.B) {
	benchCaches(b, func(n *testnode.Node) string {
		storagetest.Replies(b, n.Store, n.Fx.Thread.ID, n.Fx.Bob.ID, 2000)
		return n.URLs.Post(n.Fx.Posts[1].ID)
	})
}

// BenchmarkActorDocument serves a member's Person from the document cache.
func BenchmarkActorDocument(b *testing.B) {
	n := testnode.New(b, nil)
	serveLoop(b, n, n.URLs.Member("alice"))
}

// benchCaches serves the document setup returns on a node with the
// collection and Note caches (cached) and on one without (uncached).
func benchCaches(b *testing.B, setup func(n *testnode.Node) string) {
	for _, bc := range []struct {
		name  string
		bytes int64
	}{{"cached", 0}, {"uncached", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			n := testnode.New(b, func(c *federation.Config) { c.CollectionCacheBytes = bc.bytes })
			serveLoop(b, n, setup(n))
		})
	}
}

// serveLoop serves url through n's handler, as ActivityPub, b.N times.
func serveLoop(b *testing.B, n *testnode.Node, url string) {
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept", testnode.APAccept)
		rec := httptest.NewRecorder()
		n.Mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
