package storage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// CreatePosts stores a batch as CreatePost would store each post: gapless
// positions in order, every counter and version moved, search documents
// and outbox events written; repeats of an APID (stored before or earlier
// in the batch) are not stored twice, and each refusal stays with its post.
func TestCreatePostsBatch(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		a := fx.Thread
		newThread := func(title string) *storage.Thread {
			th, _, err := s.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Alice.ID,
				Title: title, Source: "opening", HTML: "<p>opening</p>"})
			if err != nil {
				t.Fatal(err)
			}
			return th
		}
		b, locked, gone := newThread("Second"), newThread("Locked"), newThread("Gone")
		if err := s.SetThreadLocked(ctx, locked.ID, true); err != nil {
			t.Fatal(err)
		}
		goneFirst, _ := s.PostsInRange(ctx, gone.ID, 1, 1)
		if err := s.DeletePost(ctx, goneFirst[0].ID); err != nil {
			t.Fatal(err)
		}
		oldAPID := "https://remote.example/notes/old"
		old, err := s.CreatePost(ctx, storage.NewPost{ThreadID: a.ID, AuthorID: fx.Bob.ID, Source: "x", HTML: "<p>x</p>", APID: &oldAPID})
		if err != nil {
			t.Fatal(err)
		}
		before := func(id storage.ID) *storage.Thread {
			th, err := s.ThreadByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return th
		}
		aBefore, bBefore := before(a.ID), before(b.ID)
		forumBefore, _ := s.ForumByID(ctx, fx.Forum.ID)
		bobBefore, _ := s.AccountByID(ctx, fx.Bob.ID)
		modBefore, _ := s.AccountByID(ctx, fx.Mod.ID)
		events, _ := s.PendingEvents(ctx, 1000)

		apid := func(s string) *string { return &s }
		reply := fx.Posts[1].ID
		batch := []storage.NewPost{
			{ThreadID: a.ID, AuthorID: fx.Bob.ID, Source: "zymurgy one", HTML: "<p>zymurgy one</p>", APID: apid("https://remote.example/notes/1"), ReplyToID: &reply},
			{ThreadID: b.ID, AuthorID: fx.Mod.ID, Source: "zymurgy two", HTML: "<p>zymurgy two</p>"},
			{ThreadID: a.ID, AuthorID: fx.Mod.ID, Source: "zymurgy three", HTML: "<p>zymurgy three</p>"},
			{ThreadID: a.ID, AuthorID: fx.Bob.ID, Source: "again", HTML: "<p>again</p>", APID: apid("https://remote.example/notes/1")},
			{ThreadID: a.ID, AuthorID: fx.Bob.ID, Source: "old", HTML: "<p>old</p>", APID: &oldAPID},
			{ThreadID: locked.ID, AuthorID: fx.Bob.ID, Source: "locked", HTML: "<p>locked</p>"},
			{ThreadID: gone.ID, AuthorID: fx.Bob.ID, Source: "gone", HTML: "<p>gone</p>"},
			{ThreadID: b.ID, AuthorID: fx.Bob.ID, Source: "cross", HTML: "<p>cross</p>", ReplyToID: &reply},
			{ThreadID: b.ID, AuthorID: fx.Bob.ID, Source: " ", HTML: ""},
			{ThreadID: b.ID, AuthorID: fx.Bob.ID, Source: "zymurgy four", HTML: "<p>zymurgy four</p>", APID: apid("https://remote.example/notes/4")},
		}
		res, err := s.CreatePosts(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []error{nil, nil, nil, nil, nil, storage.ErrLocked, storage.ErrNotFound, storage.ErrInvalid, storage.ErrInvalid, nil} {
			if (want == nil) != (res[i].Err == nil) || (want != nil && !errors.Is(res[i].Err, want)) {
				t.Fatalf("result %d: err %v, want %v", i, res[i].Err, want)
			}
		}
		for i, created := range []bool{true, true, true, false, false, false, false, false, false, true} {
			if res[i].Created != created {
				t.Fatalf("result %d: created %v", i, res[i].Created)
			}
		}
		if res[3].Post == nil || res[3].Post.ID != res[0].Post.ID {
			t.Fatal("a repeat within the batch is not the first post")
		}
		if res[4].Post == nil || res[4].Post.ID != old.ID {
			t.Fatal("a stored APID is not the stored post")
		}

		// Positions continue each thread's count, in batch order.
		if p0, p2 := res[0].Post.Position, res[2].Post.Position; p0 != aBefore.PostCount+1 || p2 != aBefore.PostCount+2 {
			t.Fatalf("thread a positions %d, %d after %d", p0, p2, aBefore.PostCount)
		}
		if p1, p9 := res[1].Post.Position, res[9].Post.Position; p1 != bBefore.PostCount+1 || p9 != bBefore.PostCount+2 {
			t.Fatalf("thread b positions %d, %d after %d", p1, p9, bBefore.PostCount)
		}
		for _, th := range []struct {
			before *storage.Thread
			last   *storage.Post
		}{{aBefore, res[2].Post}, {bBefore, res[9].Post}} {
			after := before(th.before.ID)
			if after.PostCount != th.before.PostCount+2 || after.LastPostID != th.last.ID || after.Version <= th.before.Version {
				t.Fatalf("thread %s: count %d, last %s, version %d -> %d", after.ID, after.PostCount, after.LastPostID, th.before.Version, after.Version)
			}
			posts, err := s.PostsInRange(ctx, after.ID, 1, 1000)
			if err != nil || int64(len(posts)) != after.PostCount {
				t.Fatalf("thread %s: %d posts for a count of %d (%v)", after.ID, len(posts), after.PostCount, err)
			}
			for i, p := range posts {
				if p.Position != int64(i+1) {
					t.Fatalf("thread %s: position %d at %d", after.ID, p.Position, i)
				}
			}
		}
		forumAfter, _ := s.ForumByID(ctx, fx.Forum.ID)
		if forumAfter.PostCount != forumBefore.PostCount+4 || forumAfter.LastPostID == nil || *forumAfter.LastPostID != res[9].Post.ID || forumAfter.Version <= forumBefore.Version {
			t.Fatalf("forum: count %d -> %d, last %v", forumBefore.PostCount, forumAfter.PostCount, forumAfter.LastPostID)
		}
		bobAfter, _ := s.AccountByID(ctx, fx.Bob.ID)
		modAfter, _ := s.AccountByID(ctx, fx.Mod.ID)
		if bobAfter.PostCount != bobBefore.PostCount+2 || modAfter.PostCount != modBefore.PostCount+2 {
			t.Fatalf("author counts: bob %d -> %d, mod %d -> %d", bobBefore.PostCount, bobAfter.PostCount, modBefore.PostCount, modAfter.PostCount)
		}
		hits, _, err := s.Search(ctx, "zymurgy", 1)
		if err != nil || len(hits) != 4 {
			t.Fatalf("search found %d posts, want 4 (%v)", len(hits), err)
		}
		// The members' two posts federate; the two remote replies, in
		// threads and a forum that no remote actor follows, cause no
		// delivery and no event.
		after, _ := s.PendingEvents(ctx, 1000)
		if len(after)-len(events) != 2 {
			t.Fatalf("%d new outbox events, want 2", len(after)-len(events))
		}
		for i, ev := range after[len(events):] {
			if want := res[1+i].Post.ID; ev.Kind != storage.EventPostCreate || ev.ForumID != fx.Forum.ID || ev.PostID != want {
				t.Fatalf("event %+v, want post.create of post %s", ev, want)
			}
		}

		// The same batch again stores nothing new.
		again, err := s.CreatePosts(ctx, batch[:1])
		if err != nil || again[0].Created || again[0].Post.ID != res[0].Post.ID {
			t.Fatalf("repeat: %+v, %v", again[0], err)
		}
	})
}

// A remote reply writes an outbox event only where someone remote would
// hear of it: a follower of its thread or of its forum. Elsewhere it
// causes no delivery and no event; a member's post always has one.
func TestRemoteReplyEventOnlyWhereFollowed(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		remote := func(handle string) *storage.Account {
			id := "https://far.example/users/" + handle
			a, err := s.UpsertRemoteAccount(ctx, &storage.Account{Handle: handle, Domain: "far.example", APID: &id,
				Inbox: id + "/inbox", PublicKeyID: id + "#main-key", PublicKeyPEM: "-"})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		author, follower := remote("author"), remote("follower")
		forum2, err := s.CreateForum(ctx, storage.NewForum{Slug: "second", Title: "Second"})
		if err != nil {
			t.Fatal(err)
		}
		newThread := func(forum storage.ID, title string) *storage.Thread {
			th, _, err := s.CreateThread(ctx, storage.NewThread{ForumID: forum, AuthorID: fx.Alice.ID,
				Title: title, Source: "opening", HTML: "<p>opening</p>"})
			if err != nil {
				t.Fatal(err)
			}
			return th
		}
		followedThread, quietThread := newThread(fx.Forum.ID, "Followed"), newThread(fx.Forum.ID, "Quiet")
		inFollowedForum := newThread(forum2.ID, "In a followed forum")
		if _, err := s.AddFollow(ctx, follower.ID, storage.FollowThread, followedThread.ID, nil, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddFollow(ctx, follower.ID, storage.FollowForum, forum2.ID, nil, true); err != nil {
			t.Fatal(err)
		}
		// A follow still awaiting its Accept reaches nobody yet.
		pending := remote("pending")
		if _, err := s.AddFollow(ctx, pending.ID, storage.FollowThread, quietThread.ID, nil, false); err != nil {
			t.Fatal(err)
		}
		events, _ := s.PendingEvents(ctx, 1000)
		n := 0
		reply := func(th storage.ID) storage.NewPost {
			n++
			apid := fmt.Sprintf("https://far.example/notes/%d", n)
			return storage.NewPost{ThreadID: th, AuthorID: author.ID, APID: &apid, Source: "reply", HTML: "<p>reply</p>"}
		}
		res, err := s.CreatePosts(ctx, []storage.NewPost{
			reply(followedThread.ID),
			reply(quietThread.ID),
			reply(inFollowedForum.ID),
			{ThreadID: quietThread.ID, AuthorID: fx.Bob.ID, Source: "mine", HTML: "<p>mine</p>"},
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil || !r.Created {
				t.Fatalf("post %d: %+v", i, r)
			}
		}
		after, _ := s.PendingEvents(ctx, 1000)
		var got []storage.ID
		for _, ev := range after[len(events):] {
			got = append(got, ev.PostID)
		}
		want := []storage.ID{res[0].Post.ID, res[2].Post.ID, res[3].Post.ID}
		if !slices.Equal(got, want) {
			t.Fatalf("events for posts %v, want %v (the quiet thread's remote reply has none)", got, want)
		}
	})
}

// On PostgreSQL one pool serves reads and writes: storing a remote reply
// must not wait for a second connection while its transaction holds one
// (with every connection in such a transaction, none would come).
func TestRemoteReplyNeedsOneConnection(t *testing.T) {
	storagetest.ForEachDialectShared(t, func(t *testing.T, s *storage.Store, opts storage.Options) {
		fx := storagetest.Seed(t, s)
		opts.Pool = storage.Pool{MaxOpen: 1}
		one := storagetest.OpenWith(t, opts)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		// Its prepared reads made first, as a running node's are.
		if _, err := one.FollowedRemotely(ctx, storage.FollowThread, []storage.ID{fx.Thread.ID}); err != nil {
			t.Fatal(err)
		}
		apid := "https://far.example/notes/one-connection"
		res, err := one.CreatePosts(ctx, []storage.NewPost{{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, APID: &apid,
			Source: "reply", HTML: "<p>reply</p>"}})
		if err != nil || res[0].Err != nil || !res[0].Created {
			t.Fatalf("a remote reply on a pool of one connection: %v, %+v", err, res)
		}
	})
}
