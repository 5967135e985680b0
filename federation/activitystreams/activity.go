package activitystreams

import "encoding/json"

// Activity is any activity wrapping one object: Create, Update, Delete,
// Announce, Like, Undo, Follow. Object is a Note, a Tombstone, an id or
// another activity.
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

// Follow is a Follow of object by actor, addressed to the followed.
func Follow(id, actor, object string) *Activity {
	return &Activity{ID: id, Type: "Follow", Actor: actor, To: []string{object}, Cc: []string{}, Object: object}
}

// Flag is a report as Mastodon reads it: object always an array (the
// reported account, then any of its posts), content the reason.
type Flag struct {
	Context json.RawMessage `json:"@context"`
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Actor   string          `json:"actor"`
	Content string          `json:"content"`
	Object  []string        `json:"object"`
	To      []string        `json:"to"`
}

// Move is NodeBB's Move of a topic between categories: the thread's
// context from one forum (Origin) to another (Target).
type Move struct {
	Context json.RawMessage `json:"@context"`
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Actor   string          `json:"actor"`
	To      []string        `json:"to"`
	Cc      []string        `json:"cc"`
	Object  MovedContext    `json:"object"`
	Origin  string          `json:"origin"`
	Target  string          `json:"target"`
}

// MovedContext is the thread's FEP-7888 context collection, embedded in a
// Move so the receiver knows its type and new audience without a fetch.
type MovedContext struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	AttributedTo string `json:"attributedTo"`
	Audience     string `json:"audience"`
}
