package outbox

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"strconv"
	"strings"
	"testing"
)

// Every outbox event kind storage writes has a builder: an event kind
// without one would be completed with nothing sent. The kinds are read
// from storage's source, so a new storage.Event constant fails this test
// until it has a builder here.
func TestEveryEventKindHasABuilder(t *testing.T) {
	pkgs, err := parser.ParseDir(token.NewFileSet(), "../../storage", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
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
