package activitystreams

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// Envelope is the part of an activity an inbox reads before it queues the
// POST: its id, type, actor and object id. Reading it decodes no more of
// the body than these four fields.
type Envelope struct {
	ID     string
	Type   string
	Actor  string
	Object string
}

// envelopeJSON is what ReadEnvelope decodes: references stay raw until
// ref reads them, so an embedded object is never built into a map.
type envelopeJSON struct {
	ID     string          `json:"id"`
	Type   json.RawMessage `json:"type"`
	Actor  json.RawMessage `json:"actor"`
	Object json.RawMessage `json:"object"`
}

// envelopeWithObject is the envelope of an activity that embeds its
// object (a Create, an Update): the object's id is read in the same pass
// as the rest, which matters because the object is most of the body.
type envelopeWithObject struct {
	ID     string          `json:"id"`
	Type   json.RawMessage `json:"type"`
	Actor  json.RawMessage `json:"actor"`
	Object struct {
		ID string `json:"id"`
	} `json:"object"`
}

// ReadEnvelope checks that body is UTF-8 JSON of bounded depth with no
// key twice in an object (see checkShape) and reads its envelope. Errors
// are short reasons, safe to send back.
func ReadEnvelope(body []byte) (*Envelope, error) {
	if !utf8.Valid(body) {
		return nil, errors.New("body is not valid UTF-8")
	}
	if err := checkShape(body, MaxDepth); err != nil {
		return nil, err
	}
	var env *Envelope
	var fast envelopeWithObject
	if err := json.Unmarshal(body, &fast); err == nil {
		env = &Envelope{ID: fast.ID, Type: rawRef(fast.Type, false), Actor: rawRef(fast.Actor, true), Object: fast.Object.ID}
	} else {
		// The object is an IRI or an array (or the body is not what
		// it should be): read it raw, which takes a second pass.
		var raw envelopeJSON
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, errors.New("body is not a JSON object")
		}
		env = &Envelope{ID: raw.ID, Type: rawRef(raw.Type, false), Actor: rawRef(raw.Actor, true), Object: rawRef(raw.Object, true)}
	}
	if env.Type == "" {
		return nil, errors.New("activity has no type")
	}
	if env.Actor == "" {
		return nil, errors.New("activity has no actor")
	}
	return env, nil
}

// rawRef is [ID] on undecoded JSON: a string, an object's id (when
// objects are allowed), or the first of an array of either. A type is
// read as a string or the first string of an array.
func rawRef(raw json.RawMessage, objects bool) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	case '{':
		if !objects {
			return ""
		}
		var o struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(raw, &o)
		return o.ID
	case '[':
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) == nil && len(arr) > 0 {
			return rawRef(arr[0], objects)
		}
	}
	return ""
}
