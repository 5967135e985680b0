package federation

import "encoding/json"

// Activity is a Create (or, for the delivery code, any activity wrapping
// one object).
type Activity struct {
	Context   json.RawMessage `json:"@context,omitempty"`
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Actor     string          `json:"actor"`
	Published string          `json:"published,omitempty"`
	To        []string        `json:"to"`
	Cc        []string        `json:"cc"`
	Object    any             `json:"object"`
}

// CreateActivity wraps a Note in the Create its author sent. Its id is the
// Note's with a fragment, so it is stable and dereferences to the Note.
func CreateActivity(n *Note) *Activity {
	return &Activity{
		ID:        n.ID + "#create",
		Type:      "Create",
		Actor:     n.AttributedTo,
		Published: n.Published,
		To:        n.To,
		Cc:        n.Cc,
		Object:    n,
	}
}
