package storage_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// TestSeedKeepsInvariants seeds a small forum with a batch size that
// splits threads across statements and checks what CreatePost would have
// kept: gapless positions, first and last posts, and every counter.
func TestSeedKeepsInvariants(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s) // seeding must add to a database in use
		res, err := s.Seed(ctx, storage.SeedSpec{Forums: 3, ThreadsPerForum: 4, PostsPerThread: 9,
			LongThreads: 1, LongThreadPosts: 130, Members: 7, PasswordHash: "x", Batch: 50})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.ThreadIDs) != 13 || len(res.LongThreads) != 1 || len(res.MemberIDs) != 7 || len(res.ForumIDs) != 3 {
			t.Fatalf("result: %d threads, %d long, %d members, %d forums", len(res.ThreadIDs), len(res.LongThreads), len(res.MemberIDs), len(res.ForumIDs))
		}
		db := s.DB()
		var total int64
		for _, id := range res.ThreadIDs {
			th, err := s.ThreadByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var n, lo, hi int64
			if err := db.NewRaw("SELECT COUNT(*), MIN(position), MAX(position) FROM posts WHERE thread_id = ?", id).
				Scan(ctx, &n, &lo, &hi); err != nil {
				t.Fatal(err)
			}
			if n != th.PostCount || lo != 1 || hi != n {
				t.Fatalf("thread %s: post_count %d, %d posts at positions %d..%d", id, th.PostCount, n, lo, hi)
			}
			first, _ := s.PostsInRange(ctx, id, 1, 1)
			last, _ := s.PostsInRange(ctx, id, n, n)
			if len(first) != 1 || th.FirstPostID == nil || *th.FirstPostID != first[0].ID || th.LastPostID != last[0].ID {
				t.Fatalf("thread %s: first/last post ids do not match positions 1 and %d", id, n)
			}
			if !th.LastPostAt.Equal(last[0].CreatedAt) || th.Author == nil || th.AuthorID != first[0].AuthorID {
				t.Fatalf("thread %s: last_post_at %v vs %v, author %d vs %d", id, th.LastPostAt, last[0].CreatedAt, th.AuthorID, first[0].AuthorID)
			}
			total += n
		}
		if total != res.Posts {
			t.Fatalf("%d posts counted, result says %d", total, res.Posts)
		}
		long, _ := s.ThreadByID(ctx, res.LongThreads[0])
		if long.PostCount != 130 {
			t.Fatalf("long thread has %d posts", long.PostCount)
		}
		for _, fid := range res.ForumIDs {
			f, err := s.ForumByID(ctx, fid)
			if err != nil {
				t.Fatal(err)
			}
			var threads, posts int64
			var lastPost storage.ID
			if err := db.NewRaw("SELECT COUNT(*), COALESCE(SUM(post_count), 0), COALESCE(MAX(last_post_id), 0) FROM threads WHERE forum_id = ?", fid).
				Scan(ctx, &threads, &posts, &lastPost); err != nil {
				t.Fatal(err)
			}
			if f.ThreadCount != threads || f.PostCount != posts || f.LastPostID == nil || *f.LastPostID != lastPost {
				t.Fatalf("forum %s: counters %d threads %d posts last %v; rows say %d, %d, %v", f.Slug, f.ThreadCount, f.PostCount, f.LastPostID, threads, posts, lastPost)
			}
		}
		for _, mid := range res.MemberIDs {
			a, err := s.AccountByID(ctx, mid)
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			if err := db.NewRaw("SELECT COUNT(*) FROM posts WHERE author_id = ?", mid).Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			if a.PostCount != n || a.PasswordHash != "x" {
				t.Fatalf("member %s: post_count %d, %d posts", a.Handle, a.PostCount, n)
			}
			if kind, id, err := s.LocalName(ctx, a.Handle); err != nil || kind != "member" || id != mid {
				t.Fatalf("member %s: local name %q %v %v", a.Handle, kind, id, err)
			}
		}
		// Seeded posts are searchable like written ones.
		var indexed int64
		if err := db.NewRaw("SELECT COUNT(*) FROM post_search").Scan(ctx, &indexed); err != nil {
			t.Fatal(err)
		}
		if indexed != res.Posts+3 { // and the three fixture posts
			t.Fatalf("%d search documents for %d seeded posts", indexed, res.Posts)
		}
		// The normal write path carries on where seeding stopped.
		id := res.ThreadIDs[len(res.ThreadIDs)-1]
		before, _ := s.ThreadByID(ctx, id)
		p, err := s.CreatePost(ctx, storage.NewPost{ThreadID: id, AuthorID: fx.Bob.ID, Source: "after", HTML: "<p>after</p>"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Position != before.PostCount+1 {
			t.Fatalf("new post at position %d after %d seeded", p.Position, before.PostCount)
		}
		// Seeding writes no outbox events: nothing seeded federates.
		var events int64
		if err := db.NewRaw("SELECT COUNT(*) FROM outbox_events WHERE post_id IN (SELECT id FROM posts WHERE thread_id = ? AND position <= ?)", id, before.PostCount).
			Scan(ctx, &events); err != nil {
			t.Fatal(err)
		}
		if events != 0 {
			t.Fatalf("%d outbox events for seeded posts", events)
		}
		// A second seed with another prefix adds to the first.
		if _, err := s.Seed(ctx, storage.SeedSpec{ThreadsPerForum: 1, PostsPerThread: 2, Prefix: "more"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSeedRefusesTakenNames(t *testing.T) {
	s := storagetest.Open(t, "sqlite")
	ctx := context.Background()
	if _, err := s.Seed(ctx, storage.SeedSpec{ThreadsPerForum: 1, PostsPerThread: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seed(ctx, storage.SeedSpec{ThreadsPerForum: 1, PostsPerThread: 1}); err == nil {
		t.Fatal("a second seed with the same prefix succeeded")
	}
	n, err := s.CountThreads(ctx)
	if err != nil || n != 1 {
		t.Fatalf("threads after a failed seed: %d, %v", n, err)
	}
}

func TestSeedFollowers(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		var fs []storage.RemoteFollower
		for i := range 1200 {
			host := fmt.Sprintf("h%d.example", i%30)
			id := fmt.Sprintf("https://%s/users/u%d", host, i)
			fs = append(fs, storage.RemoteFollower{APID: id, Handle: fmt.Sprintf("u%d", i), Domain: host,
				Inbox: id + "/inbox", SharedInbox: "https://" + host + "/inbox", PublicKeyID: id + "#main-key", PublicKeyPEM: "pem"})
		}
		if err := s.SeedFollowers(ctx, storage.FollowThread, fx.Thread.ID, fs); err != nil {
			t.Fatal(err)
		}
		n, err := s.CountFollowers(ctx, storage.FollowThread, fx.Thread.ID)
		if err != nil || n != 1200 {
			t.Fatalf("followers = %d, %v", n, err)
		}
		a, err := s.AccountByAPID(ctx, fs[7].APID)
		if err != nil || a.SharedInbox != fs[7].SharedInbox || a.IsLocal() {
			t.Fatalf("follower %+v, %v", a, err)
		}
	})
}

// Seeding followers the node knows already points their accounts at the
// inboxes and key given and keeps one follow each; an actor listed twice
// is recorded once. Dropping the remote followers leaves the members'.
func TestSeedFollowersAgainRepoints(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		follower := func(i int, host string) storage.RemoteFollower {
			id := fmt.Sprintf("https://far.example/users/u%d", i)
			return storage.RemoteFollower{APID: id, Handle: fmt.Sprintf("u%d", i), Domain: "far.example",
				Inbox: "https://" + host + "/users/u" + strconv.Itoa(i) + "/inbox", SharedInbox: "https://" + host + "/inbox",
				PublicKeyID: id + "#main-key", PublicKeyPEM: "key of " + host}
		}
		if _, err := s.AddFollow(ctx, fx.Bob.ID, storage.FollowThread, fx.Thread.ID, nil, true); err != nil {
			t.Fatal(err)
		}
		members, err := s.CountFollowers(ctx, storage.FollowThread, fx.Thread.ID)
		if err != nil {
			t.Fatal(err)
		}
		old := []storage.RemoteFollower{follower(1, "old.example"), follower(2, "old.example")}
		if err := s.SeedFollowers(ctx, storage.FollowThread, fx.Thread.ID, old); err != nil {
			t.Fatal(err)
		}
		again := []storage.RemoteFollower{follower(2, "new.example"), follower(3, "new.example"), follower(3, "new.example")}
		if err := s.SeedFollowers(ctx, storage.FollowThread, fx.Thread.ID, again); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountFollowers(ctx, storage.FollowThread, fx.Thread.ID); err != nil || n != members+3 {
			t.Fatalf("followers = %d, %v; want the %d members and three remote actors", n, err, members)
		}
		a, err := s.AccountByAPID(ctx, again[0].APID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Inbox != again[0].Inbox || a.SharedInbox != again[0].SharedInbox || a.PublicKeyPEM != again[0].PublicKeyPEM {
			t.Fatalf("a known actor points at %s, %s with %q; want %s, %s with %q", a.Inbox, a.SharedInbox, a.PublicKeyPEM,
				again[0].Inbox, again[0].SharedInbox, again[0].PublicKeyPEM)
		}
		if err := s.DropRemoteFollowers(ctx, storage.FollowThread, fx.Thread.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountFollowers(ctx, storage.FollowThread, fx.Thread.ID); err != nil || n != members {
			t.Fatalf("followers after dropping the remote ones = %d, %v; want the %d members", n, err, members)
		}
	})
}
