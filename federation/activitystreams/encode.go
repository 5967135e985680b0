package activitystreams

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Marshal encodes a document or activity as the node sends it: HTML in
// content stays readable ("<", not \u003c) and there is no trailing
// newline. The structs here marshal without error; one means a bug.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("marshal %T: %w", v, err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// FormatTime is the timestamp form every fediverse server parses.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
