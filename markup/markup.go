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
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/util"
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

// newMarkdown is CommonMark (headings, rules, images) with linkify,
// ~~strikethrough~~ and GitHub's tables. Raw HTML is left at goldmark's
// default, which omits it; it is never enabled because the sanitizer
// should be a second line of defence, not the only one. [postShape]
// demotes headings and keeps images to this node's uploads.
func newMarkdown() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(extension.Linkify, extension.Strikethrough,
			extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute))),
		goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(postShape{}, 100))),
	)
}

// allowedClasses are the microformat and Mastodon display classes remote
// HTML carries on mentions, hashtags and shortened links. "invisible" and
// "ellipsis" are how Mastodon shortens long URLs.
var allowedClasses = regexp.MustCompile(`^(?:(?:mention|hashtag|u-url|h-card|invisible|ellipsis)(?:[ \t]+|$))+$`)

func newPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "span", "del", "pre", "code", "em", "strong", "b", "i", "u", "ul", "ol", "li", "blockquote",
		"h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td")
	p.AllowAttrs("align").Matching(regexp.MustCompile(`^(?:left|center|right)$`)).OnElements("th", "td")
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("class").Matching(allowedClasses).OnElements("a", "span")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	// bluemonday can only add "nofollow" itself; see withLinkRel.
	p.RequireNoFollowOnLinks(true)
	return p
}

// RenderMarkdown renders a member's Markdown to sanitized HTML. Images
// become links to them; see RenderPost for a node's own uploads.
func RenderMarkdown(src string) string { return RenderPost(src, "") }

// RenderPost renders a member's Markdown to sanitized HTML, as it is
// stored and shown. Images whose address starts with mediaPrefix (the
// absolute URL of this node's uploaded files, ending in "/") are shown;
// any other image becomes a link to it, so no page makes its readers'
// browsers ask another server for anything. Headings start at <h2>: the
// page's title is the only <h1>.
func RenderPost(src, mediaPrefix string) string {
	src = strings.ToValidUTF8(src, "\uFFFD")
	var buf bytes.Buffer
	pc := parser.NewContext()
	pc.Set(mediaPrefixKey, mediaPrefix)
	if err := markdown.Convert([]byte(src), &buf, parser.WithContext(pc)); err != nil {
		// Convert fails only when writing fails, which a bytes.Buffer does
		// not; still, never lose the text.
		return "<p>" + html.EscapeString(src) + "</p>"
	}
	if mediaPrefix == "" {
		return sanitize(buf.String())
	}
	return withLinkRel(dropEmptyImages(postPolicy(mediaPrefix).Sanitize(buf.String())))
}

// emptyImage is an <img> the policy took the src from (an address not
// under the media prefix): bluemonday keeps the element for its alt.
// Its attributes are as bluemonday writes them, quoted and escaped, so
// the tag has no ">" inside.
var emptyImage = regexp.MustCompile(`<img(?: (?:alt|title|loading)="[^"]*")*/?>`)

func dropEmptyImages(s string) string {
	if !strings.Contains(s, "<img") {
		return s
	}
	return emptyImage.ReplaceAllString(s, "")
}

// postPolicies are the policies of member posts by media prefix: the
// remote policy plus <img> from that prefix. A node has one prefix; tests
// make a few.
var postPolicies sync.Map // string -> *bluemonday.Policy

func postPolicy(mediaPrefix string) *bluemonday.Policy {
	if p, ok := postPolicies.Load(mediaPrefix); ok {
		return p.(*bluemonday.Policy)
	}
	p := newPolicy()
	p.AllowAttrs("src").Matching(regexp.MustCompile(`^` + regexp.QuoteMeta(mediaPrefix) + `[a-z0-9][a-z0-9._-]*$`)).OnElements("img")
	p.AllowAttrs("alt", "title").OnElements("img")
	p.AllowAttrs("loading").Matching(regexp.MustCompile(`^lazy$`)).OnElements("img")
	got, _ := postPolicies.LoadOrStore(mediaPrefix, p)
	return got.(*bluemonday.Policy)
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
