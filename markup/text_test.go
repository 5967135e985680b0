package markup

import (
	"testing"
	"unicode/utf8"
)

func TestExcerpt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"<p>short</p>", 20, "short"},
		{"<p>exactly ten</p>", 11, "exactly ten"},
		{"<p>Hello   brave\n new world</p>", 100, "Hello brave new world"},
		{"<p>one</p><p>two</p><ul><li>three</li></ul>line<br>break", 100, "one two three line break"},
		{"<p>Fish &amp; chips &lt;3 &#x1F600;</p>", 100, "Fish & chips <3 😀"},
		{"<p>The quick brown fox jumps</p>", 12, "The quick…"},
		{"<p>The quick brown fox jumps</p>", 10, "The quick…"}, // the space falls right after the cut
		{"<p>The quick brown fox jumps</p>", 16, "The quick brown…"},
		{"<p>The quick, brown fox</p>", 13, "The quick…"}, // no dangling comma
		{"<p>Supercalifragilistic</p>", 6, "Super…"},      // one long word is cut hard
		{"<p>héllo wörld ünïcode</p>", 12, "héllo wörld…"},
		{"<p>x</p>", 0, ""},
		{"<p>abc def</p>", 1, "…"},
		{"<script>alert(1)</script><style>p{}</style><p>visible text</p>", 100, "visible text"},
		{"<p>no</p><!-- comment --><p>comment</p>", 100, "no comment"},
	} {
		got := Excerpt(tc.in, tc.n)
		if got != tc.want {
			t.Errorf("Excerpt(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if tc.n > 0 && utf8.RuneCountInString(got) > tc.n {
			t.Errorf("Excerpt(%q, %d) = %q is longer than %d runes", tc.in, tc.n, got, tc.n)
		}
	}
}

func TestQuoteMarkdown(t *testing.T) {
	for _, tc := range []struct {
		name, author, url, src, want string
	}{
		{"basic", "Alice", "https://forum.example/t/1#p2", "Hello\nworld",
			"> **Alice** [wrote](<https://forum.example/t/1#p2>):\n>\n> Hello\n> world\n\n"},
		{"blank lines and CRLF", "Alice", "https://forum.example/p/2", "a\r\n\r\nb\r\n\r\n",
			"> **Alice** [wrote](<https://forum.example/p/2>):\n>\n> a\n>\n> b\n\n"},
		{"nested quote", "Bob", "https://forum.example/p/3", "> earlier\nreply",
			"> **Bob** [wrote](<https://forum.example/p/3>):\n>\n> > earlier\n> reply\n\n"},
		{"markdown in name escaped", "*Eve* [x](javascript:1) <b>", "https://forum.example/p/4", "hi",
			"> **\\*Eve\\* \\[x\\]\\(javascript\\:1\\) \\<b\\>** [wrote](<https://forum.example/p/4>):\n>\n> hi\n\n"},
		{"name with newline", "Al\nice", "https://forum.example/p/5", "hi",
			"> **Al ice** [wrote](<https://forum.example/p/5>):\n>\n> hi\n\n"},
		{"url with angle brackets and space", "A", "https://forum.example/p/6 <x>", "hi",
			"> **A** [wrote](<https://forum.example/p/6%20%3Cx%3E>):\n>\n> hi\n\n"},
		{"unsafe url dropped", "A", "javascript:alert(1)", "hi",
			"> **A** wrote:\n>\n> hi\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := QuoteMarkdown(tc.author, tc.url, tc.src)
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// The quote must render as one blockquote whose heading shows the name
// literally and links to the post.
func TestQuoteMarkdownRenders(t *testing.T) {
	got := RenderMarkdown(QuoteMarkdown("*Eve* <b>", "https://forum.example/p/1", "line one\n\nline two") + "my reply")
	want := "<blockquote>\n<p><strong>*Eve* &lt;b&gt;</strong> " +
		`<a href="https://forum.example/p/1" rel="nofollow ugc noopener">wrote</a>:</p>` + "\n" +
		"<p>line one</p>\n<p>line two</p>\n</blockquote>\n<p>my reply</p>\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
