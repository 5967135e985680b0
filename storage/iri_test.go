package storage_test

import (
	"context"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// A remote server that spells its host in upper case one day is the same
// server: its actor is one account, found by any spelling, and a block
// of the host reaches what it posted under either spelling.
func TestHostSpellingsAreOneAccount(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		upper := "https://Remote.EXAMPLE:443/users/Bob"
		a, err := s.UpsertRemoteAccount(ctx, &storage.Account{Handle: "Bob", Domain: "Remote.EXAMPLE.", APID: &upper,
			ActorType: "Person", Inbox: upper + "/inbox", PublicKeyID: "HTTPS://REMOTE.example/users/Bob#main-key"})
		if err != nil {
			t.Fatal(err)
		}
		lower := "https://remote.example/users/Bob"
		b, err := s.UpsertRemoteAccount(ctx, &storage.Account{Handle: "Bob", Domain: "remote.example", APID: &lower,
			ActorType: "Person", Inbox: lower + "/inbox", PublicKeyID: "https://remote.example/users/Bob#main-key"})
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != b.ID || *b.APID != lower || b.Domain != "remote.example" {
			t.Fatalf("two spellings made accounts %s (%s) and %s (%s, domain %q)", a.ID, *a.APID, b.ID, *b.APID, b.Domain)
		}
		for _, spelling := range []string{upper, "HTTPS://remote.Example/users/Bob", lower} {
			if got, err := s.AccountByAPID(ctx, spelling); err != nil || got.ID != a.ID {
				t.Errorf("AccountByAPID(%q) = %v, %v", spelling, got, err)
			}
		}
		if got, err := s.AccountByKeyID(ctx, "https://REMOTE.EXAMPLE/users/Bob#main-key"); err != nil || got.ID != a.ID {
			t.Errorf("AccountByKeyID = %v, %v", got, err)
		}
		if got, err := s.AccountByAcct(ctx, "Bob@REMOTE.example"); err != nil || got.ID != a.ID {
			t.Errorf("AccountByAcct = %v, %v", got, err)
		}
		// A post stored under one spelling is the post of the other.
		postID := "https://REMOTE.example/users/Bob/statuses/1"
		p, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: a.ID, HTML: "<p>hi</p>", APID: &postID})
		if err != nil {
			t.Fatal(err)
		}
		again := "https://remote.example/users/Bob/statuses/1"
		q, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: a.ID, HTML: "<p>hi</p>", APID: &again})
		if err != nil || q.ID != p.ID {
			t.Fatalf("the same post under another spelling stored again: %v, %v", q, err)
		}
		if got, err := s.PostByAPID(ctx, postID); err != nil || got.ID != p.ID {
			t.Fatalf("PostByAPID = %v, %v", got, err)
		}
		// The block reaches it.
		if err := s.BlockDomain(ctx, storage.Operator, storage.DomainBlock{Host: "remote.example", Severity: storage.SeveritySuspend}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.PostByID(ctx, p.ID); !got.IsDeleted() {
			t.Fatal("the block of remote.example missed a post stored under REMOTE.example")
		}
	})
}
