package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// The same form sent twice makes one post: the second send gets the
// first's post back, and nothing is counted twice. Sent again with other
// text (an old page reused), it makes a new post.
func TestFormTokenMakesOnePost(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		token := storage.NewFormToken()
		np := storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, Source: "Once only", HTML: "<p>Once only</p>", FormToken: token}
		first, err := s.CreatePost(ctx, np)
		if err != nil {
			t.Fatal(err)
		}
		th, _ := s.ThreadByID(ctx, fx.Thread.ID)
		again, err := s.CreatePost(ctx, np)
		if err != nil || again.ID != first.ID {
			t.Fatalf("second send: %v, post %v (first %v)", err, again.ID, first.ID)
		}
		if th2, _ := s.ThreadByID(ctx, fx.Thread.ID); th2.PostCount != th.PostCount {
			t.Fatalf("post count %d → %d", th.PostCount, th2.PostCount)
		}
		np.Source, np.HTML = "Something else", "<p>Something else</p>"
		other, err := s.CreatePost(ctx, np)
		if err != nil || other.ID == first.ID {
			t.Fatalf("same token, other text: %v %v", err, other)
		}
		// Another member's post never comes back through a token.
		np.AuthorID, np.Source, np.HTML = fx.Alice.ID, "Once only", "<p>Once only</p>"
		if p, err := s.CreatePost(ctx, np); err != nil || p.ID == first.ID {
			t.Fatalf("another author with the token: %v", err)
		}

		// A new thread sent twice is one thread.
		nt := storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Bob.ID, Title: "Double click", Source: "Hello", HTML: "<p>Hello</p>",
			FormToken: storage.NewFormToken()}
		t1, p1, err := s.CreateThread(ctx, nt)
		if err != nil {
			t.Fatal(err)
		}
		t2, p2, err := s.CreateThread(ctx, nt)
		if err != nil || t2.ID != t1.ID || p2.ID != p1.ID {
			t.Fatalf("second send of a new thread: %v %v/%v", err, t2, p2)
		}
		if f, _ := s.ForumBySlug(ctx, fx.Forum.Slug); f.ThreadCount != 2 {
			t.Fatalf("forum counts %d threads", f.ThreadCount)
		}
	})
}

// Sends racing each other (two clicks, two connections) still make one
// post: on PostgreSQL the second waits on the token's row.
func TestFormTokenRace(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		np := storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, Source: "Race", HTML: "<p>Race</p>", FormToken: storage.NewFormToken()}
		var wg sync.WaitGroup
		ids := make([]storage.ID, 6)
		for i := range ids {
			wg.Go(func() {
				p, err := s.CreatePost(ctx, np)
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = p.ID
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("racing sends made different posts: %v", ids)
			}
		}
		if th, _ := s.ThreadByID(ctx, fx.Thread.ID); th.PostCount != 4 {
			t.Fatalf("thread has %d posts, want 4", th.PostCount)
		}
	})
}

// A form that could not be posted is kept under its token: for the member
// who sent it, or, when their session had ended, for the first member who
// opens it after signing in. When the token then makes a post, the kept
// form points at it.
func TestKeptForms(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		token := storage.NewFormToken()
		kf := storage.KeptForm{Action: "/t/x/reply", Fields: "body=Half+a+thought", Message: "Sign in to post."}
		if err := s.KeepForm(ctx, token, 0, kf); err != nil {
			t.Fatal(err)
		}
		got, err := s.KeptFormFor(ctx, token, fx.Bob.ID)
		if err != nil || got.Fields != kf.Fields || got.Message != kf.Message || got.Action != kf.Action || got.PostID != nil {
			t.Fatalf("Bob opens it: %v %+v", err, got)
		}
		if _, err := s.KeptFormFor(ctx, token, fx.Alice.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Alice opens Bob's: %v", err)
		}
		// Refused again (say the thread was locked): kept anew.
		kf.Fields, kf.Message = "body=Whole+thought", "The thread is locked."
		if err := s.KeepForm(ctx, token, fx.Bob.ID, kf); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.KeptFormFor(ctx, token, fx.Bob.ID); got.Fields != kf.Fields {
			t.Fatalf("kept anew: %+v", got)
		}
		// Alice cannot take it over by keeping her own form under it.
		if err := s.KeepForm(ctx, token, fx.Alice.ID, storage.KeptForm{Fields: "body=mine"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.KeptFormFor(ctx, token, fx.Bob.ID); got.Fields != kf.Fields {
			t.Fatalf("after Alice's attempt: %+v", got)
		}
		p, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, Source: "Whole thought", HTML: "<p>Whole thought</p>", FormToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.KeptFormFor(ctx, token, fx.Bob.ID); err != nil || got.PostID == nil || *got.PostID != p.ID || got.Fields != "" {
			t.Fatalf("after posting: %v %+v", err, got)
		}
		// Keeping a form whose token made a post keeps nothing.
		if err := s.KeepForm(ctx, token, fx.Bob.ID, kf); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.KeptFormFor(ctx, token, fx.Bob.ID); got.Fields != "" {
			t.Fatalf("kept over a used token: %+v", got)
		}
		if _, err := s.KeptFormFor(ctx, "not-a-token", fx.Bob.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("junk token: %v", err)
		}
		// Everything goes once it expires.
		if n, err := s.DeleteExpiredFormTokens(ctx, time.Now().Add(storage.UsedFormTTL+time.Minute)); err != nil || n == 0 {
			t.Fatalf("expired: %d %v", n, err)
		}
		if _, err := s.KeptFormFor(ctx, token, fx.Bob.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("after expiry: %v", err)
		}
	})
}
