package markup

import "testing"

func TestLinkMentions(t *testing.T) {
	members := map[string]bool{"bob": true, "carol_b": true}
	local := func(h string) (string, bool) { return "https://forum.example/u/" + h, members[h] }
	for _, tc := range []struct{ in, want string }{
		{"<p>Thanks @bob!</p>", `<p>Thanks <a href="https://forum.example/u/bob" class="mention">@bob</a>!</p>`},
		{"<p>@Carol_B, see</p>", `<p><a href="https://forum.example/u/carol_b" class="mention">@Carol_B</a>, see</p>`},
		{"<p>@nobody here</p>", "<p>@nobody here</p>"},
		{"<p>ask @ann@social.example.</p>",
			`<p>ask <a href="https://social.example/@ann" class="mention" rel="nofollow ugc noopener">@ann@social.example</a>.</p>`},
		{"<p>mail me@bob.example or bob@example.com</p>", "<p>mail me@bob.example or bob@example.com</p>"},
		{`<p><a href="https://x.example/@bob">@bob</a> <code>@bob</code></p><pre>@bob</pre>`,
			`<p><a href="https://x.example/@bob">@bob</a> <code>@bob</code></p><pre>@bob</pre>`},
		{"<p>https://x.example/@bob and (@bob)</p>",
			`<p>https://x.example/@bob and (<a href="https://forum.example/u/bob" class="mention">@bob</a>)</p>`},
		{"<p>no mentions</p>", "<p>no mentions</p>"},
	} {
		if got := LinkMentions(tc.in, local); got != tc.want {
			t.Errorf("LinkMentions(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
