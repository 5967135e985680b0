package activitystreams

import "encoding/json"

// Collection is an OrderedCollection (or Collection) whose items are
// reached through its pages.
type Collection struct {
	Context      json.RawMessage `json:"@context,omitempty"`
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	TotalItems   *int64          `json:"totalItems,omitempty"`
	AttributedTo string          `json:"attributedTo,omitempty"`
	Audience     string          `json:"audience,omitempty"`
	First        string          `json:"first,omitempty"`
	Last         string          `json:"last,omitempty"`
}

// ItemsCollection is an OrderedCollection that lists its few items
// itself, without pages. OrderedItems is never nil.
type ItemsCollection struct {
	Context      json.RawMessage `json:"@context,omitempty"`
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	TotalItems   *int64          `json:"totalItems"`
	OrderedItems []any           `json:"orderedItems"`
}

// CollectionPage is one OrderedCollectionPage. OrderedItems is never nil.
// Only a page embedded in another document may go without an id.
type CollectionPage struct {
	Context      json.RawMessage `json:"@context,omitempty"`
	ID           string          `json:"id,omitempty"`
	Type         string          `json:"type"`
	PartOf       string          `json:"partOf"`
	TotalItems   *int64          `json:"totalItems,omitempty"`
	StartIndex   *int64          `json:"startIndex,omitempty"`
	Prev         string          `json:"prev,omitempty"`
	Next         string          `json:"next,omitempty"`
	OrderedItems []any           `json:"orderedItems"`
}
