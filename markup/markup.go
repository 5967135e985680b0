// Package markup is a TEMPORARY stand-in with the API of the markup
// package being written on branch sec, so web compiles until it lands.
// Delete this file before merging sec.
package markup

import (
	"html"
	"regexp"
	"strings"
)

// RenderMarkdown turns Markdown into sanitized HTML (stand-in: paragraphs
// and block quotes of escaped text).
func RenderMarkdown(src string) string {
	src = strings.TrimSpace(strings.ReplaceAll(src, "\r\n", "\n"))
	if src == "" {
		return ""
	}
	var b strings.Builder
	for para := range strings.SplitSeq(src, "\n\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		if strings.HasPrefix(para, ">") {
			var lines []string
			for l := range strings.SplitSeq(para, "\n") {
				lines = append(lines, strings.TrimSpace(strings.TrimPrefix(l, ">")))
			}
			b.WriteString("<blockquote><p>" + html.EscapeString(strings.Join(lines, "\n")) + "</p></blockquote>")
			continue
		}
		b.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(para), "\n", "<br>") + "</p>")
	}
	return b.String()
}

// SanitizeRemote cleans remote HTML (stand-in: escapes everything).
func SanitizeRemote(h string) string { return html.EscapeString(h) }

var tags = regexp.MustCompile(`<[^>]*>`)

// Excerpt returns up to n characters of the text of h.
func Excerpt(h string, n int) string {
	t := strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(h, " "))), " ")
	if r := []rune(t); len(r) > n {
		return string(r[:n]) + "…"
	}
	return t
}

// QuoteMarkdown cites a post in Markdown for the reply box.
func QuoteMarkdown(authorName, postURL, src string) string {
	var b strings.Builder
	b.WriteString("> [" + authorName + "](" + postURL + ") wrote:\n>\n")
	for l := range strings.SplitSeq(strings.TrimSpace(src), "\n") {
		b.WriteString("> " + l + "\n")
	}
	b.WriteString("\n")
	return b.String()
}
