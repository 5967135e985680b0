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
func Unsafe(h string) string {
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
			case key == "href" && !safeScheme(a.Val):
				return "href " + a.Val
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
