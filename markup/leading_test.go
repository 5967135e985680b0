package markup

import (
	"strings"
	"testing"

	"github.com/skein-forum/skein/markup/markuptest"
)

// hideAliceAndThread hides mentions of alice (any server) and of the
// thread t.abc.
func hideAliceAndThread(m Mention) bool {
	n := strings.ToLower(m.Name)
	return n == "alice" || n == "t.abc"
}

func TestLeadingMentions(t *testing.T) {
	const (
		mastoAlice  = `<span class="h-card"><a href="https://forum.example/u/alice" class="u-url mention" rel="nofollow ugc noopener">@<span>alice</span></a></span>`
		mastoThread = `<span class="h-card"><a href="https://forum.example/t/abc" class="u-url mention" rel="nofollow ugc noopener">@<span>t.abc</span></a></span>`
		misskeyBob  = `<a href="https://social.example/@bob" class="u-url mention">@bob@social.example</a>`
	)
	for _, tc := range []struct{ name, in, want string }{
		{"mastodon reply", `<p>` + mastoAlice + ` ` + mastoThread + ` Rye works, thanks!</p>`, `<p>Rye works, thanks!</p>`},
		{"later paragraphs stay", `<p>` + mastoAlice + ` Yes.</p><p>` + mastoThread + ` too</p>`, `<p>Yes.</p><p>` + mastoThread + ` too</p>`},
		{"a mention of someone else stops it", `<p>` + mastoAlice + ` ` + misskeyBob + ` ` + mastoThread + ` hi</p>`,
			`<p>` + misskeyBob + ` ` + mastoThread + ` hi</p>`},
		{"someone else first: nothing hidden", `<p>` + misskeyBob + ` ` + mastoAlice + ` hi</p>`, `<p>` + misskeyBob + ` ` + mastoAlice + ` hi</p>`},
		{"a paragraph of mentions goes whole", `<p>` + mastoAlice + ` ` + mastoThread + `</p><p>Second thoughts.</p>`, `<p>Second thoughts.</p>`},
		{"mentions then a line break", `<p>` + mastoAlice + `<br>Hello</p>`, `<p>Hello</p>`},
		{"only mentions: all kept", `<p>` + mastoAlice + ` ` + mastoThread + `</p>`, `<p>` + mastoAlice + ` ` + mastoThread + `</p>`},
		{"with a host", `<p><a href="https://forum.example/u/alice" class="mention">@alice@forum.example</a> ok</p>`, `<p>ok</p>`},
		{"a link that is not a mention", `<p><a href="https://forum.example/u/alice">@alice</a> ok</p>`, `<p><a href="https://forum.example/u/alice">@alice</a> ok</p>`},
		{"text first", `<p>Hi ` + mastoAlice + `</p>`, `<p>Hi ` + mastoAlice + `</p>`},
		{"not a paragraph", `<blockquote><p>` + mastoAlice + ` x</p></blockquote>`, `<blockquote><p>` + mastoAlice + ` x</p></blockquote>`},
		{"nothing", ``, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, to := LeadingMentions(tc.in, hideAliceAndThread)
			got := tc.in[:from] + tc.in[to:]
			if got != tc.want {
				t.Errorf("cut [%d,%d)\n got %s\nwant %s", from, to, got, tc.want)
			}
		})
	}
}

// FuzzLeadingMentions checks that the range to leave out is within the
// HTML and that cutting it out of sanitized HTML leaves it safe, with no
// tag cut in half.
func FuzzLeadingMentions(f *testing.F) {
	for _, seed := range []string{
		`<p><span class="h-card"><a href="https://x.example/u/alice" class="u-url mention">@<span>alice</span></a></span> hi</p>`,
		`<p><a href="https://x.example/t/abc" class="mention">@t.abc</a></p><p>x</p>`,
		`<p><a class="mention" href="https://x">@alice</a><br/>y</p>`,
		`<p><span class="h-card"><a href="https://x" class="mention">@alice</p>`,
		`<p>`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		in := SanitizeRemote(src)
		from, to := LeadingMentions(in, hideAliceAndThread)
		if from < 0 || to < from || to > len(in) || (from == to && from != 0) {
			t.Fatalf("input %q: range [%d,%d) of %d bytes", in, from, to, len(in))
		}
		out := in[:from] + in[to:]
		if why := markuptest.Unsafe(out); why != "" {
			t.Fatalf("input %q gave %q: %s", in, out, why)
		}
		if SanitizeRemote(out) != out && from != to {
			t.Fatalf("input %q: cutting [%d,%d) gave %q, which is not sanitized HTML", in, from, to, out)
		}
	})
}

// BenchmarkLeadingMentions reads the leading mentions of a reply as
// Mastodon sends it to a thread: every remote post in a thread pays it.
func BenchmarkLeadingMentions(b *testing.B) {
	h := `<p><span class="h-card" translate="no"><a href="https://forum.example/t/abc" class="u-url mention">@<span>t.abc</span></a></span> ` +
		`<span class="h-card" translate="no"><a href="https://forum.example/u/alice" class="u-url mention">@<span>alice</span></a></span> ` +
		`I had exactly the same trouble last winter: the starter went flat after three days.</p><p>Feed it at a fixed time.</p>`
	b.ReportAllocs()
	for b.Loop() {
		if from, to := LeadingMentions(h, hideAliceAndThread); to == 0 {
			b.Fatal(from, to)
		}
	}
}

// TestReadLeading checks that reading the mentions first and deciding
// later drops what LeadingMentions drops, whichever mentions are hidden:
// the first k of them for every k, or those hideAliceAndThread names.
func TestReadLeading(t *testing.T) {
	alice := `<span class="h-card"><a href="https://forum.example/u/alice" class="u-url mention">@<span>alice</span></a></span>`
	thread := `<a href="https://forum.example/t/abc" class="mention">@t.abc@forum.example</a>`
	many := strings.Repeat(thread+" ", maxLeading+3)
	for _, in := range []string{
		`<p>` + alice + ` ` + thread + ` Rye works, thanks!</p>`,
		`<p>` + alice + ` Yes.</p><p>` + thread + ` too</p>`,
		`<p>` + alice + ` ` + thread + `</p><p>Second thoughts.</p>`,
		`<p>` + alice + ` ` + thread + `</p>`,
		`<p>` + alice + `<br>Hello</p>`,
		`<p>` + alice + thread + `<br/> <b>x</b></p>`,
		`<p>` + many + `the end</p>`,
		`<p>` + many + `</p><p>after</p>`,
		`<p>` + strings.Repeat(thread+" ", maxLeading) + `exactly the bound</p>`,
		`<p>Hi ` + alice + `</p>`,
		`<blockquote><p>` + alice + ` x</p></blockquote>`,
		`<p><span class="h-card"><a href="https://x" class="mention">@alice</p>`,
		`<p>`,
		``,
	} {
		l := ReadLeading(in)
		for k := 0; k <= maxLeading+4; k++ {
			first := func() func(Mention) bool {
				n := 0
				return func(Mention) bool { n++; return n <= k }
			}
			wantFrom, wantTo := LeadingMentions(in, first())
			if from, to := l.Drop(first()); from != wantFrom || to != wantTo {
				t.Errorf("%q, first %d hidden: read ahead [%d,%d), LeadingMentions [%d,%d)", in, k, from, to, wantFrom, wantTo)
			}
		}
		wantFrom, wantTo := LeadingMentions(in, hideAliceAndThread)
		if from, to := l.Drop(hideAliceAndThread); from != wantFrom || to != wantTo {
			t.Errorf("%q: read ahead [%d,%d), LeadingMentions [%d,%d)", in, from, to, wantFrom, wantTo)
		}
	}
}

// FuzzReadLeading checks ReadLeading and Drop against LeadingMentions on
// any sanitized HTML.
func FuzzReadLeading(f *testing.F) {
	for _, seed := range []string{
		`<p><span class="h-card"><a href="https://x.example/u/alice" class="u-url mention">@<span>alice</span></a></span> hi</p>`,
		`<p><a href="https://x.example/t/abc" class="mention">@t.abc</a></p><p>x</p>`,
		`<p><a class="mention" href="https://x">@alice</a><br/>y</p>`,
		`<p>`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		in := SanitizeRemote(src)
		l := ReadLeading(in)
		wantFrom, wantTo := LeadingMentions(in, hideAliceAndThread)
		if from, to := l.Drop(hideAliceAndThread); from != wantFrom || to != wantTo {
			t.Fatalf("%q: read ahead [%d,%d), LeadingMentions [%d,%d)", in, from, to, wantFrom, wantTo)
		}
	})
}

// BenchmarkReadLeading is what the decision costs once the mentions are
// read ahead (ReadLeading, outside the timer), beside
// BenchmarkLeadingMentions, which reads them too.
func BenchmarkReadLeading(b *testing.B) {
	h := `<p><span class="h-card" translate="no"><a href="https://forum.example/t/abc" class="u-url mention">@<span>t.abc</span></a></span> ` +
		`<span class="h-card" translate="no"><a href="https://forum.example/u/alice" class="u-url mention">@<span>alice</span></a></span> ` +
		`I had exactly the same trouble last winter: the starter went flat after three days.</p><p>Feed it at a fixed time.</p>`
	l := ReadLeading(h)
	b.ReportAllocs()
	for b.Loop() {
		if from, to := l.Drop(hideAliceAndThread); to == 0 {
			b.Fatal(from, to)
		}
	}
}
