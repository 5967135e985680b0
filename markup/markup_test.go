package markup

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/skein-forum/skein/markup/markuptest"
)

// unsafeMarkup names what a browser could run in out, or "".
func unsafeMarkup(out string) string { return markuptest.Unsafe(out) }

func TestRenderMarkdownRemovesDangerousMarkup(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		// mustNotContain is checked case-insensitively on the output.
		mustNotContain string
	}{
		{"script", "hello <script>alert(1)</script>", "<script"},
		{"script mixed case", "<ScRiPt>alert(1)</sCrIpT>", "<script"},
		{"onerror", `<img src=x onerror="alert(1)">`, "onerror"},
		{"onclick on allowed tag", `<p onclick="alert(1)">hi</p>`, "onclick"},
		{"javascript link", "[click](javascript:alert(1))", "javascript"},
		{"javascript link entity-encoded", "[click](jav&#x61;script:alert(1))", "script:"},
		{"javascript autolink", "<javascript:alert(1)>", "href"},
		{"data link", "[x](data:text/html;base64,PHNjcmlwdD4=)", "data:"},
		{"vbscript link", "[x](vbscript:msgbox)", "vbscript"},
		{"iframe", `<iframe src="https://evil.example"></iframe>`, "<iframe"},
		{"style element", "<style>body{display:none}</style>", "<style"},
		{"style attribute", `<span style="position:fixed">x</span>`, "style"},
		{"css expression", `<p style="width: expression(alert(1))">x</p>`, "expression"},
		{"image markdown", "![alt](https://example.com/x.png)", "<img"},
		{"image html", `<img src="https://example.com/x.png">`, "<img"},
		{"relative link", "[home](/admin)", "href"},
		{"heading", "# Title", "<h1"},
		{"svg", `<svg onload="alert(1)"></svg>`, "<svg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := RenderMarkdown(tc.src)
			if strings.Contains(strings.ToLower(out), tc.mustNotContain) {
				t.Errorf("RenderMarkdown(%q) = %q contains %q", tc.src, out, tc.mustNotContain)
			}
			if why := unsafeMarkup(out); why != "" {
				t.Errorf("RenderMarkdown(%q) = %q: %s", tc.src, out, why)
			}
		})
	}
}

func TestRenderMarkdownKeepsAllowedMarkup(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"hello", "<p>hello</p>\n"},
		{"*em* **strong** ~~gone~~ `code`", "<p><em>em</em> <strong>strong</strong> <del>gone</del> <code>code</code></p>\n"},
		{"line one  \nline two", "<p>line one<br>\nline two</p>\n"},
		{"> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>\n"},
		{"- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"},
		{"1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n"},
		{"```go\nx := 1 < 2\n```", "<pre><code>x := 1 &lt; 2\n</code></pre>\n"},
		{"[site](https://example.com/a?b=c&d=e)", `<p><a href="https://example.com/a?b=c&amp;d=e" rel="nofollow ugc noopener">site</a></p>` + "\n"},
		{"see https://example.com/x", `<p>see <a href="https://example.com/x" rel="nofollow ugc noopener">https://example.com/x</a></p>` + "\n"},
		{"[mail](mailto:a@example.com)", `<p><a href="mailto:a@example.com" rel="nofollow ugc noopener">mail</a></p>` + "\n"},
		{"5 < 6 & \"quotes\"", "<p>5 &lt; 6 &amp; &#34;quotes&#34;</p>\n"},
	} {
		if got := RenderMarkdown(tc.src); got != tc.want {
			t.Errorf("RenderMarkdown(%q)\n got %q\nwant %q", tc.src, got, tc.want)
		}
	}
}

// Every link gets exactly our rel, whatever rel the input tried to set.
func TestLinksGetRel(t *testing.T) {
	for _, in := range []string{
		`<a href="https://example.com">x</a>`,
		`<a href="https://example.com" rel="me">x</a>`,
		`<a rel="opener" href="https://example.com" target="_blank">x</a>`,
		`<a href="https://example.com" rel="nofollow">x</a>`,
	} {
		out := SanitizeRemote(in)
		z := html.NewTokenizer(strings.NewReader(out))
		links := 0
		for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
			tok := z.Token()
			if tt != html.StartTagToken || tok.Data != "a" {
				continue
			}
			links++
			var rels []string
			for _, a := range tok.Attr {
				if a.Key == "rel" {
					rels = append(rels, a.Val)
				}
				if a.Key == "target" {
					t.Errorf("%q kept target", out)
				}
			}
			if len(rels) != 1 || rels[0] != linkRel {
				t.Errorf("SanitizeRemote(%q) = %q: rel %q", in, out, rels)
			}
		}
		if links != 1 {
			t.Errorf("SanitizeRemote(%q) = %q: %d links", in, out, links)
		}
	}
}

func TestSanitizeRemoteMastodonContent(t *testing.T) {
	in := `<p><span class="h-card" translate="no"><a href="https://social.example/@bob" class="u-url mention" data-x="1">@<span>bob</span></a></span> look at ` +
		`<a href="https://example.com/a/very/long/path" target="_blank" rel="nofollow noopener noreferrer"><span class="invisible">https://</span><span class="ellipsis">example.com/a/very</span><span class="invisible">/long/path</span></a> ` +
		`<a href="https://social.example/tags/go" class="mention hashtag" rel="tag">#<span>go</span></a></p>` +
		`<p class="quote-inline">RE: <span class="custom">x</span><img src="https://x/y.png"></p>`
	want := `<p><span class="h-card"><a href="https://social.example/@bob" class="u-url mention" rel="nofollow ugc noopener">@<span>bob</span></a></span> look at ` +
		`<a href="https://example.com/a/very/long/path" rel="nofollow ugc noopener"><span class="invisible">https://</span><span class="ellipsis">example.com/a/very</span><span class="invisible">/long/path</span></a> ` +
		`<a href="https://social.example/tags/go" class="mention hashtag" rel="nofollow ugc noopener">#<span>go</span></a></p>` +
		`<p>RE: <span>x</span></p>`
	if got := SanitizeRemote(in); got != want {
		t.Errorf("SanitizeRemote\n got %q\nwant %q", got, want)
	}
}

func TestSanitizeRemoteClassFilter(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`<span class="mention">x</span>`, `<span class="mention">x</span>`},
		{`<span class="mention evil">x</span>`, `<span>x</span>`},
		{`<span class="mentionx">x</span>`, `<span>x</span>`},
		{`<p class="mention">x</p>`, `<p>x</p>`},
		// An anchor without href is inert, so bluemonday keeps it.
		{`<a class="hashtag">x</a>`, `<a class="hashtag">x</a>`},
	} {
		if got := SanitizeRemote(tc.in); got != tc.want {
			t.Errorf("SanitizeRemote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	for _, in := range []string{"\xff\xfe hello", "**bold \xc3**", "<p>\xed\xa0\x80</p>", "[x](https://e.com/\xff)"} {
		for name, out := range map[string]string{
			"RenderMarkdown": RenderMarkdown(in),
			"SanitizeRemote": SanitizeRemote(in),
			"Excerpt":        Excerpt(in, 5),
		} {
			if !utf8.ValidString(out) {
				t.Errorf("%s(%q) = %q is not valid UTF-8", name, in, out)
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	want := RenderMarkdown("**hi** https://example.com")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got := RenderMarkdown("**hi** https://example.com"); got != want {
					t.Errorf("got %q", got)
					return
				}
			}
		})
	}
	wg.Wait()
}

// FuzzRenderMarkdown checks that no input, Markdown or embedded HTML, gets
// anything executable through, and that the output is valid UTF-8.
func FuzzRenderMarkdown(f *testing.F) {
	for _, seed := range []string{
		"hello **world**",
		"<script>alert(1)</script>",
		"[x](javascript:alert(1))",
		"[x](JaVaScRiPt&#58;alert(1))",
		"<a href=\"javascript:alert(1)\" onclick=alert(1)>x</a>",
		"<img src=x onerror=alert(1)>",
		"![x](javascript:alert(1))",
		"<javascript:alert(1)>",
		"www.example.com/<script>",
		"`<script>`",
		"<p style=\"x:expression(alert(1))\">",
		"[a]: javascript:alert(1)\n\n[a]",
		"<svg><script>alert(1)</script></svg>",
		"\xff<scr\x00ipt>",
		"<<script>script>alert(1)<</script>/script>",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, out := range []string{RenderMarkdown(src), SanitizeRemote(src)} {
			if why := unsafeMarkup(out); why != "" {
				t.Fatalf("input %q gave %q: %s", src, out, why)
			}
			if !utf8.ValidString(out) {
				t.Fatalf("input %q gave invalid UTF-8 %q", src, out)
			}
		}
	})
}

const benchPost = `Thanks for the write-up, @alice! A few notes:

1. The **migration** ran fine on SQLite, see https://example.com/docs/migrations
2. On PostgreSQL it needs ` + "`SKIP LOCKED`" + `, as [the docs](https://www.postgresql.org/docs/current/sql-select.html) say.

> We should measure before optimising.

Agreed. ~~Premature~~ optimisation and all that.

` + "```go\nfor job := range jobs {\n\tsend(job)\n}\n```\n"

func BenchmarkRenderMarkdown(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		RenderMarkdown(benchPost)
	}
}
