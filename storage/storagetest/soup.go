package storagetest

import (
	"math/rand/v2"
	"strings"
)

// Soup is n random strings, the same for the same seed, each of up to
// most of the pieces run together: tag soup for the code that reads
// post HTML and text, to hold it to a plainer way of doing the same.
func Soup(seed uint64, n, most int, pieces ...string) []string {
	r := rand.New(rand.NewPCG(seed, seed+1))
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for range r.IntN(most) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		out[i] = b.String()
	}
	return out
}
