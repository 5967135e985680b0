package storage_test

import (
	"html"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
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
	cases = append(cases, storagetest.Soup(1, 3000, 20, "<", ">", "/", "p", "P", "br", "pre", "h1", "h9", "div", "a", " ", "\n", "x", "&amp;", "&lt;", "é", "_", "1", "=\"",
		"li", "td", "th", "tr", "\xff", "\u2003", "\u00a0", "&nbsp;", "\t", "\u0085", "\v", "\f", "\r", "\x1c")...)
	for _, c := range cases {
		if got, w := storage.PlainText(c), want(c); got != w {
			t.Fatalf("PlainText(%q) = %q, want %q", c, got, w)
		}
	}
}

// PlainText of a post is PlainTextPart's text and PlainText of the rest,
// joined by a space, on real post HTML cut everywhere and on random tag
// soup (entities, tags and words that a cut could split, tags left
// open): the promise a search result's excerpt is made on.
func TestPlainTextPartsMakePlainText(t *testing.T) {
	cases := []string{
		"<p>Fish &amp; <b>chips</b></p><p>y<br>z</p>", "<p>a<b>b</b> c</p>", "<b <p>x>y</p> z", "x &am<b></b>p; y</p> w",
		"<p>one</p><p>two</p><p>three</p>", "<blockquote><p>q</p></blockquote><p>t <a href=\"https://x.example/a\">https://x.example/a</a> u</p>",
		"<p>x</p>&nbsp;<p>y</p>", "<p> </p><p></p><p>z</p>",
	}
	cases = append(cases, storagetest.Soup(3, 3000, 40, "<", ">", "/", "p", "<p>", "</p>", "<b>", "</b>", "br", "<br>", "pre", "a", " ", "\n", "x", "rye",
		"&amp;", "&am", "p;", "&lt;", "&#39;", "&#3", "9;", "é", "\xff", "\u00a0", "&nbsp;", "\t", "<a href=\"x\">", "</a>", "<li>", "word ")...)
	cut := 0
	for _, h := range cases {
		whole := storage.PlainText(h)
		for n := range len(h) + 1 {
			text, rest := storage.PlainTextPart(h, n)
			if rest != "" {
				cut++
				if !strings.HasSuffix(h, rest) || len(h)-len(rest) < n {
					t.Fatalf("PlainTextPart(%q, %d): rest %q is not what follows a prefix of %d bytes or more", h, n, rest, n)
				}
			}
			if got := strings.TrimSpace(text + " " + storage.PlainText(rest)); got != whole {
				t.Fatalf("PlainTextPart(%q, %d) = %q, %q: joined %q, want %q", h, n, text, rest, got, whole)
			}
		}
	}
	if cut < 1000 {
		t.Fatalf("only %d posts were cut", cut)
	}
}
