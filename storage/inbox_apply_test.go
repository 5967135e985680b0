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

// An activity the queue holds already is a repeat for CreateInboxPosts
// too, though no post has its APID: one still queued, and one the worker
// refused (a locked thread, no post). A replay of the signed POST must
// not store the post now; an activity the queue has not seen, in the
// same batch, is stored.
func TestCreateInboxPostsRefusesAnActivityTheQueueHas(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		const actor = "https://a.example/u/x"
		queued, refused, fresh := "https://a.example/a/9", "https://a.example/a/10", "https://a.example/a/11"
		for _, id := range []string{refused, queued} {
			if stored, err := s.AcceptInbox(ctx, actor, actor+"#main-key", id, []byte(`{"id":"`+id+`"}`)); err != nil || !stored {
				t.Fatalf("accept %s: %v %v", id, stored, err)
			}
		}
		// The worker takes the first and refuses it for good.
		items, err := s.ClaimInbox(ctx, "w", time.Now(), 1, time.Minute)
		if err != nil || len(items) != 1 || items[0].Body != `{"id":"`+refused+`"}` {
			t.Fatalf("claimed %+v, err %v", items, err)
		}
		if err := s.FinishInbox(ctx, "w", time.Now(), []storage.InboxResult{{ID: items[0].ID, Done: true, Error: "thread locked"}}); err != nil {
			t.Fatal(err)
		}
		reply := func(note string) storage.NewPost {
			return storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, Source: "Rye", HTML: "<p>Rye</p>", APID: ptr(note)}
		}
		nps := []storage.NewPost{reply("https://a.example/n/9"), reply("https://a.example/n/10"), reply("https://a.example/n/11")}
		res, err := s.CreateInboxPosts(ctx, nps, []string{queued, refused, fresh})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res[:2] {
			if !errors.Is(r.Err, storage.ErrRepeatActivity) || r.Post != nil {
				t.Fatalf("result %d %+v, want a repeat", i, r)
			}
			if _, err := s.PostByAPID(ctx, *nps[i].APID); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("the post of repeated activity %d was stored (err %v)", i, err)
			}
		}
		if !res[2].Created || res[2].Err != nil {
			t.Fatalf("the activity the queue has not seen: %+v", res[2])
		}
		if n := countRows(t, s, "SELECT count(*) FROM inbox_items"); n != 2 {
			t.Fatalf("%d inbox items, want the 2 accepted", n)
		}
	})
}

// CreateInboxPosts writes no inbox item and no body for the activities
// it applies: a replay is kept single by the post's APID (no second
// post, notification or outbox event), a repeated id in one batch is a
// repeat, and a refused post leaves its activity free for the queue.
func TestCreateInboxPostsRecordsNoActivity(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		first := fx.Posts[0].ID
		reply := func(apID string, thread storage.ID) storage.NewPost {
			return storage.NewPost{ThreadID: thread, AuthorID: fx.Bob.ID, Source: "Rye", HTML: "<p>Rye</p>", APID: &apID, ReplyToID: &first}
		}
		gone := storage.ID(1)
		nps := []storage.NewPost{reply("https://a.example/n/1", fx.Thread.ID), reply("https://a.example/n/1", fx.Thread.ID),
			reply("https://a.example/n/2", gone), reply("https://a.example/n/3", fx.Thread.ID)}
		acts := []string{"https://a.example/a/1", "https://a.example/a/1", "https://a.example/a/2", ""}
		res, err := s.CreateInboxPosts(ctx, nps, acts)
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].Created || !errors.Is(res[1].Err, storage.ErrRepeatActivity) || res[1].Post != nil || res[2].Err == nil ||
			errors.Is(res[2].Err, storage.ErrRepeatActivity) || !res[3].Created {
			t.Fatalf("results %+v", res)
		}
		for _, table := range []string{"inbox_items", "inbox_bodies"} {
			if n := countRows(t, s, "SELECT count(*) FROM "+table); n != 0 {
				t.Fatalf("%d rows in %s, want none", n, table)
			}
		}
		notices, events := countRows(t, s, "SELECT count(*) FROM notifications"), countRows(t, s, "SELECT count(*) FROM outbox_events")
		if notices == 0 {
			t.Fatal("a reply to alice's post notified no one: the replay below would prove nothing")
		}
		// The sender retries the first: its post stays single, and
		// nothing it caused is written again.
		again, err := s.CreateInboxPosts(ctx, nps[:1], acts[:1])
		if err != nil || again[0].Err != nil || again[0].Created || again[0].Post == nil || again[0].Post.ID != res[0].Post.ID {
			t.Fatalf("retry: %+v %v", again, err)
		}
		if n := countRows(t, s, "SELECT count(*) FROM posts WHERE ap_id = 'https://a.example/n/1'"); n != 1 {
			t.Fatalf("%d posts of the replayed Note", n)
		}
		if n, m := countRows(t, s, "SELECT count(*) FROM notifications"), countRows(t, s, "SELECT count(*) FROM outbox_events"); n != notices || m != events {
			t.Fatalf("the replay wrote %d notifications and %d outbox events", n-notices, m-events)
		}
		// The refused one goes to the queue, which takes it.
		if stored, err := s.AcceptInbox(ctx, "https://a.example/u/x", "k", acts[2], []byte(`{}`)); err != nil || !stored {
			t.Fatalf("queueing the refused activity: %v %v", stored, err)
		}
	})
}

func countRows(t *testing.T, s *storage.Store, q string) (n int) {
	t.Helper()
	if err := s.DB().NewRaw(q).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}
