package markup

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/skein-forum/skein/markup/markuptest"
)

// testLink links members bob and carol_b here and every remote mention
// to its usual profile page.
func testLink(m Mention) (string, bool) {
	if m.Host != "" {
		return ProfileURL(m), true
	}
	switch h := strings.ToLower(m.Name); h {
	case "bob", "carol_b":
		return "https://forum.example/u/" + h, true
	}
	return "", false
}

func TestLinkMentions(t *testing.T) {
	const rel = ` rel="nofollow ugc noopener"`
	for _, tc := range []struct{ in, want string }{
		{"<p>Thanks @bob!</p>", `<p>Thanks <a href="https://forum.example/u/bob" class="mention">@bob</a>!</p>`},
		{"<p>@Carol_B, see</p>", `<p><a href="https://forum.example/u/carol_b" class="mention">@Carol_B</a>, see</p>`},
		{"<p>@nobody here</p>", "<p>@nobody here</p>"},
		{"<p>ask @ann@social.example.</p>",
			`<p>ask <a href="https://social.example/@ann" class="mention"` + rel + `>@ann@social.example</a>.</p>`},
		{"<p>mail me@bob.example or bob@example.com</p>", "<p>mail me@bob.example or bob@example.com</p>"},
		{`<p><a href="https://x.example/@bob">@bob</a> <code>@bob</code></p><pre>@bob</pre>`,
			`<p><a href="https://x.example/@bob">@bob</a> <code>@bob</code></p><pre>@bob</pre>`},
		{"<p>https://x.example/@bob and (@bob)</p>",
			`<p>https://x.example/@bob and (<a href="https://forum.example/u/bob" class="mention">@bob</a>)</p>`},
		{"<p>no mentions</p>", "<p>no mentions</p>"},
		// Ports and dotless hosts, as on a test network or a LAN.
		{"<p>hi @ann@localhost:8081, and @Cy@LOCALHOST</p>",
			`<p>hi <a href="https://localhost:8081/@ann" class="mention"` + rel + `>@ann@localhost:8081</a>, and ` +
				`<a href="https://localhost/@Cy" class="mention"` + rel + `>@Cy@localhost</a></p>`},
		{"<p>@ann@127.0.0.1:3000 @ann@social.example:443.</p>",
			`<p><a href="https://127.0.0.1:3000/@ann" class="mention"` + rel + `>@ann@127.0.0.1:3000</a> ` +
				`<a href="https://social.example:443/@ann" class="mention"` + rel + `>@ann@social.example:443</a>.</p>`},
		// Names elsewhere may hold dots and dashes; a handle here cannot.
		{"<p>@first.last@social.example and @first.last</p>",
			`<p><a href="https://social.example/@first.last" class="mention"` + rel + `>@first.last@social.example</a> and @first.last</p>`},
		// Not a port, not a host: nothing links.
		{"<p>@ann@host:0 @ann@host:99999 @ann@host:80x @ann@ hi @ann@-x</p>",
			"<p>@ann@host:0 @ann@host:99999 @ann@host:80x @ann@ hi @ann@-x</p>"},
		// A colon that ends a phrase is not a port.
		{"<p>@ann@localhost: hello</p>",
			`<p><a href="https://localhost/@ann" class="mention"` + rel + `>@ann@localhost</a>: hello</p>`},
		// An entity before @ counts as part of a word, as it always did.
		{"<p>&lt;@bob&gt; x&amp;@bob</p>", "<p>&lt;@bob&gt; x&amp;@bob</p>"},
	} {
		if got := LinkMentions(tc.in, testLink); got != tc.want {
			t.Errorf("LinkMentions(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// The link function sees each mention once, name as typed and host
// lower-cased.
func TestLinkMentionsSeesEachMention(t *testing.T) {
	var seen []Mention
	LinkMentions("<p>@Bob and @Ann@Social.Example:8443 and <code>@x</code></p>", func(m Mention) (string, bool) {
		seen = append(seen, m)
		return "", false
	})
	want := []Mention{{Name: "Bob"}, {Name: "Ann", Host: "social.example:8443"}}
	if len(seen) != len(want) || seen[0] != want[0] || seen[1] != want[1] {
		t.Fatalf("seen %+v, want %+v", seen, want)
	}
}

// FuzzLinkMentions checks that linking mentions in rendered Markdown
// keeps it safe and keeps its text: only links are added.
func FuzzLinkMentions(f *testing.F) {
	for _, seed := range []string{
		"hi @bob", "@ann@localhost:8080", "@a@b.c:65535.", "x@bob @carol_b@", "@bob@\"onmouseover=alert(1)",
		"@ann@exa\u00e9mple.com", "<@bob>", "@ann@host:0x", "`@bob` [@bob](https://x)", "@a.b-c@d-e.f:1/",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		in := RenderMarkdown(src)
		out := LinkMentions(in, testLink)
		if why := markuptest.Unsafe(out); why != "" {
			t.Fatalf("input %q gave %q: %s", src, out, why)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("input %q gave invalid UTF-8 %q", src, out)
		}
		if a, b := plainText(in), plainText(out); !strings.EqualFold(a, b) {
			t.Fatalf("input %q: text changed from %q to %q", src, a, b)
		}
	})
}
