package activitystreams

// Incoming is an activity as an inbox received it: its decoded JSON and
// the fields every handler reads.
type Incoming struct {
	Raw    map[string]any
	Type   string
	ID     string
	Actor  string
	Object Object // the first object
}

// Object is a reference to an object: a bare IRI, or an embedded object
// with its decoded JSON.
type Object struct {
	ID   string
	Type string         // "" for a bare IRI
	Raw  map[string]any // nil for a bare IRI
}

// ObjectOf reads a reference value (the first, of an array).
func ObjectOf(v any) Object {
	switch o := first(v).(type) {
	case string:
		return Object{ID: o}
	case map[string]any:
		return Object{ID: String(o, "id"), Type: String(o, "type"), Raw: o}
	}
	return Object{}
}

// DecodeActivity reads an activity from its body.
func DecodeActivity(body []byte) (*Incoming, error) {
	m, err := Decode(body)
	if err != nil {
		return nil, err
	}
	return ReadActivity(m)
}

// ReadActivity reads an activity from its decoded JSON. Like a JSON-LD
// processor, it refuses a document without an @context.
func ReadActivity(m map[string]any) (*Incoming, error) {
	if m["@context"] == nil {
		return nil, invalid("activity has no @context")
	}
	act := &Incoming{Raw: m, Type: TypeOf(m), ID: String(m, "id"), Actor: ID(m["actor"]), Object: ObjectOf(m["object"])}
	if act.Type == "" {
		return nil, invalid("activity has no type")
	}
	return act, nil
}
