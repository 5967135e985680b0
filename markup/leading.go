package markup

import (
	"slices"
	"strings"

	"golang.org/x/net/html"
)

// LeadingMentions finds the mentions a post's sanitized HTML opens with
// that hide says to leave out of view: replies from Mastodon-family
// servers start with "@alice @t.123", the author replied to and the
// thread, which a forum shows anyway. It returns the byte range
// [from, to) of h to drop, whitespace after the mentions included, or
// 0, 0 when there is nothing to drop. Dropping the range leaves
// well-formed HTML: either whole mention elements inside the first
// paragraph, or the whole first paragraph when it held nothing else. A
// post that is only mentions keeps them all.
//
// A mention is a link with the class "mention" (often inside a span of
// class "h-card"), its text "@name" or "@name@host".
func LeadingMentions(h string, hide func(Mention) bool) (from, to int) {
	if !strings.HasPrefix(h, "<p>") {
		return 0, 0
	}
	t := newTokens(h, 3)
	last := 0 // end of the last mention to drop
	for {
		mark := t.pos
		t.skipSpace()
		end, m, ok := t.mention()
		if !ok || !hide(m) {
			t.reset(mark)
			break
		}
		last = end
	}
	if last == 0 {
		return 0, 0
	}
	t.reset(last)
	t.skipSpace()
	if t.skipBreak() {
		t.skipSpace()
	}
	rest := t.pos
	tt, _ := t.next()
	if tt == html.EndTagToken && t.name == "p" {
		// The paragraph held only mentions: drop it whole, if more follows.
		t.skipSpace()
		if strings.TrimSpace(h[t.pos:]) == "" {
			return 0, 0
		}
		return 0, t.pos
	}
	if tt == html.ErrorToken {
		return 0, 0
	}
	return 3, rest
}

// tokens walks HTML tokens keeping the byte offset of each in the whole
// document.
type tokens struct {
	doc  string
	z    *html.Tokenizer
	pos  int    // document offset after the last token read
	name string // tag name of the last tag token
	text string // text of the last text token, unescaped
	raw  string // raw bytes of the last token
}

func newTokens(doc string, pos int) *tokens {
	t := &tokens{doc: doc}
	t.reset(pos)
	return t
}

// reset starts reading again at document offset pos. The tokenizer is
// made when the next token is read: a tokenizer costs a 4 KB buffer, and
// the walk often moves on again before it reads anything.
func (t *tokens) reset(pos int) {
	t.z = nil
	t.pos = pos
}

func (t *tokens) next() (html.TokenType, []html.Attribute) {
	if t.z == nil {
		t.z = html.NewTokenizer(strings.NewReader(t.doc[t.pos:]))
	}
	tt := t.z.Next()
	t.raw = string(t.z.Raw())
	t.pos += len(t.raw)
	t.name, t.text = "", ""
	var attrs []html.Attribute
	switch tt {
	case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
		tok := t.z.Token()
		t.name, attrs = tok.Data, tok.Attr
	case html.TextToken:
		t.text = html.UnescapeString(t.raw)
	}
	return tt, attrs
}

// skipSpace moves past ASCII white space, which may be the start of a
// text token that goes on with words.
func (t *tokens) skipSpace() {
	rest := t.doc[t.pos:]
	n := len(rest) - len(strings.TrimLeft(rest, " \t\n\r"))
	if n > 0 {
		t.reset(t.pos + n)
	}
}

// skipBreak moves past one <br>, if that is what comes next.
func (t *tokens) skipBreak() bool {
	mark := t.pos
	tt, _ := t.next()
	if (tt == html.StartTagToken || tt == html.SelfClosingTagToken) && t.name == "br" {
		return true
	}
	t.reset(mark)
	return false
}

// mention reads one mention element: an optional <span class="h-card">
// around <a class="mention">, whose text may hold spans.
func (t *tokens) mention() (end int, m Mention, ok bool) {
	tt, attrs := t.next()
	wrapped := false
	if tt == html.StartTagToken && t.name == "span" && hasClass(attrs, "h-card") {
		wrapped = true
		tt, attrs = t.next()
	}
	if tt != html.StartTagToken || t.name != "a" || !hasClass(attrs, "mention") {
		return 0, Mention{}, false
	}
	var text strings.Builder
	for done := false; !done; {
		switch tt, _ := t.next(); {
		case tt == html.TextToken:
			text.WriteString(t.text)
		case tt == html.StartTagToken && t.name == "span", tt == html.EndTagToken && t.name == "span":
		case tt == html.EndTagToken && t.name == "a":
			done = true
		default:
			return 0, Mention{}, false
		}
	}
	if wrapped {
		if tt, _ := t.next(); tt != html.EndTagToken || t.name != "span" {
			return 0, Mention{}, false
		}
	}
	name, ok := strings.CutPrefix(strings.TrimSpace(text.String()), "@")
	if !ok || name == "" {
		return 0, Mention{}, false
	}
	name, host, _ := strings.Cut(name, "@")
	return t.pos, Mention{Name: name, Host: strings.ToLower(host)}, true
}

func hasClass(attrs []html.Attribute, class string) bool {
	for _, a := range attrs {
		if a.Key == "class" && slices.Contains(strings.Fields(a.Val), class) {
			return true
		}
	}
	return false
}
