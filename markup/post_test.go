package markup

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/skein-forum/skein/markup/markuptest"
)

const media = "https://forum.example/media/"

// Headings (one level down), rules and tables render; images show only
// when they are this node's uploads, and any other image is a link.
func TestRenderPost(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"# Starter\n\n## Feeding", "<h2>Starter</h2>\n<h3>Feeding</h3>\n"},
		{"###### Six", "<h6>Six</h6>\n"},
		{"a\n\n---\n\nb", "<p>a</p>\n<hr>\n<p>b</p>\n"},
		{"| Flour | Grams |\n|:--|--:|\n| Rye | 500 |",
			"<table>\n<thead>\n<tr>\n<th align=\"left\">Flour</th>\n<th align=\"right\">Grams</th>\n</tr>\n</thead>\n" +
				"<tbody>\n<tr>\n<td align=\"left\">Rye</td>\n<td align=\"right\">500</td>\n</tr>\n</tbody>\n</table>\n"},
		{"![The crumb](https://forum.example/media/ab2cd.jpg)",
			`<p><img src="https://forum.example/media/ab2cd.jpg" alt="The crumb" loading="lazy"></p>` + "\n"},
		{"![A hotlink](https://elsewhere.example/p.png)",
			`<p><a href="https://elsewhere.example/p.png" rel="nofollow ugc noopener">A hotlink</a></p>` + "\n"},
		{"![](https://elsewhere.example/p.png)",
			`<p><a href="https://elsewhere.example/p.png" rel="nofollow ugc noopener">https://elsewhere.example/p.png</a></p>` + "\n"},
		// Not a plain key under the prefix: a link, not an image.
		{"![x](https://forum.example/media/../admin)",
			`<p><a href="https://forum.example/media/../admin" rel="nofollow ugc noopener">x</a></p>` + "\n"},
		{"![x](https://forum.example/mediaevil/a.jpg)",
			`<p><a href="https://forum.example/mediaevil/a.jpg" rel="nofollow ugc noopener">x</a></p>` + "\n"},
		{`<img src="https://forum.example/media/ab.jpg">`, "\n"}, // raw HTML is omitted
	} {
		got := RenderPost(tc.src, media)
		if got != tc.want {
			t.Errorf("RenderPost(%q)\n got %q\nwant %q", tc.src, got, tc.want)
		}
		if why := markuptest.UnsafeBesideImages(got, media); why != "" {
			t.Errorf("RenderPost(%q) = %q: %s", tc.src, got, why)
		}
	}
	// Without a prefix no image shows at all.
	if got := RenderMarkdown("![The crumb](https://forum.example/media/ab2cd.jpg)"); strings.Contains(got, "<img") {
		t.Errorf("RenderMarkdown kept an image: %q", got)
	}
}

// What federates is what Mastodon keeps: no headings, rules, tables or
// images, their text still there.
func TestFederated(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"plain *text*", "<p>plain <em>text</em></p>\n"}, // untouched, not even parsed
		{"## Method\n\nMix.", "<p><strong>Method</strong></p>\n<p>Mix.</p>\n"},
		{"a\n\n***\n\nb", "<p>a</p>\n<p>———</p>\n<p>b</p>\n"},
		{"| Flour | Grams |\n|---|--:|\n| Rye | 500 |\n| Wheat, white | 75 |",
			"<pre>Flour        | Grams\n-------------+------\nRye          | 500\nWheat, white | 75</pre>\n"},
		{"![The crumb](https://forum.example/media/ab2cd.jpg)",
			`<p><a href="https://forum.example/media/ab2cd.jpg" rel="nofollow ugc noopener">The crumb</a></p>` + "\n"},
		{"| <b>x</b> & y |\n|---|\n| 1 < 2 |", "<pre>x &amp; y\n-----\n1 &lt; 2</pre>\n"},
	} {
		got := Federated(RenderPost(tc.src, media))
		if got != tc.want {
			t.Errorf("Federated(%q)\n got %q\nwant %q", tc.src, got, tc.want)
		}
		if why := markuptest.Unsafe(got); why != "" {
			t.Errorf("Federated(%q) = %q: %s", tc.src, got, why)
		}
	}
}

// FuzzRenderPost: no input gets anything a browser runs, or an image from
// anywhere but the media prefix, into a post; and its federated form is
// as safe, without images.
func FuzzRenderPost(f *testing.F) {
	for _, seed := range []string{
		"![x](https://forum.example/media/a.jpg)",
		"![x](https://forum.example/media/a.jpg\" onerror=\"alert(1))",
		"![x](javascript:alert(1))",
		"![<img src=x onerror=alert(1)>](https://forum.example/media/a.jpg)",
		"# h\n|a|b|\n|-|-|\n|<script>|![i](https://forum.example/media/b.png)|",
		"[![x](https://forum.example/media/a.jpg)](javascript:alert(1))",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		out := RenderPost(src, media)
		if why := markuptest.UnsafeBesideImages(out, media); why != "" {
			t.Fatalf("input %q gave %q: %s", src, out, why)
		}
		fed := Federated(out)
		if why := markuptest.Unsafe(fed); why != "" {
			t.Fatalf("input %q federates as %q: %s", src, fed, why)
		}
		if !utf8.ValidString(out) || !utf8.ValidString(fed) {
			t.Fatalf("input %q gave invalid UTF-8", src)
		}
	})
}
