package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"github.com/skein-forum/skein/storage"
)

// Parsing of what arrives in inboxes (parse.go does actors): go-fed's
// streams gives the typed view (type dispatch, IRIs, dates) and the raw
// map beside it supplies text, which go-fed may misread as an IRI, and
// the extension terms go-fed does not know (quote, source, replies pages).

// Bounds on remote-controlled work in one object.
const (
	maxRecipients    = 500 // to + cc entries an activity may address
	maxNameLen       = 200 // bytes of a remote display name or title kept
	maxAttachments   = 8
	maxRemoteHTML    = 4 * storage.MaxBodyLen // bytes of remote content before sanitizing
	maxTagsInspected = 50
)

// inboxActivity is a parsed activity: its raw JSON, type, id, actor and
// first object.
type inboxActivity struct {
	raw    map[string]any
	typ    string
	id     string
	actor  string
	object objectRef
}

// objectRef is an activity's object: an IRI, or an embedded object whose
// raw map carries the activity's @context so it parses on its own.
type objectRef struct {
	id  string
	typ string         // "" for a bare IRI
	raw map[string]any // nil for a bare IRI
	// typed is go-fed's view of raw when the activity's parse made it,
	// so the object is not parsed a second time; nil otherwise.
	typed vocab.Type
}

// activityLike is what every ActivityStreams activity type has.
type activityLike interface {
	vocab.Type
	GetActivityStreamsActor() vocab.ActivityStreamsActorProperty
	GetActivityStreamsObject() vocab.ActivityStreamsObjectProperty
}

// iriOrObject is an iterator of a property whose values are IRIs or
// embedded objects.
type iriOrObject interface {
	IsIRI() bool
	GetIRI() *url.URL
	GetType() vocab.Type
}

// idOfValue is the id of one property value.
func idOfValue(it iriOrObject) string {
	if it.IsIRI() {
		return iriString(it.GetIRI())
	}
	if t := it.GetType(); t != nil {
		return iriOf(t.GetJSONLDId())
	}
	return ""
}

// parseActivity decodes an inbox item's body.
func parseActivity(ctx context.Context, body []byte) (*inboxActivity, error) {
	if err := checkDepth(body, maxJSONDepth); err != nil {
		return nil, ignore("%v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, ignore("not a JSON object: %v", err)
	}
	return activityFromMap(ctx, m)
}

func activityFromMap(ctx context.Context, m map[string]any) (*inboxActivity, error) {
	t, err := streams.ToType(ctx, m)
	if err != nil {
		return nil, ignore("parse activity: %v", err)
	}
	a, ok := t.(activityLike)
	if !ok {
		return nil, ignore("%s is not an activity", t.GetTypeName())
	}
	act := &inboxActivity{raw: m, typ: t.GetTypeName(), id: iriOf(t.GetJSONLDId())}
	if p := a.GetActivityStreamsActor(); p != nil && p.Begin() != nil {
		act.actor = idOfValue(p.Begin())
	}
	var typed vocab.Type
	if p := a.GetActivityStreamsObject(); p != nil && p.Begin() != nil {
		act.object.id = idOfValue(p.Begin())
		typed = p.Begin().GetType()
	}
	// The embedded object from the raw map: go-fed would drop what it
	// does not know, and may not know the type at all.
	obj := m["object"]
	if arr, ok := obj.([]any); ok && len(arr) > 0 {
		obj = arr[0]
	}
	switch o := obj.(type) {
	case string:
		act.object.id = o
	case map[string]any:
		act.object.raw = withContext(o, m["@context"])
		act.object.typ, _ = o["type"].(string)
		act.object.typed = typed
		if id, ok := o["id"].(string); ok {
			act.object.id = id
		}
	}
	return act, nil
}

// withContext gives an embedded object its parent's @context: go-fed
// refuses a document without one.
func withContext(o map[string]any, ctx any) map[string]any {
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

// remoteNote is a Note (or Article, or Page) from another server, with
// its text not yet sanitized.
type remoteNote struct {
	ID           string
	AttributedTo string
	Content      string // remote HTML, unsanitized
	Summary      string // content warning
	Source       string // Markdown, when the sender gave text/markdown source
	Name         string
	URL          string
	InReplyTo    string
	Context      string
	Audience     string
	Quote        string
	Published    time.Time
	Recipients   []string // to and cc
	Mentions     []string // hrefs of Mention tags
	Attachments  []string // links to media, already checked to be http(s)
	Replies      objectRef
}

// noteLike is what Note, Article and Page share that Skein reads.
type noteLike interface {
	vocab.Type
	GetActivityStreamsAttributedTo() vocab.ActivityStreamsAttributedToProperty
	GetActivityStreamsInReplyTo() vocab.ActivityStreamsInReplyToProperty
	GetActivityStreamsContext() vocab.ActivityStreamsContextProperty
	GetActivityStreamsAudience() vocab.ActivityStreamsAudienceProperty
	GetActivityStreamsPublished() vocab.ActivityStreamsPublishedProperty
	GetActivityStreamsUrl() vocab.ActivityStreamsUrlProperty
	GetActivityStreamsTo() vocab.ActivityStreamsToProperty
	GetActivityStreamsCc() vocab.ActivityStreamsCcProperty
}

// isNoteType reports whether a type is one Skein stores as a post. Lemmy
// sends Page for posts and Note for comments; some blogs send Article.
func isNoteType(typ string) bool {
	return typ == "Note" || typ == "Article" || typ == "Page"
}

// parseNote reads a Note from its raw map.
func parseNote(ctx context.Context, m map[string]any) (*remoteNote, error) {
	t, err := streams.ToType(ctx, m)
	if err != nil {
		return nil, ignore("parse note: %v", err)
	}
	return noteFromType(t, m)
}

// parseNoteRef reads the Note an activity embeds, from the typed view its
// activity's parse made when there is one.
func parseNoteRef(ctx context.Context, ref objectRef) (*remoteNote, error) {
	if ref.typed == nil {
		return parseNote(ctx, ref.raw)
	}
	return noteFromType(ref.typed, ref.raw)
}

// noteFromType reads a Note from go-fed's view t of the raw map m.
func noteFromType(t vocab.Type, m map[string]any) (*remoteNote, error) {
	n, ok := t.(noteLike)
	if !ok || !isNoteType(t.GetTypeName()) {
		return nil, ignore("object is a %s, not a Note", t.GetTypeName())
	}
	note := &remoteNote{ID: iriOf(t.GetJSONLDId())}
	if note.ID == "" {
		return nil, ignore("note has no id")
	}
	if p := n.GetActivityStreamsAttributedTo(); p != nil && p.Begin() != nil {
		note.AttributedTo = idOfValue(p.Begin())
	}
	if p := n.GetActivityStreamsInReplyTo(); p != nil && p.Begin() != nil {
		note.InReplyTo = idOfValue(p.Begin())
	}
	if p := n.GetActivityStreamsContext(); p != nil && p.Begin() != nil {
		note.Context = idOfValue(p.Begin())
	}
	if p := n.GetActivityStreamsAudience(); p != nil && p.Begin() != nil {
		note.Audience = idOfValue(p.Begin())
	}
	if p := n.GetActivityStreamsPublished(); p != nil && p.IsXMLSchemaDateTime() {
		note.Published = p.Get()
	}
	if p := n.GetActivityStreamsUrl(); p != nil {
		for it := p.Begin(); it != p.End(); it = it.Next() {
			if it.IsXMLSchemaAnyURI() {
				note.URL = iriString(it.GetXMLSchemaAnyURI())
				break
			}
			if it.IsActivityStreamsLink() {
				if h := it.GetActivityStreamsLink().GetActivityStreamsHref(); h != nil {
					note.URL = iriString(h.Get())
					break
				}
			}
		}
	}
	if p := n.GetActivityStreamsTo(); p != nil {
		for it := p.Begin(); it != p.End() && len(note.Recipients) <= maxRecipients; it = it.Next() {
			note.Recipients = append(note.Recipients, idOfValue(it))
		}
	}
	if p := n.GetActivityStreamsCc(); p != nil {
		for it := p.Begin(); it != p.End() && len(note.Recipients) <= maxRecipients; it = it.Next() {
			note.Recipients = append(note.Recipients, idOfValue(it))
		}
	}
	if len(note.Recipients) > maxRecipients {
		return nil, ignore("note addresses more than %d recipients", maxRecipients)
	}

	// Text from the raw map: go-fed reads "Update: it works" as an IRI.
	note.Content = rawString(m, "content", "")
	if note.Content == "" {
		note.Content = firstOfMap(m["contentMap"])
	}
	note.Summary = rawString(m, "summary", "")
	note.Name = rawString(m, "name", "")
	if src, ok := m["source"].(map[string]any); ok && rawString(src, "mediaType", "") == "text/markdown" {
		note.Source = rawString(src, "content", "")
	}
	for _, k := range []string{"quote", "quoteUrl", "quoteUri", "_misskey_quote"} {
		if q, ok := m[k].(string); ok && q != "" {
			note.Quote = q
			break
		}
	}
	note.Mentions = mentionsOf(m["tag"])
	note.Attachments = attachmentsOf(m["attachment"])
	switch r := m["replies"].(type) {
	case string:
		note.Replies = objectRef{id: r}
	case map[string]any:
		note.Replies = objectRef{id: rawString(r, "id", ""), typ: rawString(r, "type", ""), raw: r}
	}
	if len(note.Content) > maxRemoteHTML || len(note.Source) > storage.MaxBodyLen {
		return nil, ignore("note %s is longer than %d bytes", note.ID, maxRemoteHTML)
	}
	return note, nil
}

// firstOfMap is any value of a language map such as contentMap.
func firstOfMap(v any) string {
	m, _ := v.(map[string]any)
	for _, x := range m {
		if s, ok := x.(string); ok {
			return s
		}
	}
	return ""
}

// mentionsOf lists the hrefs of Mention tags.
func mentionsOf(v any) []string {
	tags, _ := v.([]any)
	if m, ok := v.(map[string]any); ok {
		tags = []any{m}
	}
	var out []string
	for i, t := range tags {
		if i == maxTagsInspected {
			break
		}
		m, _ := t.(map[string]any)
		if rawString(m, "type", "") == "Mention" {
			if href := rawString(m, "href", ""); href != "" {
				out = append(out, href)
			}
		}
	}
	return out
}

// attachmentsOf lists the http(s) URLs of attached media.
func attachmentsOf(v any) []string {
	list, _ := v.([]any)
	if m, ok := v.(map[string]any); ok {
		list = []any{m}
	}
	var out []string
	for _, a := range list {
		if len(out) == maxAttachments {
			break
		}
		m, _ := a.(map[string]any)
		u, _ := m["url"].(string)
		if p, err := url.Parse(u); err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" {
			out = append(out, u)
		}
	}
	return out
}

// clipText makes remote plain text safe to store: valid UTF-8, no NUL
// (PostgreSQL refuses it), at most max bytes, cut at a rune boundary.
func clipText(s string, max int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// noteHTML is what a remote Note shows as, before sanitizing: its content,
// its content warning above it and links to its media below.
func noteHTML(n *remoteNote) string {
	var b strings.Builder
	if n.Summary != "" {
		fmt.Fprintf(&b, "<p><strong>%s</strong></p>", html.EscapeString(clipText(n.Summary, maxNameLen)))
	}
	b.WriteString(n.Content)
	for _, a := range n.Attachments {
		fmt.Fprintf(&b, `<p><a href="%s">%s</a></p>`, html.EscapeString(a), "Attachment")
	}
	return strings.ReplaceAll(b.String(), "\x00", "")
}
