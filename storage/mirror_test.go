package storage_test

import (
	"context"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

func TestMirrorThread(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		carol := storagetest.RemoteActor(t, s, "carol", "remote.example")
		noteID := "https://remote.example/notes/1"
		m := storage.NewMirror{APID: "https://remote.example/threads/9", Title: "Bread on the other side",
			First: storage.NewPost{AuthorID: carol.ID, Source: "", HTML: "<p>Hello from afar</p>", APID: &noteID}}
		th, err := s.MirrorThread(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if !th.IsMirror() || th.PostCount != 1 || th.FirstPostID == nil {
			t.Fatalf("mirror = %+v", th)
		}
		again, err := s.MirrorThread(ctx, m)
		if err != nil || again.ID != th.ID {
			t.Fatalf("second mirror call made %v, %v", again, err)
		}
		// Members reply in the mirror like in any thread.
		reply, err := s.CreatePost(ctx, storage.NewPost{ThreadID: th.ID, AuthorID: fx.Bob.ID, Source: "hi afar", HTML: "<p>hi afar</p>",
			ReplyToID: th.FirstPostID})
		if err != nil {
			t.Fatal(err)
		}
		// Search leaves the hidden forum out, as every listing does (its
		// title, the remote post, the member's reply), until a moderator
		// moves the thread to a listed forum, and again once moved back.
		found := func() int {
			t.Helper()
			hits, _, err := s.Search(ctx, "afar", 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				if h.ID != reply.ID && h.ID != *th.FirstPostID {
					t.Fatalf("afar found post %s", h.ID)
				}
			}
			return len(hits)
		}
		if n := found(); n != 0 {
			t.Fatalf("search found %d posts of the hidden forum", n)
		}
		if err := s.MoveThread(ctx, fx.Mod.ID, th.ID, fx.Forum.ID); err != nil {
			t.Fatal(err)
		}
		if n := found(); n != 2 {
			t.Fatalf("search found %d posts of the thread moved to a listed forum, want 2", n)
		}
		if err := s.MoveThread(ctx, fx.Mod.ID, th.ID, th.ForumID); err != nil {
			t.Fatal(err)
		}
		if n := found(); n != 0 {
			t.Fatalf("search found %d posts of the thread moved back to the hidden forum", n)
		}
		// The hidden forum is not listed.
		forums, _ := s.ListForums(ctx)
		for _, f := range forums {
			if f.Slug == storage.MirrorForumSlug {
				t.Fatal("the mirror forum is listed on the home page")
			}
		}
		if _, err := s.CreateMember(ctx, storage.NewMember{Handle: storage.MirrorForumSlug}); err == nil {
			t.Fatal("a member took the mirror forum's name")
		}
	})
}
