package httpcache_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/httpcache"
)

func TestNotModified(t *testing.T) {
	modified := time.Date(2026, 11, 26, 10, 0, 0, 500, time.UTC)
	for _, tc := range []struct {
		header, value string
		etag          string
		want          bool
	}{
		{"If-None-Match", `"abc"`, `"abc"`, true},
		{"If-None-Match", `W/"abc"`, `"abc"`, true},
		{"If-None-Match", `"abc"`, `W/"abc"`, true},
		{"If-None-Match", `"x", "abc"`, `"abc"`, true},
		{"If-None-Match", `*`, `"abc"`, true},
		{"If-None-Match", `"abd"`, `"abc"`, false},
		{"If-Modified-Since", modified.Format(http.TimeFormat), `"abc"`, true},
		{"If-Modified-Since", modified.Add(-time.Second).Format(http.TimeFormat), `"abc"`, false},
		{"If-Modified-Since", "yesterday", `"abc"`, false},
		{"", "", `"abc"`, false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.header != "" {
			r.Header.Set(tc.header, tc.value)
		}
		if got := httpcache.NotModified(r, tc.etag, modified); got != tc.want {
			t.Errorf("%s: %s against %s: %v", tc.header, tc.value, tc.etag, got)
		}
	}
	// If-None-Match wins over If-Modified-Since; no time never matches.
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("If-None-Match", `"old"`)
	r.Header.Set("If-Modified-Since", modified.Format(http.TimeFormat))
	if httpcache.NotModified(r, `"new"`, modified) {
		t.Error("a changed ETag with a current date is not modified")
	}
	r.Header.Del("If-None-Match")
	if httpcache.NotModified(r, `"new"`, time.Time{}) {
		t.Error("unknown modification time matched If-Modified-Since")
	}
}

func TestCache(t *testing.T) {
	now := time.Now()
	resp := func(n int) *httpcache.Response { return &httpcache.Response{Body: []byte(strings.Repeat("x", n))} }
	c := httpcache.New[string](10000, time.Minute)
	c.Put("a", 2, resp(100), now)
	if c.Get("a", 2, now) == nil {
		t.Fatal("miss at the version put")
	}
	if c.Get("a", 3, now) != nil || c.Get("a", 1, now) != nil {
		t.Fatal("hit at another version")
	}
	if c.Get("a", 2, now.Add(2*time.Minute)) != nil {
		t.Fatal("hit after the ttl")
	}
	c.Put("a", 1, resp(50), now) // a late build of an older version
	if c.Get("a", 2, now) == nil {
		t.Fatal("an older version replaced a newer one")
	}
	c.Put("big", 1, resp(2000), now) // over an eighth of the cache
	if c.Get("big", 1, now) != nil {
		t.Fatal("an oversized response was kept")
	}
	// Least recently used goes first when the bytes run out.
	for _, k := range []string{"b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t"} {
		c.Get("a", 2, now)
		c.Put(k, 1, resp(1000), now)
	}
	if st := c.Stats(); st.Bytes > 10000 || st.Entries == 0 {
		t.Fatalf("%d entries, %d bytes over a 10000-byte bound", st.Entries, st.Bytes)
	}
	if c.Get("a", 2, now) == nil || c.Get("b", 1, now) != nil {
		t.Fatal("eviction did not follow use")
	}
	var none *httpcache.Cache[int] = httpcache.New[int](0, 0)
	none.Put(1, 1, resp(1), now)
	if none.Get(1, 1, now) != nil {
		t.Fatal("a disabled cache kept something")
	}
}

// page is a value that grows after it is put, as a kept page does when
// readers ask for renderings of it.
type page struct{ bytes int64 }

func (p *page) CacheBytes() int64 { return p.bytes }

func TestVersionedGrowAndStats(t *testing.T) {
	now := time.Now()
	c := httpcache.NewVersioned[int, *page](10000, 0)
	first, second := &page{100}, &page{100}
	c.Put(1, 1, first, now)
	c.Put(2, 1, &page{100}, now)
	if c.Get(1, 1, now) != first || c.Get(1, 2, now) != nil || c.Get(3, 1, now) != nil {
		t.Fatal("get does not answer by key and version")
	}
	if st := c.Stats(); st.Hits != 1 || st.Misses != 2 || st.Entries != 2 {
		t.Fatalf("stats %+v, want 1 hit, 2 misses, 2 entries", st)
	}
	before := c.Stats().Bytes
	c.Grow(1, first, 500)
	if got := c.Stats().Bytes; got != before+500 {
		t.Fatalf("%d bytes after growing %d by 500", got, before)
	}
	// A value no longer kept under its key grows nothing.
	c.Put(1, 1, second, now)
	before = c.Stats().Bytes
	c.Grow(1, first, 500)
	if got := c.Stats().Bytes; got != before {
		t.Fatalf("a replaced value grew the cache from %d to %d bytes", before, got)
	}
	// Growing past the bound drops the least recently used.
	c.Get(1, 1, now)
	c.Grow(1, second, 9500)
	if c.Get(2, 1, now) != nil || c.Get(1, 1, now) != second {
		t.Fatal("growing past the bound did not drop the least recently used")
	}
	before = c.Stats().Bytes
	c.Grow(2, first, 100) // dropped meanwhile
	if got := c.Stats().Bytes; got != before {
		t.Fatalf("a dropped key grew the cache from %d to %d bytes", before, got)
	}
	var none *httpcache.Versioned[int, *page] = httpcache.NewVersioned[int, *page](0, 0)
	none.Put(1, 1, first, now)
	none.Grow(1, first, 1)
	if none.Get(1, 1, now) != nil || none.Stats() != (httpcache.Stats{}) {
		t.Fatal("a disabled cache kept or counted something")
	}
}
