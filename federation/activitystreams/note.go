package activitystreams

import "encoding/json"

// Note is a post as the fediverse sees it. Multi-valued fields are slices
// that are never nil, so they always serialize as arrays.
type Note struct {
	Context      json.RawMessage `json:"@context,omitempty"`
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	AttributedTo string          `json:"attributedTo"`
	Content      string          `json:"content"`
	// Summary is the post's content warning (Mastodon's meaning on a
	// Note); Sensitive is set with it.
	Summary    string          `json:"summary,omitempty"`
	Source     *Source         `json:"source,omitempty"`
	Published  string          `json:"published"`
	Updated    string          `json:"updated,omitempty"`
	URL        string          `json:"url"`
	To         []string        `json:"to"`
	Cc         []string        `json:"cc"`
	InReplyTo  string          `json:"inReplyTo,omitempty"`
	ContextID  string          `json:"context"`            // FEP-7888: the thread's posts collection
	Audience   string          `json:"audience,omitempty"` // FEP-1b12: the forum
	Sensitive  bool            `json:"sensitive"`
	Tag        []Tag           `json:"tag"`
	Attachment []any           `json:"attachment"`
	Replies    *CollectionLink `json:"replies"`
	Likes      *CollectionLink `json:"likes"`
	// FEP-044f quote, with the older spellings beside it.
	Quote        string `json:"quote,omitempty"`
	QuoteURL     string `json:"quoteUrl,omitempty"`
	MisskeyQuote string `json:"_misskey_quote,omitempty"`
}

// Source is the Markdown a member typed.
type Source struct {
	Content   string `json:"content"`
	MediaType string `json:"mediaType"`
}

// Tag is a Mention (or, later, a Hashtag).
type Tag struct {
	Type string `json:"type"`
	Href string `json:"href"`
	Name string `json:"name"`
}

// CollectionLink is a collection embedded by reference: its id, type, the
// count when it is cheap, and where paging starts: First is the first
// page's id or the page itself (a *CollectionPage), as Mastodon embeds
// it in a Note's replies and GoToSocial walks only an embedded one.
type CollectionLink struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	TotalItems *int64 `json:"totalItems,omitempty"`
	First      any    `json:"first,omitempty"`
}

// Tombstone stands in for something deleted.
type Tombstone struct {
	Context    json.RawMessage `json:"@context,omitempty"`
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	FormerType string          `json:"formerType"`
	Deleted    string          `json:"deleted,omitempty"`
}
