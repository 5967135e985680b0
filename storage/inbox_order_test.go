package storage_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// One actor's activities are claimed in arrival order and never while
// another of the actor's is leased; other actors' and the node's own
// jobs are not held up.
func TestClaimInboxKeepsEachActorInOrder(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		const x, y = "https://a.example/u/x", "https://b.example/u/y"
		for i, actor := range []string{x, x, y, x} {
			if _, err := s.AcceptInbox(ctx, actor, actor+"#key", fmt.Sprintf("%s/act/%d", actor, i), []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.EnqueueInbox(ctx, storage.NewInboxItem{Kind: storage.InboxBackfill, ActorID: "https://here.example/actor", Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.EnqueueInbox(ctx, storage.NewInboxItem{Kind: storage.InboxBackfill, ActorID: "https://here.example/actor", Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		first, err := s.ClaimInbox(ctx, "p1", now, 1, time.Minute)
		if err != nil || len(first) != 1 || first[0].ActorID != x {
			t.Fatalf("first claim: %+v %v", first, err)
		}
		// x's first activity is leased: another process gets y and the
		// node's jobs, none of x's.
		second, err := s.ClaimInbox(ctx, "p2", now, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var actors []string
		for _, it := range second {
			actors = append(actors, it.ActorID)
		}
		if len(second) != 3 || second[0].ActorID != y {
			t.Fatalf("second claim took %v, want y's activity and the two jobs", actors)
		}
		if err := s.FinishInbox(ctx, "p1", now, []storage.InboxResult{{ID: first[0].ID, Done: true}}); err != nil {
			t.Fatal(err)
		}
		rest, err := s.ClaimInbox(ctx, "p2", now, 10, time.Minute)
		if err != nil || len(rest) != 2 {
			t.Fatalf("third claim: %d items, %v; want x's two others", len(rest), err)
		}
		if rest[0].ActorID != x || rest[1].ActorID != x || rest[0].ReceivedAt.After(rest[1].ReceivedAt) ||
			(rest[0].ReceivedAt.Equal(rest[1].ReceivedAt) && rest[0].ID > rest[1].ID) {
			t.Fatalf("x's activities out of order: %+v", rest)
		}
	})
}

// Several processes claiming at once never hold two activities of one
// actor at the same time (on PostgreSQL, where claims run in parallel).
func TestClaimInboxOneActorOneProcess(t *testing.T) {
	storagetest.ForEachDialectShared(t, func(t *testing.T, s *storage.Store, opts storage.Options) {
		ctx := context.Background()
		const actors, each = 6, 12
		for i := range each {
			var batch []storage.NewInboxItem
			for a := range actors {
				actor := fmt.Sprintf("https://a.example/u/%d", a)
				batch = append(batch, storage.NewInboxItem{ActorID: actor, KeyID: actor + "#key",
					ActivityID: fmt.Sprintf("%s/act/%d", actor, i), Body: []byte(`{}`)})
			}
			if _, err := s.AcceptInboxBatch(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
		stores := []*storage.Store{s, storagetest.OpenWith(t, opts), storagetest.OpenWith(t, opts)}
		var mu sync.Mutex
		holder := map[string]string{} // actor -> process holding it
		applied := map[string]int{}
		var failure error
		var wg sync.WaitGroup
		for p, st := range stores {
			owner := fmt.Sprintf("p%d", p)
			wg.Go(func() {
				for idle := 0; idle < 20; {
					items, err := st.ClaimInbox(ctx, owner, time.Now(), 5, time.Minute)
					if err != nil {
						mu.Lock()
						failure = err
						mu.Unlock()
						return
					}
					if len(items) == 0 {
						idle++
						time.Sleep(5 * time.Millisecond)
						continue
					}
					idle = 0
					mu.Lock()
					for _, it := range items {
						if h, ok := holder[it.ActorID]; ok && h != owner {
							failure = fmt.Errorf("%s and %s hold activities of %s at once", h, owner, it.ActorID)
						}
						holder[it.ActorID] = owner
						applied[it.ActorID]++
					}
					mu.Unlock()
					time.Sleep(time.Millisecond) // applying
					var results []storage.InboxResult
					mu.Lock()
					for _, it := range items {
						delete(holder, it.ActorID)
						results = append(results, storage.InboxResult{ID: it.ID, Done: true})
					}
					mu.Unlock()
					if err := st.FinishInbox(ctx, owner, time.Now(), results); err != nil {
						mu.Lock()
						failure = err
						mu.Unlock()
						return
					}
				}
			})
		}
		wg.Wait()
		if failure != nil {
			t.Fatal(failure)
		}
		for a := range actors {
			if n := applied[fmt.Sprintf("https://a.example/u/%d", a)]; n != each {
				t.Errorf("actor %d: %d activities applied, want %d", a, n, each)
			}
		}
	})
}

// A Delete that came before its Create leaves a tombstone: the post is
// refused when it arrives, for its author only; tombstones are capped per
// actor and pruned.
func TestTombstones(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		note := "https://a.example/notes/1"
		if err := s.AddTombstone(ctx, fx.Bob.ID, note); err != nil {
			t.Fatal(err)
		}
		if err := s.AddTombstone(ctx, fx.Bob.ID, note); err != nil {
			t.Fatalf("a second Delete: %v", err)
		}
		reply := func(author storage.ID, apid string) error {
			_, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: author, Source: "Hello",
				HTML: "<p>Hello</p>", APID: &apid, URL: apid})
			return err
		}
		if err := reply(fx.Bob.ID, note); !errors.Is(err, storage.ErrWithdrawn) {
			t.Fatalf("the deleted note was stored (err %v)", err)
		}
		if _, err := s.PostByAPID(ctx, note); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("the deleted note is there: %v", err)
		}
		if err := reply(fx.Alice.ID, note); err != nil {
			t.Fatalf("another author's note with that id: %v", err)
		}
		if ok, err := s.Tombstoned(ctx, fx.Bob.ID, note); err != nil || !ok {
			t.Fatalf("Tombstoned = %v, %v", ok, err)
		}

		for i := range storage.MaxTombstonesPerActor + 5 {
			if err := s.AddTombstone(ctx, fx.Alice.ID, fmt.Sprintf("https://a.example/likes/%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.DB().NewSelect().Model((*storage.Tombstone)(nil)).Where("actor_id = ?", fx.Alice.ID).Count(ctx)
		if err != nil || n > storage.MaxTombstonesPerActor || n < storage.MaxTombstonesPerActor-10 {
			t.Fatalf("alice keeps %d tombstones (%v), want about %d", n, err, storage.MaxTombstonesPerActor)
		}
		if ok, _ := s.Tombstoned(ctx, fx.Alice.ID, fmt.Sprintf("https://a.example/likes/%d", storage.MaxTombstonesPerActor+4)); !ok {
			t.Error("the newest tombstone went")
		}
		if pruned, err := s.PruneTombstones(ctx, time.Now().Add(time.Minute)); err != nil || pruned != int(n)+1 {
			t.Fatalf("pruned %d (%v), want %d", pruned, err, n+1)
		}
	})
}
