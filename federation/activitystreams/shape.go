package activitystreams

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// errDuplicateKey refuses an object that has a key twice, or in two
// spellings differing only in case.
var errDuplicateKey = errors.New("an object has a key twice (or twice in different case)")

// shapeFrame is one open object or array of checkShape's scan.
type shapeFrame struct {
	object    bool
	expectKey bool     // the next string in this object is a key
	keys      []string // its keys so far, case-folded
}

// checkShape scans JSON without decoding it and refuses nesting deeper
// than max, and an object with a key twice or twice in different case.
// encoding/json fills a struct field from a key in any case, with the
// last one winning, while a map keeps each spelling: with a second "ID",
// the envelope an inbox checks and the map its worker applies would see
// different ids. Syntax is left to the decoder that follows.
func checkShape(b []byte, max int) error {
	var stack []shapeFrame
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
			key := string(b[start+1 : i])
			if escaped {
				if err := json.Unmarshal(b[start:i+1], &key); err != nil {
					continue
				}
			}
			key = foldKey(key)
			if slices.Contains(top.keys, key) {
				return errDuplicateKey
			}
			top.keys = append(top.keys, key)
		case '{', '[':
			if len(stack) >= max {
				return fmt.Errorf("JSON nested deeper than %d levels", max)
			}
			stack = append(stack, shapeFrame{object: b[i] == '{', expectKey: b[i] == '{'})
		case '}', ']':
			if len(stack) > 0 {
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

// foldKey maps every spelling of a key that encoding/json would match
// case-insensitively to one string: each rune to the smallest of its
// Unicode case-fold orbit (so the Kelvin sign and "k" meet, as they do
// in strings.EqualFold).
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return unicode.ToLower(least)
	}, s)
}
