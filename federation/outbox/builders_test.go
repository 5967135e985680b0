package outbox

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/storage"
)

// Every outbox event kind storage writes has a builder: an event kind
// without one would be completed with nothing sent. The kinds are read
// from storage's source, so a new storage.Event constant fails this test
// until it has a builder here.
func TestEveryEventKindHasABuilder(t *testing.T) {
	files, err := filepath.Glob("../../storage/*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	kinds := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Event") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						kinds[name.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	if len(kinds) < 10 {
		t.Fatalf("found only %d event kinds in storage: %v", len(kinds), kinds)
	}
	for name, kind := range kinds {
		if builders[kind] == nil {
			t.Errorf("storage.%s (%q) has no builder", name, kind)
		}
	}
}

// Thread ids and forum ids are apart: a pass asks about each thread and
// each forum its events name, even when a forum carries the id of a
// thread, and finds a remote author's posts in a thread and forum nobody
// remote follows quiet without loading them.
func TestPassAsksAboutThreadsAndForumsApart(t *testing.T) {
	n := testnode.New(t, nil)
	zed := n.AddRemoteAccount("zed", "bread.example")
	same := n.Fx.Thread.ID // a forum with the thread's id: nobody follows either
	var events []storage.OutboxEvent
	for i, p := range n.Fx.Posts[:2] {
		events = append(events, storage.OutboxEvent{ID: storage.ID(i + 1), Kind: storage.EventPostCreate,
			AccountID: zed.ID, PostID: p.ID, ThreadID: same, ForumID: same})
	}
	w := &Worker{Fed: n.Fed}
	w.setup()
	ctx, err := w.withPass(context.Background(), events)
	if err != nil {
		t.Fatal(err)
	}
	p := passOf(ctx)
	if !p.unfollowed(storage.FollowThread, same) || !p.unfollowed(storage.FollowForum, same) {
		t.Errorf("asked: thread %v, forum %v; want both asked and found unfollowed", p.followed[storage.FollowThread], p.followed[storage.FollowForum])
	}
	for _, ev := range events {
		if !p.isQuiet(ev) {
			t.Errorf("event %v of a remote author in an unfollowed thread and forum is not quiet", ev.ID)
		}
	}
}
