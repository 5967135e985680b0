package activitystreams

import "encoding/json"

// Actor is a Person (member), Group (forum or thread) or Application (the
// instance actor).
type Actor struct {
	Context           json.RawMessage `json:"@context,omitempty"`
	ID                string          `json:"id"`
	Type              string          `json:"type"`
	PreferredUsername string          `json:"preferredUsername"`
	Name              string          `json:"name"`
	Summary           string          `json:"summary"`
	URL               string          `json:"url"`
	Inbox             string          `json:"inbox"`
	Outbox            string          `json:"outbox"`
	Followers         string          `json:"followers"`
	Following         string          `json:"following"`
	// Featured is the pinned posts (Mastodon's toot:featured);
	// GoToSocial logs an error for an actor without one.
	Featured  string    `json:"featured"`
	Endpoints Endpoints `json:"endpoints"`
	PublicKey PublicKey `json:"publicKey"`
	// Members and groups take followers without review; the instance
	// actor is not meant to be followed, so it asks for review.
	ManuallyApprovesFollowers bool   `json:"manuallyApprovesFollowers"`
	Discoverable              bool   `json:"discoverable"`
	Indexable                 bool   `json:"indexable"`
	Published                 string `json:"published,omitempty"`
	Icon                      *Image `json:"icon,omitempty"`
	// Posts links a thread's collection of posts (the FEP-7888 context of
	// each of them); Threads links a forum's collection of threads.
	Posts   string `json:"posts,omitempty"`
	Threads string `json:"threads,omitempty"`
	// Audience is the forum a thread belongs to (FEP-1b12).
	Audience string `json:"audience,omitempty"`
}

// Endpoints holds the shared inbox.
type Endpoints struct {
	SharedInbox string `json:"sharedInbox"`
}

// PublicKey is an actor's key as HTTP Signatures look it up.
type PublicKey struct {
	ID           string `json:"id"`
	Owner        string `json:"owner"`
	PublicKeyPem string `json:"publicKeyPem"`
}

// Image is an avatar.
type Image struct {
	Type      string `json:"type"`
	MediaType string `json:"mediaType,omitempty"`
	URL       string `json:"url"`
}
