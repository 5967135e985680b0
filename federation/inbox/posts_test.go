package inbox

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation"
	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// newBareInbox is an Inbox on a seeded SQLite store, with no server or
// workers around it, for the tests of its parts.
func newBareInbox(t *testing.T) (*Inbox, *storage.Store, *storagetest.Fixtures) {
	t.Helper()
	store := storagetest.Open(t, "sqlite")
	fx := storagetest.Seed(t, store)
	fed, err := federation.New(federation.Config{Store: store, URLs: site.MustNew("https://forum.example")})
	if err != nil {
		t.Fatal(err)
	}
	return New(fed, Config{}), store, fx
}

// A remote actor's suspension is not remembered with its account: once a
// moderator lifts it, the actor's next Create is taken at once, not
// refused for as long as a signer is remembered.
func TestCreateSignerDoesNotRememberASuspension(t *testing.T) {
	in, store, fx := newBareInbox(t)
	ctx := t.Context()
	apID := "https://social.example/users/zed"
	now := time.Now()
	zed, err := store.UpsertRemoteAccount(ctx, &storage.Account{Handle: "zed", Domain: "social.example",
		APID: &apID, ActorType: "Person", Inbox: apID + "/inbox", FetchedAt: &now})
	if err != nil {
		t.Fatal(err)
	}
	for _, suspended := range []bool{true, false, true, false} {
		if err := store.SuspendAccount(ctx, fx.Mod.ID, zed.ID, suspended); err != nil {
			t.Fatal(err)
		}
		signer, err := in.createSigner(ctx, apID)
		if err != nil {
			t.Fatal(err)
		}
		err = in.refuseSuspended(ctx, &as.Incoming{Type: "Create", Actor: apID}, signer)
		if refused := err != nil; refused != suspended {
			t.Fatalf("a Create just after suspended was set to %v: refused %v (%v)", suspended, refused, err)
		}
	}
}

// A post the database refuses fails alone: the others of its batch are
// stored one by one.
func TestPostCommitIsolatesAFailingPost(t *testing.T) {
	in, store, fx := newBareInbox(t)
	good := func(n string) *pendingPost {
		id := "https://remote.example/notes/" + n
		return &pendingPost{np: storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, HTML: "<p>" + n + "</p>", APID: &id},
			done: make(chan struct{})}
	}
	bad := good("bad")
	bad.np.URL = "https://remote.example/\x00" // refused by the database layer, not by validation
	batch := []*pendingPost{good("a"), bad, good("b")}
	ch := make(chan *pendingPost, len(batch))
	for _, p := range batch {
		ch <- p
	}
	close(ch)
	in.postCommitLoop(ch)
	for i, p := range batch {
		<-p.done
		failed := p.err != nil || p.res.Err != nil
		if failed != (p == bad) {
			t.Fatalf("post %d: err %v, result %+v", i, p.err, p.res)
		}
	}
	if _, err := store.PostByAPID(t.Context(), "https://remote.example/notes/b"); err != nil {
		t.Fatal(err)
	}
}

// The worker is handed the document the inbox decoded from the very body
// its item holds, once, and never one of a POST that was not stored.
func TestParsedDocsHandOverEachDocumentOnce(t *testing.T) {
	var p parsedDocs
	now := time.Now()
	body := `{"id":"https://a.example/1"}`
	first, again := map[string]any{"n": 1}, map[string]any{"n": 2}
	kept := p.put(body, first, now)
	if kept == nil {
		t.Fatal("the document was not kept")
	}
	repeat := p.put(body, again, now) // the same POST sent twice
	if repeat != nil {
		t.Fatal("a second document of the same body was kept")
	}
	p.drop(body, repeat) // the repeat was not stored
	if doc := p.take(body); doc == nil || doc["n"] != 1 {
		t.Fatalf("the worker got %v, want the first document", doc)
	}
	if doc := p.take(body); doc != nil {
		t.Fatal("a document was handed over twice")
	}
	if doc := p.take(`{"id":"https://a.example/2"}`); doc != nil {
		t.Fatal("a document was handed over for another body")
	}
	late := p.put(body, again, now)
	p.drop(body, late) // not stored: a repeat of what was applied
	if doc := p.take(body); doc != nil {
		t.Fatal("a document of an item never stored was handed over")
	}
}

// A body is read whole and exact whatever length its sender declared:
// the truth, less, more, none, or more than is taken on its word.
func TestReadBodyWhateverTheDeclaredLength(t *testing.T) {
	for _, size := range []int{0, 1, 511, 512, 2500, bodyPresize + 3000} {
		body := strings.Repeat("x", size)
		for _, declared := range []int64{int64(size), 0, -1, int64(size / 2), int64(size) * 2, math.MaxInt64} {
			got, err := readBody(strings.NewReader(body), declared)
			if err != nil || string(got) != body {
				t.Fatalf("size %d declared %d: read %d bytes (%v)", size, declared, len(got), err)
			}
		}
	}
}
