package markup

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Excerpt returns the plain text of an HTML fragment cut to at most n runes,
// the ellipsis included, ending on a word boundary where there is one. Tags
// are dropped, entities decoded and whitespace collapsed; block elements and
// <br> separate words. The result is plain text, not HTML: escape it where
// it is written into a page.
func Excerpt(s string, n int) string {
	if n <= 0 {
		return ""
	}
	text := plainText(strings.ToValidUTF8(s, "\uFFFD"))
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	runes := []rune(text)
	limit := n - 1 // room for the ellipsis
	cut := runes[:limit]
	if !unicode.IsSpace(runes[limit]) {
		// Back up to the last space so no word is cut in half, unless the
		// first word alone is longer than the limit.
		for i := len(cut) - 1; i > 0; i-- {
			if unicode.IsSpace(cut[i]) {
				cut = cut[:i]
				break
			}
		}
	}
	return strings.TrimRightFunc(string(cut), func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;:-", r)
	}) + "…"
}

// plainText extracts the text of an HTML fragment with whitespace collapsed.
func plainText(s string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0 // depth inside script/style, whose text is not content
	for {
		switch z.Next() {
		case html.ErrorToken:
			return strings.Join(strings.Fields(b.String()), " ")
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style":
				if z.Token().Type == html.StartTagToken {
					skip++
				} else if skip > 0 {
					skip--
				}
			case "p", "br", "li", "blockquote", "pre", "div", "ul", "ol",
				"h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th":
				b.WriteByte(' ')
			}
		}
	}
}

// QuoteMarkdown returns src as a Markdown blockquote headed by a line naming
// its author and linking to the post, ready to be put in the reply box when a
// member presses "quote". The name is escaped so it cannot inject Markdown;
// a postURL that is not http(s) is left out.
func QuoteMarkdown(authorName, postURL, src string) string {
	var b strings.Builder
	b.WriteString("> **")
	b.WriteString(escapeMarkdown(strings.Join(strings.Fields(authorName), " ")))
	b.WriteString("** ")
	if u, ok := markdownURL(postURL); ok {
		b.WriteString("[wrote](<" + u + ">):\n")
	} else {
		b.WriteString("wrote:\n")
	}
	// A blank quoted line keeps the heading its own paragraph.
	b.WriteString(">\n")
	src = strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\r", "\n")
	for line := range strings.SplitSeq(strings.TrimRight(src, " \t\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			b.WriteString(">\n")
			continue
		}
		b.WriteString("> ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	// The reply starts after the quote, not inside it.
	b.WriteByte('\n')
	return b.String()
}

// escapeMarkdown backslash-escapes every ASCII punctuation character, which
// CommonMark always allows, so the text renders literally.
func escapeMarkdown(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf && unicode.IsPunct(r) || strings.ContainsRune("`^+<=>|~$", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// markdownURL returns u in a form safe inside <...> link destinations, or
// false if u is not an absolute http(s) URL.
func markdownURL(u string) (string, bool) {
	lower := strings.ToLower(u)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
		return "", false
	}
	// Inside <...> only <, > and line breaks end the destination; a space
	// is fine but encoded anyway so the link survives copying.
	return strings.NewReplacer("<", "%3C", ">", "%3E", "\n", "", "\r", "", " ", "%20").Replace(u), true
}
