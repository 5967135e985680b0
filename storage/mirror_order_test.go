package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// A mirror starts with the post whose announce created it; the earlier
// posts of the remote thread arrive afterwards and OrderMirror puts them
// before it, in the context's order, with the members' replies merged in
// by time.
func TestOrderMirror(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		apID := "https://remote.example/users/carol"
		carol, err := s.UpsertRemoteAccount(ctx, &storage.Account{Handle: "carol", Domain: "remote.example", APID: &apID,
			Inbox: apID + "/inbox", ActorType: "Person"})
		if err != nil {
			t.Fatal(err)
		}
		base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		remote := func(i int) storage.NewPost {
			id := fmt.Sprintf("https://remote.example/notes/%d", i)
			// Seconds, as ActivityPub's published carries them: several
			// posts share one.
			return storage.NewPost{AuthorID: carol.ID, HTML: fmt.Sprintf("<p>note %d</p>", i), APID: &id,
				CreatedAt: base.Add(time.Duration(i/2) * time.Second)}
		}
		th, err := s.MirrorThread(ctx, storage.NewMirror{APID: "https://remote.example/threads/1", Title: "Rye",
			RemoteActorID: &carol.ID, First: remote(9)})
		if err != nil {
			t.Fatal(err)
		}
		newest := *th.FirstPostID
		// A member's reply to the newest post, now.
		mine, err := s.CreatePost(ctx, storage.NewPost{ThreadID: th.ID, AuthorID: fx.Bob.ID, HTML: "<p>mine</p>", Source: "mine"})
		if err != nil {
			t.Fatal(err)
		}
		var listed []storage.ID
		for i := 1; i <= 8; i++ {
			np := remote(i)
			np.ThreadID = th.ID
			p, err := s.CreatePost(ctx, np)
			if err != nil {
				t.Fatal(err)
			}
			listed = append(listed, p.ID)
		}
		listed = append(listed, newest)
		if err := s.OrderMirror(ctx, th.ID, listed); err != nil {
			t.Fatal(err)
		}
		posts, err := s.PostsInRange(ctx, th.ID, 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		want := append(append([]storage.ID{}, listed...), mine.ID)
		if len(posts) != len(want) {
			t.Fatalf("%d posts, want %d", len(posts), len(want))
		}
		for i, p := range posts {
			if p.ID != want[i] || p.Position != int64(i+1) {
				t.Errorf("position %d: post %s (position %d), want %s", i+1, p.ID, p.Position, want[i])
			}
		}
		again, err := s.ThreadByID(ctx, th.ID)
		if err != nil {
			t.Fatal(err)
		}
		if *again.FirstPostID != listed[0] || again.AuthorID != carol.ID || again.Version <= th.Version {
			t.Errorf("thread after ordering: first post %s, version %d (was %d)", *again.FirstPostID, again.Version, th.Version)
		}
		// Ordered already: nothing changes.
		if err := s.OrderMirror(ctx, th.ID, listed); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.ThreadVersion(ctx, th.ID); v != again.Version {
			t.Errorf("ordering an ordered mirror changed its version")
		}
		// Local threads keep their positions.
		if err := s.OrderMirror(ctx, fx.Thread.ID, nil); err == nil {
			t.Error("a local thread was reordered")
		}
	})
}
