// Package markuptest holds the check that tests and fuzz targets apply to
// sanitized HTML: whether a browser could run anything in it.
package markuptest

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Unsafe parses h as HTML and names the first thing a browser could run:
// a script or other disallowed element, an event handler, a style
// attribute, or a URL that is not http(s) or mailto. Text that merely
// mentions "javascript:" is harmless and passes. It returns "" when h is
// safe.
func Unsafe(h string) string { return unsafe(h, "") }

// UnsafeBesideImages is Unsafe for HTML that may show images from under
// mediaPrefix (a member's post with their uploads): such an <img> with
// just alt, title and loading="lazy" passes; any other image does not.
func UnsafeBesideImages(h, mediaPrefix string) string { return unsafe(h, mediaPrefix) }

func unsafe(h, mediaPrefix string) string {
	if strings.Contains(strings.ToLower(h), "<script") {
		return "raw <script"
	}
	z := html.NewTokenizer(strings.NewReader(h))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return ""
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		if tok.Data == "img" && mediaPrefix != "" {
			if why := image(tok, mediaPrefix); why != "" {
				return why
			}
			continue
		}
		switch tok.Data {
		case "script", "style", "iframe", "img", "object", "embed", "svg", "math", "form", "input", "link", "meta", "base":
			return "element " + tok.Data
		}
		for _, a := range tok.Attr {
			key := strings.ToLower(a.Key)
			val := strings.ToLower(strings.TrimSpace(a.Val))
			switch {
			case strings.HasPrefix(key, "on"):
				return "event handler " + a.Key
			case key == "style", key == "src", key == "srcdoc", key == "formaction":
				return "attribute " + a.Key
			case key == "href":
				// A link runs nothing when its scheme is http(s) or
				// mailto, whatever text follows ("http:javascript:").
				if !safeScheme(a.Val) {
					return "href " + a.Val
				}
			case strings.Contains(val, "javascript:"):
				return "javascript: in " + a.Key
			}
		}
	}
}

// safeScheme reports whether a link's scheme is one a browser only
// navigates with (http, https, mailto); what follows the scheme may be
// odd ("https:<p") but cannot run.
func safeScheme(href string) bool {
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "mailto":
		return true
	}
	return false
}

// image names what is wrong with an <img> that may only show a file
// under mediaPrefix, or "".
func image(tok html.Token, mediaPrefix string) string {
	src := false
	for _, a := range tok.Attr {
		switch a.Key {
		case "src":
			key, ok := strings.CutPrefix(a.Val, mediaPrefix)
			if !ok || key == "" || strings.ContainsAny(key, "/?#:\\") {
				return "image from " + a.Val
			}
			src = true
		case "alt", "title":
		case "loading":
			if a.Val != "lazy" {
				return "loading " + a.Val
			}
		default:
			return "image attribute " + a.Key
		}
	}
	if !src {
		return "image without src"
	}
	return ""
}
