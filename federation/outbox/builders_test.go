package outbox

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
