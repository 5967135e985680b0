package activitystreams

import (
	"time"
)

// RemoteNote is a Note (or Article, or Page) from another server, with
// its text not yet sanitized.
type RemoteNote struct {
	ID           string
	Type         string // Note, Article or Page
	AttributedTo string
	Content      string // remote HTML, unsanitized
	// Summary is a content warning on a Note (Mastodon's meaning) and an
	// excerpt of the content on an Article or a Page (NodeBB, Lemmy,
	// blogs): see [RemoteNote.Warning]. Unsanitized.
	Summary string
	// Sensitive marks the media (Mastodon: and the text, with a summary)
	// as not to be shown until the reader asks.
	Sensitive   bool
	Source      string // Markdown, when the sender gave text/markdown source
	Name        string
	URL         string
	InReplyTo   string
	Context     string
	Audience    string
	Quote       string
	Published   time.Time
	Recipients  []string // to and cc
	Mentions    []string // hrefs of Mention tags
	Attachments []RemoteAttachment
	Replies     Object
}

// Warning is the content warning the Note carries: its summary on a
// Note. On an Article or a Page the summary is an excerpt, never a
// warning.
func (n *RemoteNote) Warning() string {
	if n.Type == "Note" {
		return n.Summary
	}
	return ""
}

// Public reports whether the Note addresses everyone, in to (public) or
// cc (unlisted); followers-only and direct Notes do not.
func (n *RemoteNote) Public() bool {
	for _, r := range n.Recipients {
		if r == Public || r == "as:Public" || r == "Public" {
			return true
		}
	}
	return false
}

// IsNoteType reports whether a type is one Skein stores as a post. Lemmy
// sends Page for posts and Note for comments; some blogs send Article.
func IsNoteType(typ string) bool {
	return typ == "Note" || typ == "Article" || typ == "Page"
}

// ReadNote reads a Note from its decoded JSON. Text is taken as given
// (a string like "Update: it works" is text, not an IRI), references as
// IRIs or embedded objects' ids.
func ReadNote(m map[string]any) (*RemoteNote, error) {
	if typ := String(m, "type"); !IsNoteType(typ) {
		return nil, invalid("object is a %s, not a Note", typ)
	}
	note := &RemoteNote{
		ID:           String(m, "id"),
		Type:         String(m, "type"),
		AttributedTo: ID(m["attributedTo"]),
		InReplyTo:    ID(m["inReplyTo"]),
		Context:      ID(m["context"]),
		Audience:     ID(m["audience"]),
		Published:    parseTime(m["published"]),
		URL:          linkOf(m["url"]),
	}
	if note.ID == "" {
		return nil, invalid("note has no id")
	}
	var ok bool
	if note.Recipients, ok = appendIDs(nil, m["to"], MaxRecipients); ok {
		note.Recipients, ok = appendIDs(note.Recipients, m["cc"], MaxRecipients)
	}
	if !ok {
		return nil, invalid("note addresses more than %d recipients", MaxRecipients)
	}
	note.Content = String(m, "content")
	if note.Content == "" {
		note.Content = langString(m["contentMap"])
	}
	note.Summary = String(m, "summary")
	note.Name = String(m, "name")
	if src, ok := m["source"].(map[string]any); ok && String(src, "mediaType") == "text/markdown" {
		note.Source = String(src, "content")
	}
	for _, k := range []string{"quote", "quoteUrl", "quoteUri", "_misskey_quote"} {
		if q := String(m, k); q != "" {
			note.Quote = q
			break
		}
	}
	note.Mentions = mentionsOf(m["tag"])
	note.Attachments = attachmentsOf(m["attachment"])
	note.Sensitive, _ = m["sensitive"].(bool)
	if r := ObjectOf(m["replies"]); r.Raw != nil || r.ID != "" {
		note.Replies = r
	}
	if len(note.Content) > MaxContent || len(note.Source) > MaxSource {
		return nil, invalid("note %s is longer than %d bytes", note.ID, MaxContent)
	}
	return note, nil
}

// linkOf reads a url property: an IRI, a Link's href, or the first of an
// array that is either.
func linkOf(v any) string {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	for _, x := range list {
		switch l := x.(type) {
		case string:
			return l
		case map[string]any:
			if String(l, "type") == "Link" {
				if h := String(l, "href"); h != "" {
					return h
				}
			}
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
		if i == MaxTagsInspected {
			break
		}
		m, _ := t.(map[string]any)
		if String(m, "type") == "Mention" {
			if href := String(m, "href"); href != "" {
				out = append(out, href)
			}
		}
	}
	return out
}
