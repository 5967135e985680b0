package inbox

import (
	"testing"

	"github.com/skein-forum/skein/federation"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// A post the database refuses fails alone: the others of its batch are
// stored one by one.
func TestPostCommitIsolatesAFailingPost(t *testing.T) {
	store := storagetest.Open(t, "sqlite")
	fx := storagetest.Seed(t, store)
	fed, err := federation.New(federation.Config{Store: store, URLs: site.MustNew("https://forum.example")})
	if err != nil {
		t.Fatal(err)
	}
	in := New(fed, Config{})
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
