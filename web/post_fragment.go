package web

import (
	"bytes"
	"fmt"
	"html/template"
	"reflect"
	"time"

	"github.com/skein-forum/skein/httpcache"
)

// Rendered posts, kept by everything they show. A member's thread page is
// rendered every time (it shows what that member liked and may do), and
// executing the post template twenty times was half of its cost. A post's
// HTML is a function of its postView alone, so the view itself is the
// key: an edit, a like, a new avatar or another member's rights make
// another key, and nothing needs to be invalidated. Entries that are no
// longer asked for fall out of the LRU.

// postFragmentBytes bounds the rendered posts kept (their keys, which
// hold the post's HTML as well, roughly double it).
const postFragmentBytes = 8 << 20

// newPostFragments is the cache, or nil (render every time) when a
// postView can no longer be a map key.
func newPostFragments() *httpcache.Cache[any] {
	if !reflect.TypeOf(postView{}).Comparable() {
		return nil
	}
	return httpcache.New[any](postFragmentBytes, 0)
}

// renderPost renders one post with the "post" template, from the cache
// when that exact view was rendered before.
func (s *Server) renderPost(v postView) (template.HTML, error) {
	if resp := s.postFragments.Get(v, 0, time.Time{}); resp != nil {
		return template.HTML(resp.Body), nil
	}
	var buf bytes.Buffer
	if err := s.pages["thread"].ExecuteTemplate(&buf, "post", v); err != nil {
		return "", fmt.Errorf("render post %s: %w", v.ID, err)
	}
	s.postFragments.Put(v, 0, &httpcache.Response{Body: buf.Bytes()}, time.Time{})
	return template.HTML(buf.String()), nil
}
