package fedtest

import (
	"context"
	"encoding/json"
	"net/http"
)

// FiledUnder is the group a forum that files each post under one group
// files note under, as NodeBB does with its categories: the first actor
// among the note's to, then its cc, whose document (fetched with the
// actor's signed GETs) is a Group. The public collection, collections and
// persons are passed over; an address that does not answer is too, as
// NodeBB skips what it cannot resolve. It returns "" when no group is
// addressed.
func (a *Actor) FiledUnder(ctx context.Context, note map[string]any) (string, error) {
	for _, field := range []string{"to", "cc"} {
		for _, addr := range addresses(note[field]) {
			if addr == Public || addr == "as:Public" || addr == "Public" {
				continue
			}
			code, body, err := a.Get(ctx, addr)
			if err != nil {
				return "", err
			}
			if code != http.StatusOK {
				continue
			}
			var doc struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(body, &doc) == nil && doc.Type == "Group" {
				return addr, nil
			}
		}
	}
	return "", nil
}

// addresses reads an addressing field, a bare id or an array of them.
func addresses(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
