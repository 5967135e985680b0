package activitystreams

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalid marks a document that cannot be read as what it claims to
// be. Retrying cannot fix it: the inbox marks such an activity done with
// the reason.
var ErrInvalid = errors.New("unreadable document")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Bounds on remote-controlled work and text in one document.
const (
	// MaxDepth bounds the nesting of a document. Real activities nest four
	// or five levels (Announce{Create{Note{tag[{...}]}}}); decoding deeper
	// input into maps would let a sender make the node allocate and
	// recurse at will.
	MaxDepth = 32
	// MaxRecipients is how many to and cc entries an object may address.
	MaxRecipients = 500
	// MaxNameLen is how many bytes of a remote display name, title or
	// content warning are kept.
	MaxNameLen = 200
	// MaxAttachments is how many media links of a Note are kept.
	MaxAttachments = 8
	// MaxSource is the longest Markdown source kept; it equals storage's
	// post limit.
	MaxSource = 64 << 10
	// MaxContent is the longest remote HTML taken before sanitizing, four
	// times MaxSource.
	MaxContent = 4 * MaxSource
	// MaxURLLen bounds a URL stored from a remote document.
	MaxURLLen = 2048
	// MaxTagsInspected bounds how many tags of a Note are looked at.
	MaxTagsInspected = 50
)

// Decode reads a document body into its JSON map, refusing nesting
// deeper than MaxDepth and duplicate keys (see checkShape) before
// anything is allocated for it.
func Decode(body []byte) (map[string]any, error) {
	if err := checkShape(body, MaxDepth); err != nil {
		return nil, invalid("%v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, invalid("not a JSON object: %v", err)
	}
	if m == nil {
		return nil, invalid("not a JSON object")
	}
	return m, nil
}

// ID reads a reference from a decoded JSON value: an IRI, an embedded
// object's id, or the first of an array of either. It is "" for anything
// else.
func ID(v any) string {
	switch x := first(v).(type) {
	case string:
		return x
	case map[string]any:
		id, _ := x["id"].(string)
		return id
	}
	return ""
}

// appendIDs adds every reference of a multi-valued property (to, cc) to
// out; false when out would hold more than max.
func appendIDs(out []string, v any, max int) ([]string, bool) {
	switch x := v.(type) {
	case nil:
		return out, true
	case []any:
		if len(out)+len(x) > max {
			return out, false
		}
		for _, e := range x {
			out = append(out, ID(e))
		}
		return out, true
	}
	if len(out) == max {
		return out, false
	}
	return append(out, ID(v)), true
}

// String is m[key] when it is a plain string, else "".
func String(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// TypeOf is a document's type: its "type" string, or the first string of
// an array of types.
func TypeOf(m map[string]any) string {
	switch t := first(m["type"]).(type) {
	case string:
		return t
	}
	return ""
}

// first is v, or the first element of v when v is a non-empty array.
func first(v any) any {
	if arr, ok := v.([]any); ok {
		if len(arr) == 0 {
			return nil
		}
		return arr[0]
	}
	return v
}

// Items lists a collection page's items, ordered or not.
func Items(page map[string]any) []any {
	if items, ok := page["orderedItems"].([]any); ok {
		return items
	}
	items, _ := page["items"].([]any)
	return items
}

// WithContext gives an object its parent's @context, when it has none of
// its own; a parser of whole documents (go-fed's) refuses one without.
func WithContext(o map[string]any, ctx any) map[string]any {
	if _, ok := o["@context"]; ok || ctx == nil {
		return o
	}
	out := make(map[string]any, len(o)+1)
	for k, v := range o {
		out[k] = v
	}
	out["@context"] = ctx
	return out
}

// langString is any value of a language map such as contentMap.
func langString(v any) string {
	m, _ := v.(map[string]any)
	for _, x := range m {
		if s, ok := x.(string); ok {
			return s
		}
	}
	return ""
}

// parseTime reads an xsd:dateTime as ActivityStreams servers write it;
// the zero time when it is none.
func parseTime(v any) time.Time {
	s, _ := v.(string)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, _ = time.Parse("2006-01-02T15:04Z07:00", s)
	}
	return t
}

// IsHTTPURL reports whether s is a plausible http(s) URL to store.
func IsHTTPURL(s string) bool {
	if len(s) > MaxURLLen {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// ClipText makes remote plain text safe to store: valid UTF-8, no NUL
// (PostgreSQL refuses it), at most max bytes, cut at a rune boundary.
func ClipText(s string, max int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// SameHost reports whether the URL raw is on host (compared without
// regard to case; host may carry a port).
func SameHost(raw, host string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.EqualFold(u.Host, host)
}

// HostOf is the host (with any port) of the URL raw; "" when it is none.
func HostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
