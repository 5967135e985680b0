package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

func TestThreadLifecycle(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)

		th, err := s.ThreadByID(ctx, fx.Thread.ID)
		if err != nil {
			t.Fatal(err)
		}
		if th.PostCount != 3 || th.LastPostID != fx.Posts[2].ID || *th.FirstPostID != fx.Posts[0].ID {
			t.Fatalf("thread counters = %d posts, last %v, first %v", th.PostCount, th.LastPostID, th.FirstPostID)
		}
		if th.Author == nil || th.Author.Handle != "alice" {
			t.Fatalf("thread author not loaded: %+v", th.Author)
		}
		for i, p := range fx.Posts {
			if p.Position != int64(i+1) {
				t.Errorf("post %d has position %d", i, p.Position)
			}
		}
		f, err := s.ForumByID(ctx, fx.Forum.ID)
		if err != nil {
			t.Fatal(err)
		}
		if f.ThreadCount != 1 || f.PostCount != 3 || *f.LastPostID != fx.Posts[2].ID {
			t.Fatalf("forum counters: %d threads, %d posts, last %v", f.ThreadCount, f.PostCount, f.LastPostID)
		}
		alice, _ := s.AccountByID(ctx, fx.Alice.ID)
		if alice.PostCount != 2 {
			t.Fatalf("alice post count = %d, want 2", alice.PostCount)
		}

		// Likes move reputation, once per member, never for oneself.
		if created, err := s.LikePost(ctx, fx.Posts[0].ID, fx.Bob.ID, nil); err != nil || !created {
			t.Fatalf("like: %v %v", created, err)
		}
		if created, err := s.LikePost(ctx, fx.Posts[0].ID, fx.Bob.ID, nil); err != nil || created {
			t.Fatalf("second like should be a no-op: %v %v", created, err)
		}
		if _, err := s.LikePost(ctx, fx.Posts[0].ID, fx.Alice.ID, nil); !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("self-like: %v", err)
		}
		alice, _ = s.AccountByID(ctx, fx.Alice.ID)
		p0, _ := s.PostByID(ctx, fx.Posts[0].ID)
		if alice.Reputation != 1 || p0.LikeCount != 1 {
			t.Fatalf("after like: reputation %d, like count %d", alice.Reputation, p0.LikeCount)
		}
		for post, want := range map[storage.ID]bool{fx.Posts[0].ID: true, fx.Posts[1].ID: false} {
			if liked, err := s.Liked(ctx, fx.Bob.ID, post); err != nil || liked != want {
				t.Fatalf("post %s liked = %v, %v; want %v", post, liked, err, want)
			}
		}
		if removed, err := s.UnlikePost(ctx, fx.Posts[0].ID, fx.Bob.ID); err != nil || !removed {
			t.Fatalf("unlike: %v %v", removed, err)
		}
		alice, _ = s.AccountByID(ctx, fx.Alice.ID)
		if alice.Reputation != 0 {
			t.Fatalf("reputation after unlike = %d", alice.Reputation)
		}

		// Edit marks the post edited; delete leaves a placeholder in place.
		edited, err := s.EditPost(ctx, fx.Posts[1].ID, "Rye, and warmer water.", "<p>Rye, and warmer water.</p>")
		if err != nil || edited.EditedAt == nil {
			t.Fatalf("edit: %v", err)
		}
		if err := s.DeletePost(ctx, fx.Posts[1].ID); err != nil {
			t.Fatal(err)
		}
		page, err := s.ThreadPage(ctx, fx.Thread.ID, 1)
		if err != nil || len(page) != 3 {
			t.Fatalf("page after delete: %d posts, %v", len(page), err)
		}
		if !page[1].IsDeleted() || page[1].HTML != "" || page[1].Source != "" {
			t.Fatalf("deleted post kept its text: %+v", page[1])
		}

		// Every federating change left an outbox event, in order.
		evs, err := s.PendingEvents(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range evs {
			kinds = append(kinds, e.Kind)
		}
		want := []string{storage.EventThreadCreate, storage.EventPostCreate, storage.EventPostCreate,
			storage.EventLikeCreate, storage.EventLikeDelete, storage.EventPostUpdate, storage.EventPostDelete}
		if len(kinds) != len(want) {
			t.Fatalf("events = %v, want %v", kinds, want)
		}
		for i := range want {
			if kinds[i] != want[i] {
				t.Fatalf("events = %v, want %v", kinds, want)
			}
		}

		// Deleting the first post deletes the thread.
		if err := s.DeletePost(ctx, fx.Posts[0].ID); err != nil {
			t.Fatal(err)
		}
		th, _ = s.ThreadByID(ctx, fx.Thread.ID)
		if th.DeletedAt == nil {
			t.Fatal("thread survived the deletion of its first post")
		}
		if _, err := s.CreatePost(ctx, storage.NewPost{ThreadID: th.ID, AuthorID: fx.Bob.ID, Source: "late", HTML: "<p>late</p>"}); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("reply to deleted thread: %v", err)
		}
	})
}

func TestLockedThreadRefusesReplies(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		if err := s.SetThreadLocked(ctx, fx.Thread.ID, true); err != nil {
			t.Fatal(err)
		}
		_, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, Source: "x", HTML: "<p>x</p>"})
		if !errors.Is(err, storage.ErrLocked) {
			t.Fatalf("reply to locked thread: %v", err)
		}
	})
}

func TestNamesShareOneNamespace(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		storagetest.Seed(t, s)
		if _, err := s.CreateMember(ctx, storage.NewMember{Handle: "kitchen"}); !errors.Is(err, storage.ErrNameTaken) {
			t.Fatalf("member taking a forum's name: %v", err)
		}
		if _, err := s.CreateForum(ctx, storage.NewForum{Slug: "alice", Title: "A"}); !errors.Is(err, storage.ErrNameTaken) {
			t.Fatalf("forum taking a member's name: %v", err)
		}
		if _, err := s.CreateMember(ctx, storage.NewMember{Handle: "admin"}); !errors.Is(err, storage.ErrNameTaken) {
			t.Fatalf("reserved name: %v", err)
		}
		for _, bad := range []string{"", "Has Space", "dot.ted", "dash-ed", "x123456789012345678901234567890"} {
			if _, err := s.CreateMember(ctx, storage.NewMember{Handle: bad}); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("handle %q: %v", bad, err)
			}
		}
		kind, _, err := s.LocalName(ctx, "kitchen")
		if err != nil || kind != "forum" {
			t.Fatalf("local name kitchen = %q, %v", kind, err)
		}
	})
}

// Concurrent replies to one thread get distinct, gapless positions: the
// invariant page arithmetic and /p/ID redirects rely on.
func TestConcurrentRepliesGetGaplessPositions(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				author := fx.Bob.ID
				if i%2 == 0 {
					author = fx.Mod.ID
				}
				_, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: author, Source: "hi", HTML: "<p>hi</p>"})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		posts, err := s.PostsInRange(ctx, fx.Thread.ID, 1, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(posts) != 43 {
			t.Fatalf("got %d posts, want 43", len(posts))
		}
		for i, p := range posts {
			if p.Position != int64(i+1) {
				t.Fatalf("position %d at index %d", p.Position, i)
			}
		}
		// Pages are position ranges: page 3 holds positions 41-43.
		page3, err := s.ThreadPage(ctx, fx.Thread.ID, 3)
		if err != nil || len(page3) != 3 || page3[0].Position != 41 || page3[0].Page() != 3 {
			t.Fatalf("page 3: %d posts, %v", len(page3), err)
		}
	})
}

func TestSessionsAndPasswords(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		if err := storage.CheckPassword(fx.Alice.PasswordHash, storagetest.Password); err != nil {
			t.Fatalf("right password refused: %v", err)
		}
		if err := storage.CheckPassword(fx.Alice.PasswordHash, "wrong"); !errors.Is(err, storage.ErrWrongPassword) {
			t.Fatalf("wrong password: %v", err)
		}
		token, err := s.CreateSession(ctx, fx.Alice.ID, 3600e9)
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.SessionMember(ctx, token)
		if err != nil || m.ID != fx.Alice.ID {
			t.Fatalf("session member: %v, %v", m, err)
		}
		newHash, _ := storage.HashPassword("another long password")
		if err := s.SetPassword(ctx, fx.Alice.ID, newHash); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionMember(ctx, token); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("session survived a password change: %v", err)
		}
		expired, _ := s.CreateSession(ctx, fx.Bob.ID, -1)
		if _, err := s.SessionMember(ctx, expired); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("expired session accepted: %v", err)
		}
	})
}

func TestIDsAreOrderedAndRoundTrip(t *testing.T) {
	g := storage.NewIDGenerator()
	prev := g.Next()
	for range 10000 {
		id := g.Next()
		if id <= prev {
			t.Fatalf("id %d after %d", id, prev)
		}
		back, err := storage.ParseID(id.String())
		if err != nil || back != id {
			t.Fatalf("round trip %s: %v %v", id, back, err)
		}
		prev = id
	}
	for _, bad := range []string{"", "-1", "0", "ABC", "zzzzzzzzzzzzzz", "00a", "a b"} {
		if _, err := storage.ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
}

// Names from URLs reach lookups unfiltered; impossible ones are misses,
// never database errors (PostgreSQL errors on NUL bytes and bad UTF-8).
func TestImpossibleNamesAreMisses(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		storagetest.Seed(t, s)
		for _, name := range []string{"al\x00ice", "\xff\xfe", "", "a b", "kitchen;--"} {
			if _, err := s.MemberByHandle(ctx, name); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("MemberByHandle(%q) = %v", name, err)
			}
			if _, err := s.ForumBySlug(ctx, name); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("ForumBySlug(%q) = %v", name, err)
			}
			if _, _, err := s.LocalName(ctx, name); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("LocalName(%q) = %v", name, err)
			}
		}
	})
}

// Liked finds a member's like of a post and no one else's; LikedOnPage
// finds those of one page of the thread.
func TestLikedAndLikedOnPage(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		posts := storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 45)
		for _, i := range []int{0, 19, 20, 44} {
			if _, err := s.LikePost(ctx, posts[i].ID, fx.Alice.ID, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.LikePost(ctx, posts[5].ID, fx.Mod.ID, nil); err != nil {
			t.Fatal(err)
		}
		for i, want := range map[int]bool{0: true, 5: false, 19: true, 20: true, 21: false, 44: true} {
			if liked, err := s.Liked(ctx, fx.Alice.ID, posts[i].ID); err != nil || liked != want {
				t.Fatalf("reply %d liked = %v, %v; want %v", i, liked, err, want)
			}
		}
		if liked, err := s.Liked(ctx, fx.Mod.ID, posts[5].ID); err != nil || !liked {
			t.Fatalf("the moderator's like: %v, %v", liked, err)
		}
		// The seeded thread has 3 posts before the replies: page 1 holds
		// replies 0-16, page 2 17-36, page 3 37-44.
		for page, want := range map[int64][]int{1: {0}, 2: {19, 20}, 3: {44}, 4: nil} {
			liked, err := s.LikedOnPage(ctx, fx.Alice.ID, fx.Thread.ID, page)
			if err != nil {
				t.Fatal(err)
			}
			if len(liked) != len(want) {
				t.Fatalf("page %d: liked = %v, want replies %v", page, liked, want)
			}
			for _, i := range want {
				if !liked[posts[i].ID] {
					t.Fatalf("page %d: liked = %v, want replies %v", page, liked, want)
				}
			}
		}
	})
}

// A write whose context is cancelled half-way stores nothing, although
// on SQLite its statements run with a context that is never cancelled
// (Store.tx).
func TestWriteCancelledHalfWayStoresNothing(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		fx := storagetest.Seed(t, s)
		ctx, cancel := context.WithCancel(context.Background())
		err := s.InTx(ctx, func(ctx context.Context, db bun.IDB) error {
			_, err := db.NewRaw("UPDATE accounts SET post_count = post_count + 100 WHERE id = ?", fx.Alice.ID).Exec(ctx)
			cancel()
			return err
		})
		if !errors.Is(err, context.Canceled) && !errors.Is(err, sql.ErrTxDone) {
			t.Fatalf("cancelled write: err = %v, want context.Canceled or sql.ErrTxDone", err)
		}
		a, err := s.AccountByID(context.Background(), fx.Alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.PostCount >= 100 {
			t.Fatalf("cancelled write was stored: post count %d", a.PostCount)
		}
	})
}
