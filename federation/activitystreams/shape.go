package activitystreams

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// errDuplicateKey refuses an object that has a key twice, or in two
// spellings differing only in case.
var errDuplicateKey = errors.New("an object has a key twice (or twice in different case)")

// shapeFrame is one open object or array of checkShape's scan.
type shapeFrame struct {
	object    bool
	expectKey bool // the next string in this object is a key
	first     int  // where this object's keys start in the scan's key list
	// set holds the object's keys once it has many, so that a hostile
	// object of thousands of keys costs no quadratic comparing.
	set map[string]struct{}
}

// keySpan is a case-folded key in the scan's arena.
type keySpan struct{ off, end int }

// manyKeys is the number of keys from which an object's are kept in a
// map: above the few dozen terms of a real @context.
const manyKeys = 32

// checkShape scans JSON without decoding it and refuses nesting deeper
// than max, and an object with a key twice or twice in different case.
// encoding/json fills a struct field from a key in any case, with the
// last one winning, while a map keeps each spelling: with a second "ID",
// the envelope an inbox checks and the map its worker applies would see
// different ids. Syntax is left to the decoder that follows.
func checkShape(b []byte, max int) error {
	stack := make([]shapeFrame, 0, 8)
	arena := make([]byte, 0, 512) // the folded keys of the open objects, back to back
	keys := make([]keySpan, 0, 64)
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			start := i
			escaped := false
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					escaped = true
					i++
				}
			}
			if len(stack) == 0 || !stack[len(stack)-1].expectKey || i >= len(b) {
				continue
			}
			top := &stack[len(stack)-1]
			top.expectKey = false
			raw := b[start+1 : i]
			if escaped {
				var s string
				if err := json.Unmarshal(b[start:i+1], &s); err != nil {
					continue
				}
				raw = []byte(s)
			}
			off := len(arena)
			arena = appendFolded(arena, raw)
			key := arena[off:]
			if top.set != nil {
				if _, dup := top.set[string(key)]; dup {
					return errDuplicateKey
				}
				top.set[string(key)] = struct{}{}
				arena = arena[:off]
				continue
			}
			for _, k := range keys[top.first:] {
				if bytes.Equal(arena[k.off:k.end], key) {
					return errDuplicateKey
				}
			}
			keys = append(keys, keySpan{off, len(arena)})
			if len(keys)-top.first >= manyKeys {
				top.set = make(map[string]struct{}, 2*manyKeys)
				for _, k := range keys[top.first:] {
					top.set[string(arena[k.off:k.end])] = struct{}{}
				}
			}
		case '{', '[':
			if len(stack) >= max {
				return fmt.Errorf("JSON nested deeper than %d levels", max)
			}
			stack = append(stack, shapeFrame{object: b[i] == '{', expectKey: b[i] == '{', first: len(keys)})
		case '}', ']':
			if len(stack) > 0 {
				// An object's keys are the last ones listed: drop them.
				top := stack[len(stack)-1]
				if top.first < len(keys) {
					arena = arena[:keys[top.first].off]
					keys = keys[:top.first]
				}
				stack = stack[:len(stack)-1]
			}
		case ',':
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].expectKey = true
			}
		}
	}
	return nil
}

// appendFolded appends key to dst with every spelling encoding/json would
// match case-insensitively made the same: each rune becomes the smallest
// of its Unicode case-fold orbit, lower-cased (so the Kelvin sign and
// "k" meet, as they do in strings.EqualFold).
func appendFolded(dst, key []byte) []byte {
	for i := 0; i < len(key); {
		c := key[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(key[i:])
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(least))
		i += size
	}
	return dst
}
