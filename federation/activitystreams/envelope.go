package activitystreams

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// Envelope is the part of an activity an inbox reads before it queues the
// POST: its id, type, actor and object id, and the decoded document, for
// whoever applies the activity: the body is parsed once.
type Envelope struct {
	ID     string
	Type   string
	Actor  string
	Object string
	Doc    map[string]any // the whole document, decoded
}

// ReadEnvelope checks that body is UTF-8 JSON of bounded depth with no
// key twice in an object (see checkShape), decodes it and reads its
// envelope. Errors are short reasons, safe to send back.
func ReadEnvelope(body []byte) (*Envelope, error) {
	if !utf8.Valid(body) {
		return nil, errors.New("body is not valid UTF-8")
	}
	if err := checkShape(body, MaxDepth); err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, errors.New("body is not a JSON object")
	}
	env := &Envelope{ID: String(m, "id"), Type: TypeOf(m), Actor: ID(m["actor"]), Object: ID(m["object"]), Doc: m}
	if env.Type == "" {
		return nil, errors.New("activity has no type")
	}
	if env.Actor == "" {
		return nil, errors.New("activity has no actor")
	}
	return env, nil
}
