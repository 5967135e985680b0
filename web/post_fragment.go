package web

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"html/template"
	"reflect"
	"time"

	"github.com/skein-forum/skein/httpcache"
)

// Rendered posts, kept by everything they show. A member's thread page is
// rendered every time (it shows what that member liked and may do), and
// executing the post template twenty times was half of its cost. A post's
// HTML is a function of its postView alone, so the view itself, every
// field of it, is the key: an edit, a like, a new avatar or another
// member's rights make another key, and nothing needs to be invalidated.
// Entries that are no longer asked for fall out of the LRU.

// postFragmentBytes bounds the rendered posts kept (their keys, which
// hold the post's HTML as well, roughly double it).
const postFragmentBytes = 8 << 20

func newPostFragments() *httpcache.Cache[string] {
	return httpcache.New[string](postFragmentBytes, 0)
}

// renderPost renders one post with the "post" template, from the cache
// when that exact view was rendered before.
func (s *Server) renderPost(v postView) (template.HTML, error) {
	key, ok := appendViewKey(make([]byte, 0, 4096), reflect.ValueOf(v))
	if ok {
		if resp := s.postFragments.Get(string(key), 0, time.Time{}); resp != nil {
			return template.HTML(resp.Body), nil
		}
	}
	var buf bytes.Buffer
	if err := s.pages["thread"].ExecuteTemplate(&buf, "post", v); err != nil {
		return "", fmt.Errorf("render post %s: %w", v.ID, err)
	}
	if ok {
		s.postFragments.Put(string(key), 0, &httpcache.Response{Body: buf.Bytes()}, time.Time{})
	}
	return template.HTML(buf.String()), nil
}

// appendViewKey writes every field of a view, nested structs and slices
// included, each with its length, so that two views have the same key
// exactly when they are equal. It reports false for a kind of field it
// cannot write (a map, a pointer): such a view is rendered every time.
func appendViewKey(b []byte, v reflect.Value) ([]byte, bool) {
	ok := true
	switch v.Kind() {
	case reflect.String:
		b = binary.AppendUvarint(b, uint64(v.Len()))
		b = append(b, v.String()...)
	case reflect.Bool:
		bit := byte(0)
		if v.Bool() {
			bit = 1
		}
		b = append(b, bit)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b = binary.AppendVarint(b, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b = binary.AppendUvarint(b, v.Uint())
	case reflect.Struct:
		for i := range v.NumField() {
			if b, ok = appendViewKey(b, v.Field(i)); !ok {
				return b, false
			}
		}
	case reflect.Slice, reflect.Array:
		b = binary.AppendUvarint(b, uint64(v.Len()))
		for i := range v.Len() {
			if b, ok = appendViewKey(b, v.Index(i)); !ok {
				return b, false
			}
		}
	default:
		return b, false
	}
	return b, true
}
