// Package markup turns member-written Markdown and remote HTML into the
// small, safe subset of HTML that Skein stores and serves, and derives plain
// text from it. The same subset is what Mastodon keeps from remote posts, so
// what we send survives there unchanged and what we receive is held to the
// same rules.
package markup

import (
	"bytes"
	"html"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// linkRel is set on every link: nofollow and ugc because members and remote
// servers wrote them, noopener in case a browser or client opens them in a
// new window.
const linkRel = "nofollow ugc noopener"

// Both values are built once and only read afterwards; goldmark and
// bluemonday document them as safe for concurrent use after construction.
var (
	markdown = newMarkdown()
	policy   = newPolicy()
)

// newMarkdown is CommonMark with linkify and ~~strikethrough~~. Raw HTML is
// left at goldmark's default, which omits it; it is never enabled because
// the sanitizer should be a second line of defence, not the only one.
func newMarkdown() goldmark.Markdown {
	return goldmark.New(goldmark.WithExtensions(extension.Linkify, extension.Strikethrough))
}

// allowedClasses are the microformat and Mastodon display classes remote
// HTML carries on mentions, hashtags and shortened links. "invisible" and
// "ellipsis" are how Mastodon shortens long URLs.
var allowedClasses = regexp.MustCompile(`^(?:(?:mention|hashtag|u-url|h-card|invisible|ellipsis)(?:[ \t]+|$))+$`)

func newPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "span", "del", "pre", "code", "em", "strong", "b", "i", "u", "ul", "ol", "li", "blockquote")
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("class").Matching(allowedClasses).OnElements("a", "span")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	// bluemonday can only add "nofollow" itself; see withLinkRel.
	p.RequireNoFollowOnLinks(true)
	return p
}

// RenderMarkdown renders a member's Markdown to sanitized HTML.
func RenderMarkdown(src string) string {
	src = strings.ToValidUTF8(src, "\uFFFD")
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf); err != nil {
		// Convert fails only when writing fails, which a bytes.Buffer does
		// not; still, never lose the text.
		return "<p>" + html.EscapeString(src) + "</p>"
	}
	return sanitize(buf.String())
}

// SanitizeRemote reduces HTML from another server to the allowed subset.
func SanitizeRemote(s string) string {
	return sanitize(strings.ToValidUTF8(s, "\uFFFD"))
}

func sanitize(s string) string {
	return withLinkRel(policy.Sanitize(s))
}

// withLinkRel turns the rel="nofollow" bluemonday adds into linkRel. This is
// a plain replacement on purpose: the policy does not allow rel from the
// input, and bluemonday escapes every quote in text and attribute values, so
// the literal ` rel="nofollow"` can only be the attribute bluemonday wrote.
func withLinkRel(s string) string {
	return strings.ReplaceAll(s, ` rel="nofollow"`, ` rel="`+linkRel+`"`)
}
