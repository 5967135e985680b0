package activitystreams

import (
	"net/url"
	"strings"
)

// Document is an attached file as Mastodon writes and reads one: type
// Document (Image from some servers), the file's mediaType and url, its
// alt text as name, and the size and blurhash that let readers lay the
// page out before the image arrives.
type Document struct {
	Type      string `json:"type"`
	MediaType string `json:"mediaType"`
	URL       string `json:"url"`
	Name      string `json:"name,omitempty"`
	Blurhash  string `json:"blurhash,omitempty"`
	Width     int    `json:"width,omitempty"`
	Height    int    `json:"height,omitempty"`
}

// RemoteAttachment is an attachment of a remote Note, its URL checked to
// be http(s).
type RemoteAttachment struct {
	URL       string
	MediaType string // as the sender says; "" when it said nothing
	Name      string // alt text, unsanitized plain text
	Blurhash  string
	Width     int
	Height    int
}

// IsImage reports whether the attachment is a picture a page can show:
// an image/ mediaType, or an Image that named none ("image/*").
func (a *RemoteAttachment) IsImage() bool { return strings.HasPrefix(a.MediaType, "image/") }

// attachmentsOf reads a Note's attachments: each an object with an http(s)
// url (a string or a Link's href); at most MaxAttachments. Images keep
// what describes them; anything else is kept as a link.
func attachmentsOf(v any) []RemoteAttachment {
	list, _ := v.([]any)
	if m, ok := v.(map[string]any); ok {
		list = []any{m}
	}
	var out []RemoteAttachment
	for _, a := range list {
		if len(out) == MaxAttachments {
			break
		}
		m, _ := a.(map[string]any)
		if m == nil {
			continue
		}
		u := linkOf(m["url"])
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			continue
		}
		ra := RemoteAttachment{URL: u, MediaType: String(m, "mediaType"), Name: ClipText(String(m, "name"), MaxAltLen),
			Blurhash: String(m, "blurhash"), Width: dimension(m["width"]), Height: dimension(m["height"])}
		if len(ra.MediaType) > 100 {
			ra.MediaType = ""
		}
		if len(ra.Blurhash) > 100 {
			ra.Blurhash = ""
		}
		if ra.MediaType == "" && TypeOf(m) == "Image" {
			ra.MediaType = "image/*"
		}
		out = append(out, ra)
	}
	return out
}

// MaxAltLen bounds an attachment's alt text, in bytes: Mastodon's 1,500
// characters of up to four bytes.
const MaxAltLen = 6000

// dimension reads a width or height: a positive JSON number within reason.
func dimension(v any) int {
	f, ok := v.(float64)
	if !ok || f < 1 || f > 100_000 {
		return 0
	}
	return int(f)
}
