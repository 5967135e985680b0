package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// Every change a thread page shows bumps the thread's version in the same
// transaction; changes its forum's list shows bump the forum's.
func TestVersionsFollowEveryChange(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		version := func(v int64, err error) int64 {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		threadV := func() int64 { return version(s.ThreadVersion(ctx, fx.Thread.ID)) }
		forumV := func() int64 { return version(s.ForumVersion(ctx, fx.Forum.Slug)) }
		steps := []struct {
			name     string
			change   func() error
			forumToo bool
		}{
			{"reply", func() error {
				_, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, Source: "x", HTML: "<p>x</p>"})
				return err
			}, true},
			{"edit", func() error { _, err := s.EditPost(ctx, fx.Posts[1].ID, "y", "<p>y</p>"); return err }, false},
			{"like", func() error { _, err := s.LikePost(ctx, fx.Posts[1].ID, fx.Alice.ID, nil); return err }, false},
			{"unlike", func() error { _, err := s.UnlikePost(ctx, fx.Posts[1].ID, fx.Alice.ID); return err }, false},
			{"pin", func() error { return s.SetThreadPinned(ctx, fx.Thread.ID, true) }, true},
			{"lock", func() error { return s.SetThreadLocked(ctx, fx.Thread.ID, true) }, true},
			{"delete post", func() error { return s.DeletePost(ctx, fx.Posts[2].ID) }, false},
			{"delete thread", func() error { return s.DeleteThread(ctx, fx.Thread.ID) }, true},
		}
		for _, st := range steps {
			tv, fv := threadV(), forumV()
			if err := st.change(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if got := threadV(); got <= tv {
				t.Errorf("%s: thread version %d → %d", st.name, tv, got)
			}
			if got := forumV(); st.forumToo && got <= fv {
				t.Errorf("%s: forum version %d → %d", st.name, fv, got)
			}
		}
		if _, err := s.ThreadVersion(ctx, 12345); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("version of a missing thread: %v", err)
		}
		if err := s.SetThreadPinned(ctx, 12345, true); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("pinning a missing thread: %v", err)
		}
	})
}

func TestSearch(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		ids := func(hits []storage.SearchHit) []storage.ID {
			var out []storage.ID
			for _, h := range hits {
				out = append(out, h.ID)
			}
			return out
		}
		search := func(q string, page int) ([]storage.SearchHit, bool) {
			t.Helper()
			hits, more, err := s.Search(ctx, q, page)
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			return hits, more
		}

		// Post text, stemmed: "switching" finds "Switch" in Bob's reply
		// and in Alice's quotation of it.
		hits, _ := search("switching rye", 1)
		if len(hits) != 2 {
			t.Fatalf("rye: %v", ids(hits))
		}
		for _, h := range hits {
			if h.ID == fx.Posts[1].ID && (h.ThreadTitle != fx.Thread.Title || h.Author.Handle != "bob") {
				t.Fatalf("hit without its thread or author: %+v", h)
			}
		}
		// The thread title, found once (on the first post), not per reply.
		if hits, _ = search("sourdough", 1); len(hits) != 1 || hits[0].ID != fx.Posts[0].ID {
			t.Fatalf("sourdough: %v", ids(hits))
		}
		// Text inside tags is found; tag names are not.
		if hits, _ = search("three days", 1); len(hits) != 1 {
			t.Fatalf("three days: %v", ids(hits))
		}
		if hits, _ = search("strong", 1); len(hits) != 0 {
			t.Fatalf("a tag name matched: %v", ids(hits))
		}
		// Query syntax is only words.
		for _, q := range []string{`"`, `rye OR NOT "`, `*`, `title:rye`, `rye)`, `'); DROP TABLE posts; --`} {
			if _, _, err := s.Search(ctx, q, 1); err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
		}

		// An edit replaces the text; a deleted post is gone.
		if _, err := s.EditPost(ctx, fx.Posts[1].ID, "Try spelt.", "<p>Try spelt.</p>"); err != nil {
			t.Fatal(err)
		}
		if hits, _ = search("rye", 1); len(hits) != 1 || hits[0].ID != fx.Posts[2].ID {
			t.Fatalf("rye after the edit: %v", ids(hits))
		}
		if hits, _ = search("spelt", 1); len(hits) != 1 {
			t.Fatalf("spelt: %v", ids(hits))
		}
		if err := s.DeletePost(ctx, fx.Posts[1].ID); err != nil {
			t.Fatal(err)
		}
		if hits, _ = search("spelt", 1); len(hits) != 0 {
			t.Fatalf("a deleted post was found: %v", ids(hits))
		}

		// Pages: 45 matching replies are 20 + 20 + 5.
		storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 45)
		seen := map[storage.ID]bool{}
		for page, want := range []int{20, 20, 5} {
			hits, more := search("hydration", page+1)
			if len(hits) != want || more != (page < 2) {
				t.Fatalf("page %d: %d hits, more %v", page+1, len(hits), more)
			}
			for _, h := range hits {
				if seen[h.ID] {
					t.Fatalf("post %s on two pages", h.ID)
				}
				seen[h.ID] = true
			}
		}
		if hits, _ = search("hydration", storage.MaxSearchPage+1); hits != nil {
			t.Fatal("a page past the bound answered")
		}
		// A deleted thread's posts are not found.
		if err := s.DeleteThread(ctx, fx.Thread.ID); err != nil {
			t.Fatal(err)
		}
		if hits, _ = search("hydration", 1); len(hits) != 0 {
			t.Fatalf("posts of a deleted thread were found: %d", len(hits))
		}
	})
}

func TestSearchTerms(t *testing.T) {
	got := storage.SearchTerms(`Rye "flour" rye; NOT-x a*b 1 2 3 4 5 6 7 8`)
	want := []string{"rye", "flour", "not", "x", "a", "b", "1", "2"}
	if len(got) != len(want) {
		t.Fatalf("terms %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("terms %q, want %q", got, want)
		}
	}
	if got := storage.PlainText("<p>Fish &amp; <b>chips</b>, <a href=\"/u/bob\">@bob</a>.</p>\n<p>x</p><p>y<br>z</p>"); got != "Fish & chips, @bob. x y z" {
		t.Fatalf("plain text %q", got)
	}
}

func TestReadPositions(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		pos := func() int64 {
			t.Helper()
			m, err := s.ReadPositions(ctx, fx.Bob.ID, []storage.ID{fx.Thread.ID, 999})
			if err != nil {
				t.Fatal(err)
			}
			return m[fx.Thread.ID]
		}
		if got := pos(); got != 0 {
			t.Fatalf("unread thread at %d", got)
		}
		for _, step := range []struct{ mark, want int64 }{{2, 2}, {1, 2}, {3, 3}} {
			if err := s.MarkRead(ctx, fx.Bob.ID, fx.Thread.ID, step.mark); err != nil {
				t.Fatal(err)
			}
			if got := pos(); got != step.want {
				t.Fatalf("after marking %d: position %d, want %d", step.mark, got, step.want)
			}
		}
		st, err := s.ThreadReaderState(ctx, fx.Bob.ID, fx.Thread.ID)
		if err != nil || st.LastPosition != 3 || st.Following {
			t.Fatalf("reader state %+v, %v", st, err)
		}
		if _, err := s.AddFollow(ctx, fx.Bob.ID, storage.FollowThread, fx.Thread.ID, nil, true); err != nil {
			t.Fatal(err)
		}
		if st, err = s.ThreadReaderState(ctx, fx.Alice.ID, fx.Thread.ID); err != nil || st.LastPosition != 0 || st.Following {
			t.Fatalf("alice's reader state %+v, %v", st, err)
		}
		if st, err = s.ThreadReaderState(ctx, fx.Bob.ID, fx.Thread.ID); err != nil || !st.Following {
			t.Fatalf("bob's reader state after following %+v, %v", st, err)
		}
		p, err := s.PostAtPosition(ctx, fx.Thread.ID, 2)
		if err != nil || p.ID != fx.Posts[1].ID {
			t.Fatalf("post at 2: %v %v", p, err)
		}
		if _, err := s.PostAtPosition(ctx, fx.Thread.ID, 9); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("post at 9: %v", err)
		}
	})
}

func TestFeedQueries(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		other, err := s.CreateForum(ctx, storage.NewForum{Slug: "garden", Title: "Garden"})
		if err != nil {
			t.Fatal(err)
		}
		th2, _, err := s.CreateThread(ctx, storage.NewThread{ForumID: other.ID, AuthorID: fx.Bob.ID, Title: "Tomatoes", Source: "Red.", HTML: "<p>Red.</p>"})
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.NewestThreads(ctx, 0, 10)
		if err != nil || len(all) != 2 || all[0].ID != th2.ID || all[0].ForumSlug != "garden" || all[1].Author == nil {
			t.Fatalf("node threads: %+v %v", all, err)
		}
		kitchen, err := s.NewestThreads(ctx, fx.Forum.ID, 10)
		if err != nil || len(kitchen) != 1 || kitchen[0].ID != fx.Thread.ID {
			t.Fatalf("forum threads: %v", err)
		}
		if err := s.DeletePost(ctx, fx.Posts[1].ID); err != nil {
			t.Fatal(err)
		}
		latest, err := s.LatestPosts(ctx, fx.Thread.ID, 10)
		if err != nil || len(latest) != 2 || latest[0].ID != fx.Posts[2].ID || latest[1].ID != fx.Posts[0].ID || latest[0].Author == nil {
			t.Fatalf("latest posts: %v", err)
		}
		byID, err := s.PostsByID(ctx, []storage.ID{fx.Posts[0].ID, th2.LastPostID})
		if err != nil || len(byID) != 2 || byID[fx.Posts[0].ID].Author.Handle != "alice" {
			t.Fatalf("posts by id: %v %v", byID, err)
		}
	})
}
