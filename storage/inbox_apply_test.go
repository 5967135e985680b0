package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

func TestAcceptInboxDeduplicates(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		item := func(id string) storage.NewInboxItem {
			return storage.NewInboxItem{ActorID: "https://a.example/u/x", KeyID: "https://a.example/u/x#main-key", ActivityID: id, Body: []byte(`{}`)}
		}
		if ok, err := s.AcceptInbox(ctx, "https://a.example/u/x", "k", "https://a.example/1", []byte(`{}`)); err != nil || !ok {
			t.Fatalf("first: %v %v", ok, err)
		}
		stored, err := s.AcceptInboxBatch(ctx, []storage.NewInboxItem{item("https://a.example/1"), item("https://a.example/2"),
			item("https://a.example/2"), item(""), item("")})
		if err != nil {
			t.Fatal(err)
		}
		if want := []bool{false, true, false, true, true}; len(stored) != 5 || stored[0] != want[0] || stored[1] != want[1] ||
			stored[2] != want[2] || stored[3] != want[3] || stored[4] != want[4] {
			t.Fatalf("stored = %v, want %v", stored, want)
		}
		items, err := s.ClaimInbox(ctx, "w", time.Now(), 10, time.Minute)
		if err != nil || len(items) != 4 {
			t.Fatalf("claimed %d items, err %v; want 4", len(items), err)
		}
	})
}

func TestDeletePostsByAuthor(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 3)
		n, err := s.DeletePostsByAuthor(ctx, fx.Bob.ID)
		if err != nil || n != 4 {
			t.Fatalf("deleted %d, err %v; want 4", n, err)
		}
		if p, _ := s.PostByID(ctx, fx.Posts[1].ID); !p.IsDeleted() {
			t.Fatal("Bob's reply survives")
		}
		if p, _ := s.PostByID(ctx, fx.Posts[0].ID); p.IsDeleted() {
			t.Fatal("Alice's post deleted")
		}
		id := "https://a.example/follows/1"
		if _, err := s.AddFollow(ctx, fx.Bob.ID, storage.FollowThread, fx.Thread.ID, &id, true); err != nil {
			t.Fatal(err)
		}
		if f, err := s.FollowByAPID(ctx, id); err != nil || f.FollowerID != fx.Bob.ID {
			t.Fatalf("FollowByAPID: %+v %v", f, err)
		}
		if n, err := s.RemoveFollowsBy(ctx, fx.Bob.ID); err != nil || n != 1 {
			t.Fatalf("RemoveFollowsBy: %d %v", n, err)
		}
	})
}

// An activity the queue holds already (refused there: a locked thread,
// no post) is a repeat for CreateInboxPosts too, though no post has its
// APID: a replay of the signed POST must not store the post now.
func TestCreateInboxPostsRefusesAnActivityTheQueueHas(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		const actor, activity, note = "https://a.example/u/x", "https://a.example/a/9", "https://a.example/n/9"
		if stored, err := s.AcceptInbox(ctx, actor, actor+"#main-key", activity, []byte(`{"id":"`+activity+`"}`)); err != nil || !stored {
			t.Fatalf("accept: %v %v", stored, err)
		}
		np := storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, Source: "Rye", HTML: "<p>Rye</p>", APID: ptr(note)}
		res, err := s.CreateInboxPosts(ctx, []storage.NewPost{np},
			[]*storage.NewInboxItem{{ActorID: actor, KeyID: actor + "#main-key", ActivityID: activity, Body: []byte(`{}`)}})
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(res[0].Err, storage.ErrRepeatActivity) || res[0].Post != nil {
			t.Fatalf("result %+v, want a repeat", res[0])
		}
		if _, err := s.PostByAPID(ctx, note); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("the post of a repeated activity was stored (err %v)", err)
		}
	})
}

// The activities of CreateInboxPosts are stored, done, with their posts
// in one transaction: a repeat of either is stored once, a refused post
// leaves its activity out, and nothing is left for the queue's workers.
func TestCreateInboxPostsRecordsActivities(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		reply := func(apID string, thread storage.ID) storage.NewPost {
			return storage.NewPost{ThreadID: thread, AuthorID: fx.Bob.ID, Source: "Rye", HTML: "<p>Rye</p>", APID: &apID}
		}
		act := func(id string) *storage.NewInboxItem {
			return &storage.NewInboxItem{ActorID: "https://a.example/u/x", KeyID: "https://a.example/u/x#main-key", ActivityID: id, Body: []byte(`{"id":"` + id + `"}`)}
		}
		gone := storage.ID(1)
		nps := []storage.NewPost{reply("https://a.example/n/1", fx.Thread.ID), reply("https://a.example/n/1", fx.Thread.ID),
			reply("https://a.example/n/2", gone), reply("https://a.example/n/3", fx.Thread.ID)}
		acts := []*storage.NewInboxItem{act("https://a.example/a/1"), act("https://a.example/a/1"), act("https://a.example/a/2"), nil}
		res, err := s.CreateInboxPosts(ctx, nps, acts)
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].Created || !errors.Is(res[1].Err, storage.ErrRepeatActivity) || res[1].Post != nil || res[2].Err == nil ||
			errors.Is(res[2].Err, storage.ErrRepeatActivity) || !res[3].Created {
			t.Fatalf("results %+v", res)
		}
		// The sender retries the first: its post and its activity stay single.
		if res, err := s.CreateInboxPosts(ctx, nps[:1], acts[:1]); err != nil || !errors.Is(res[0].Err, storage.ErrRepeatActivity) || res[0].Post != nil {
			t.Fatalf("retry: %+v %v", res, err)
		}
		count := func(q string) (n int) {
			if err := s.DB().NewRaw(q).Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count("SELECT count(*) FROM inbox_items i JOIN inbox_bodies b ON b.item_id = i.id WHERE i.done_at IS NOT NULL"); n != 1 {
			t.Fatalf("%d activities recorded done, want 1 (a repeat and a refused post's left out)", n)
		}
		if items, err := s.ClaimInbox(ctx, "w", time.Now(), 10, time.Minute); err != nil || len(items) != 0 {
			t.Fatalf("claimed %d, err %v; want nothing", len(items), err)
		}
		if items, err := s.RecentInboxItems(ctx, "https://a.example/u/x", time.Now().Add(-time.Minute), time.Now(), 10); err != nil ||
			len(items) != 1 || items[0].Body != `{"id":"https://a.example/a/1"}` {
			t.Fatalf("recent items %+v, err %v", items, err)
		}
	})
}
