package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage/storagetest"
	"github.com/skein-forum/skein/web"
)

// BenchmarkThreadPage serves page 2 (20 posts) of a 43-post thread
// through the whole handler: security headers, cross-origin check, mux,
// session, queries, template. "member" renders every time (a session
// lookup, the thread, the page of posts, the liked state); "guest" is what
// most readers get, mostly from the guest page cache.
func BenchmarkThreadPage(b *testing.B) {
	store := storagetest.Open(b, "sqlite")
	fx := storagetest.Seed(b, store)
	storagetest.Replies(b, store, fx.Thread.ID, fx.Bob.ID, 40)
	s, err := web.New(web.Config{Store: store, URLs: site.MustNew("https://forum.example"),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registration: web.RegistrationOpen})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Register(mux)
	h := s.Handler(mux)
	path := site.ThreadPagePath(fx.Thread.ID, 2)
	token, err := store.CreateSession(context.Background(), fx.Alice.ID, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, cookie string) {
		b.ReportAllocs()
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
	}
	b.Run("member", func(b *testing.B) { run(b, token) })
	b.Run("guest", func(b *testing.B) { run(b, "") })
}
