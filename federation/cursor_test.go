package federation

import (
	"strings"
	"testing"
)

func TestParsePostsCursor(t *testing.T) {
	for raw, want := range map[string]int64{
		"": 0, "page=true": 1, "page=true&from=1": 1, "page=true&from=21": 21, "from=41&page=true": 41,
	} {
		q, from, err := parsePostsCursor(raw)
		if err != nil || from != want {
			t.Errorf("parsePostsCursor(%q) = %d, %v; want %d", raw, from, err, want)
		}
		if raw != "" && q.String() != "page=true&from="+q.value {
			t.Errorf("canonical form of %q = %q", raw, q.String())
		}
	}
	for _, raw := range []string{
		"page=true&from=0", "page=true&from=-19", "page=true&from=2", "page=true&from=021", "page=true&from=+21",
		"page=1", "from=21", "page=true&page=true", "page=true&from=1&from=21", "page=true&after=21",
		"page=true&from=99999999999999999999", "page=true&from=%zz", "page=true;from=21", strings.Repeat("a", 300),
	} {
		if _, _, err := parsePostsCursor(raw); err == nil {
			t.Errorf("parsePostsCursor(%q) accepted", raw)
		}
	}
}

// FuzzCollectionCursor feeds garbage to every cursor parser: they must
// never panic, and whatever they accept must survive a round trip through
// its canonical spelling.
func FuzzCollectionCursor(f *testing.F) {
	for _, seed := range []string{
		"", "page=true", "page=true&from=1", "page=true&from=21", "from=21&page=true", "page=true&from=0",
		"page=true&after=1y2p0ij32e8e7", "page=true&before=abc", "page=true&after=%00", "page=true&from=1e3",
		"page=true&&from=21", "=&=&", "page=true&from=9223372036854775807", "page=%74rue&from=%32%31",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if q, from, err := parsePostsCursor(raw); err == nil && q.isPage {
			if from < 1 || (from-1)%PostsPageSize != 0 {
				t.Fatalf("accepted position %d from %q", from, raw)
			}
			q2, from2, err := parsePostsCursor(q.String())
			if err != nil || from2 != from || q2.String() != q.String() {
				t.Fatalf("%q: canonical %q does not round-trip: %d %v", raw, q.String(), from2, err)
			}
		}
		if q, id, err := parseIDCursor(raw, "after", "before"); err == nil && q.key != "" {
			q2, id2, err := parseIDCursor(q.String(), "after", "before")
			if err != nil || id2 != id || q2.key != q.key {
				t.Fatalf("%q: canonical %q does not round-trip", raw, q.String())
			}
		}
	})
}
