package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/internal/cputime"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
	"github.com/skein-forum/skein/web"
)

// BenchmarkThreadPage serves page 2 (20 posts) of a 43-post thread
// through the whole handler: security headers, cross-origin check, mux,
// session, queries, template. "member" renders every time (a session
// lookup, the thread, its reader's likes and read position, the page with
// the posts every reader sees kept); "guest" is what most readers get,
// mostly from the guest page cache. cpu-ns/op is the process's CPU time
// per page.
func BenchmarkThreadPage(b *testing.B) {
	store := storagetest.Open(b, "sqlite")
	fx := storagetest.Seed(b, store)
	storagetest.Replies(b, store, fx.Thread.ID, fx.Bob.ID, 40)
	h := benchHandler(b, store, 0)
	path := site.ThreadPagePath(fx.Thread.ID, 2)
	token, err := store.CreateSession(context.Background(), fx.Alice.ID, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, cookie string) {
		b.ReportAllocs()
		cpu0 := cputime.Process()
		for b.Loop() {
			w := httptest.NewRecorder()
			req := httptest.NewRequest("GET", path, nil)
			if cookie != "" {
				req.AddCookie(&http.Cookie{Name: "skein_session", Value: cookie})
			}
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK || w.Body.Len() < 10000 {
				b.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
			}
		}
		b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
	}
	b.Run("member", func(b *testing.B) { run(b, token) })
	b.Run("guest", func(b *testing.B) { run(b, "") })
}

// BenchmarkSearch serves a search (a page of 20 hits with their
// snippets) through the whole handler over 18,000 seeded posts of the
// load tool's prose, where every query word is common: "rye" alone, and
// two words that must both match. The query repeats, as a forum's readers
// repeat theirs: "guest" gets the page from the guest page cache,
// "member" has it rendered from ranked ids the store keeps, "uncached" is
// a guest on a store and a server that keep nothing (--search-cache=0
// --guest-cache=0). cpu-ns/op is
// the process's CPU time per search, which a busy machine inflates less
// than ns/op.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	opts := storagetest.Options(b, "sqlite")
	store, seeded := storagetest.SeedProse(b, opts)
	token, err := store.CreateSession(ctx, seeded.MemberIDs[0], time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	opts.SearchCache = -1
	cached, uncached := benchHandler(b, store, 0), benchHandler(b, storagetest.OpenWith(b, opts), -1)
	for _, c := range []struct {
		name   string
		h      http.Handler
		cookie string
	}{{"guest", cached, ""}, {"member", cached, token}, {"uncached", uncached, ""}} {
		for _, q := range []string{"rye", "steam+oven"} {
			b.Run(c.name+"/"+q, func(b *testing.B) {
				b.ReportAllocs()
				cpu0 := cputime.Process()
				for b.Loop() {
					w := httptest.NewRecorder()
					req := httptest.NewRequest("GET", "/search?q="+q, nil)
					if c.cookie != "" {
						req.AddCookie(&http.Cookie{Name: "skein_session", Value: c.cookie})
					}
					c.h.ServeHTTP(w, req)
					if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "<mark>") {
						b.Fatalf("status %d, %d bytes without a match", w.Code, w.Body.Len())
					}
				}
				b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// benchHandler is a whole web server over store, as a node mounts it,
// keeping guestCacheBytes of guests' pages (web.Config.GuestCacheBytes).
func benchHandler(b *testing.B, store *storage.Store, guestCacheBytes int64) http.Handler {
	s, err := web.New(web.Config{Store: store, URLs: site.MustNew("https://forum.example"),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registration: web.RegistrationOpen, GuestCacheBytes: guestCacheBytes})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Register(mux)
	return s.Handler(mux)
}
