package storage_test

import (
	"html"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/skein-forum/skein/storage"
)

// PlainText by hand gives what the regular expressions it replaced gave,
// on real post HTML and on random tag soup.
func TestPlainTextMatchesRegexps(t *testing.T) {
	blockTag := regexp.MustCompile(`(?is)</?(p|br|div|blockquote|pre|li|ul|ol|h[1-6]|tr|td|th|hr)\b[^>]*>`)
	htmlTag := regexp.MustCompile(`(?s)<[^>]*>`)
	want := func(h string) string {
		t := htmlTag.ReplaceAllString(blockTag.ReplaceAllString(h, " "), "")
		return strings.Join(strings.FieldsFunc(html.UnescapeString(t), unicode.IsSpace), " ")
	}
	cases := []string{
		"", "plain", "<p>Fish &amp; <b>chips</b></p><p>y<br>z</p>", "<P>up</P><BR/>x<Hr>", "<pre>code</pre><prefix>q",
		"<pa>x</pa>", "<p", "a < b > c", "<a <p>>x", "</ul><li class=\"x\">y</li>", "<h7>no</h7><h6>yes</h6>",
		"<blockquote><p>q</p></blockquote>tail", "<<p>>", "<p>\u00e9t\u00e9</p>", "<br\n/>line",
	}
	pieces := []string{"<", ">", "/", "p", "P", "br", "pre", "h1", "h9", "div", "a", " ", "\n", "x", "&amp;", "&lt;", "é", "_", "1", "=\"", "li", "td", "th", "tr", "\xff", "\u2003", "\u00a0", "&nbsp;", "\t", "\u0085", "\v", "\f", "\r", "\x1c"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		var b strings.Builder
		for range r.IntN(20) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		cases = append(cases, b.String())
	}
	for _, c := range cases {
		if got, w := storage.PlainText(c), want(c); got != w {
			t.Fatalf("PlainText(%q) = %q, want %q", c, got, w)
		}
	}
}
