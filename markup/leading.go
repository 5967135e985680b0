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
	return t.dropThrough(t.hideRun(0, hide))
}

// hideRun reads mentions from t's position for as long as hide says to
// drop them, and returns the end of the last one it does (last when
// none).
func (t *tokens) hideRun(last int, hide func(Mention) bool) int {
	for {
		t.skipSpace()
		end, m, ok := t.mention()
		if !ok || !hide(m) {
			return last
		}
		last = end
	}
}

// dropThrough is the range LeadingMentions drops when the last mention
// it hides ends at document offset last (0: none).
func (t *tokens) dropThrough(last int) (from, to int) {
	if last == 0 {
		return 0, 0
	}
	h := t.doc
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

// Leading is the run of mentions a post's HTML opens with, read once by
// [ReadLeading] so that which of them to hide can be decided later
// without reading the HTML again: a server reads it where it has CPU to
// spare, and decides where it knows the accounts the mentions name.
type Leading struct {
	// Mentions are the mentions the HTML opens with, in order, at most
	// maxLeading of them.
	Mentions []Mention
	doc      string
	ends     []int    // ends[k-1]: the end of the kth mention
	drops    [][2]int // drops[k-1]: what to drop when the first k are hidden
	more     bool     // more mentions follow Mentions, from the end of the last
}

// maxLeading bounds the mentions [ReadLeading] reads ahead: replies open
// with one to three, and a post that opens with more than this many,
// all hidden, is read again by LeadingMentions.
const maxLeading = 16

// ReadLeading reads the mentions h opens with, and what LeadingMentions
// would drop for each count of them hidden.
func ReadLeading(h string) Leading {
	l := Leading{doc: h}
	if !strings.HasPrefix(h, "<p>") {
		return l
	}
	t := newTokens(h, 3)
	for {
		t.skipSpace()
		end, m, ok := t.mention()
		if !ok {
			break
		}
		if len(l.Mentions) == maxLeading {
			l.more = true
			break
		}
		l.Mentions = append(l.Mentions, m)
		l.ends = append(l.ends, end)
	}
	if len(l.ends) > 0 {
		l.drops = make([][2]int, len(l.ends))
		for k, end := range l.ends {
			l.drops[k][0], l.drops[k][1] = t.dropThrough(end)
		}
	}
	return l
}

// Drop is LeadingMentions(h, hide) for the h that l was read from: hide
// is asked about the leading mentions in order until it says no.
func (l *Leading) Drop(hide func(Mention) bool) (from, to int) {
	k := 0
	for k < len(l.Mentions) && hide(l.Mentions[k]) {
		k++
	}
	switch {
	case k == 0:
		return 0, 0
	case k == len(l.Mentions) && l.more:
		// Every mention read ahead is hidden: read on from the last.
		last := l.ends[k-1]
		t := newTokens(l.doc, last)
		return t.dropThrough(t.hideRun(last, hide))
	}
	return l.drops[k-1][0], l.drops[k-1][1]
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
