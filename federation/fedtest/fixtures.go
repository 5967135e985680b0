package fedtest

import (
	"embed"
	"strings"
)

//go:embed testdata/gotosocial
var fixtures embed.FS

// Fixture returns a document or request captured from a real server, by
// its name under testdata (for example "gotosocial/follow.json"), with
// each pair of replace applied (old, new, ...): the captures name their
// hosts http://gotosocial.example and http://remote.example. It panics on
// a name that is not there, a mistake in the test.
func Fixture(name string, replace ...string) []byte {
	b, err := fixtures.ReadFile("testdata/" + name)
	if err != nil {
		panic("fedtest: " + err.Error())
	}
	if len(replace) == 0 {
		return b
	}
	return []byte(strings.NewReplacer(replace...).Replace(string(b)))
}
