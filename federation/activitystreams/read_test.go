package activitystreams_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/signature"
)

func TestReadEnvelope(t *testing.T) {
	for _, tc := range []struct {
		body                     string
		typ, actor, object, fail string
	}{
		{body: `{"id":"https://a.example/1","type":"Like","actor":"https://a.example/u","object":"https://b.example/p/1"}`,
			typ: "Like", actor: "https://a.example/u", object: "https://b.example/p/1"},
		{body: `{"type":["Create","Foo"],"actor":[{"id":"https://a.example/u"}],"object":{"id":"https://a.example/n","type":"Note"}}`,
			typ: "Create", actor: "https://a.example/u", object: "https://a.example/n"},
		{body: `{"type":{"id":"Create"},"actor":"https://a.example/u"}`, fail: "no type"},
		{body: `{"type":"Create"}`, fail: "no actor"},
		{body: `[]`, fail: "not a JSON object"},
		{body: "{\"type\":\"Create\",\"actor\":\"https://a.example/\xff\"}", fail: "UTF-8"},
		{body: `{"type":"Create","actor":"x","object":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, fail: "nested deeper"},
		{body: `{"type":"Create","actor":"x","object":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`, fail: "nested deeper"},
		{body: `{"type":"Create","actor":"x","object":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`, typ: "Create", actor: "x"},
		// Invalid UTF-8 is refused wherever it is: after an escape, in a
		// key, outside any string.
		{body: "{\"type\":\"Create\",\"actor\":\"https://a.example/u\",\"content\":\"\\n\xc0\xaf\"}", fail: "UTF-8"},
		{body: "{\"type\":\"Create\",\"actor\":\"https://a.example/u\",\"\xed\xa0\x80\":1}", fail: "UTF-8"},
		{body: "{\"type\":\"Create\",\"actor\":\"https://a.example/u\"}\xff", fail: "UTF-8"},
		{body: `{"type":"Create","actor":"https://a.example/u"} {}`, fail: "not a JSON object"},
		{body: `{"type":"Create","actor":"https://a.example/u","n":1e400}`, fail: "not a JSON object"},
		{body: `{"type":"Create","actor":"https://a.example/u",}`, fail: "not a JSON object"},
		// One key twice, in any spelling encoding/json would match: the
		// envelope and the worker's map would read different values.
		{body: `{"id":"https://victim.example/1","ID":"https://a.example/1","type":"Like","actor":"https://a.example/u","object":"x"}`, fail: "key twice"},
		{body: `{"id":"https://victim.example/1","type":"Like","actor":"https://a.example/u","object":"x","id":"https://a.example/1"}`, fail: "key twice"},
		{body: `{"id":"https://a.example/1","type":"Like","actor":"https://a.example/u","object":"x","\u0069D":"https://v.example/"}`, fail: "key twice"},
		{body: `{"type":"Like","actor":"https://a.example/u","object":"x","summary":"a","ſummary":"b"}`, fail: "key twice"},
		{body: `{"type":"Create","actor":"https://a.example/u","object":{"id":"https://a.example/n","Id":"https://v.example/n"}}`, fail: "key twice"},
		{body: `{"type":"Create","actor":"https://a.example/u","object":{` + manyKeys(40) + `,"k7":{` + manyKeys(20) + `},"K39":1}}`, fail: "key twice"},
		{body: `{"type":"Create","actor":"https://a.example/u","object":{` + manyKeys(40) + `,"in":[{` + manyKeys(20) + `},{` + manyKeys(20) + `}]}}`,
			typ: "Create", actor: "https://a.example/u"},
		// Values may repeat, and the same key in sibling objects is fine.
		{body: `{"id":"id","type":"Create","actor":"https://a.example/u","object":{"id":"https://a.example/n","tag":[{"id":"t"},{"id":"t"}]},"to":["id","id"]}`,
			typ: "Create", actor: "https://a.example/u", object: "https://a.example/n"},
	} {
		env, err := as.ReadEnvelope([]byte(tc.body))
		if tc.fail != "" {
			if err == nil || !strings.Contains(err.Error(), tc.fail) {
				t.Errorf("%s: err %v, want %q", tc.body, err, tc.fail)
			}
			continue
		}
		if err != nil || env.Type != tc.typ || env.Actor != tc.actor || env.Object != tc.object {
			t.Errorf("%s: %+v %v", tc.body, env, err)
		}
	}
}

func TestReadActivity(t *testing.T) {
	act, err := as.DecodeActivity([]byte(mastodonCreate))
	if err != nil {
		t.Fatal(err)
	}
	if act.Type != "Create" || act.Actor != "https://bread.example/users/maren" ||
		act.ID != "https://bread.example/users/maren/statuses/113525871234567890/activity" ||
		act.Object.ID != "https://bread.example/users/maren/statuses/113525871234567890" || act.Object.Type != "Note" || act.Object.Raw == nil {
		t.Fatalf("%+v", act)
	}
	for body, want := range map[string]string{
		`{"type":"Like","actor":"https://a.example/u","object":"https://b.example/p"}`:       "no @context",
		`{"@context":"https://www.w3.org/ns/activitystreams","actor":"https://a.example/u"}`: "no type",
		`null`: "not a JSON object",
		`{"@context":"https://www.w3.org/ns/activitystreams","object":` + strings.Repeat("[", 33) + strings.Repeat("]", 33) + `}`: "nested deeper",
	} {
		if _, err := as.DecodeActivity([]byte(body)); !errors.Is(err, as.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ErrInvalid %q", body, err, want)
		}
	}
	undo, err := as.DecodeActivity([]byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Undo","actor":"https://a.example/u",` +
		`"object":[{"id":"https://a.example/f/1","type":"Follow","actor":"https://a.example/u","object":"https://b.example/t/1"}]}`))
	if err != nil || undo.Object.ID != "https://a.example/f/1" || undo.Object.Type != "Follow" || as.ID(undo.Object.Raw["object"]) != "https://b.example/t/1" {
		t.Fatalf("undo: %+v %v", undo, err)
	}
}

func TestReadNote(t *testing.T) {
	act, err := as.DecodeActivity([]byte(mastodonCreate))
	if err != nil {
		t.Fatal(err)
	}
	n, err := as.ReadNote(act.Object.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if n.ID != "https://bread.example/users/maren/statuses/113525871234567890" || n.AttributedTo != "https://bread.example/users/maren" ||
		n.InReplyTo != "https://forum.example/p/2x2qpwileoe9" || n.Context != "https://forum.example/t/2x2qpwileoe8/posts" ||
		n.URL != "https://bread.example/@maren/113525871234567890" || !n.Published.Equal(time.Date(2026, 11, 26, 10, 15, 42, 0, time.UTC)) ||
		!strings.HasPrefix(n.Content, "<p><span class=\"h-card\"") || n.Summary != "" {
		t.Errorf("fields: %+v", n)
	}
	if want := []string{as.Public, "https://bread.example/users/maren/followers", "https://forum.example/t/2x2qpwileoe8", "https://forum.example/u/alice"}; !slices.Equal(n.Recipients, want) {
		t.Errorf("recipients %q", n.Recipients)
	}
	if want := []string{"https://forum.example/t/2x2qpwileoe8", "https://forum.example/u/alice"}; !slices.Equal(n.Mentions, want) {
		t.Errorf("mentions %q", n.Mentions)
	}
	if len(n.Attachments) != 1 || n.Replies.ID != "https://bread.example/users/maren/statuses/113525871234567890/replies" || n.Replies.Raw == nil {
		t.Errorf("attachments %+v, replies %+v", n.Attachments, n.Replies)
	} else if a := n.Attachments[0]; !a.IsImage() || a.MediaType != "image/jpeg" || a.Width != 1600 || a.Height != 1200 ||
		a.Blurhash != "UBL_:rOpGG-;~qRjWBay00xu%MM{IUWBt7of" || !strings.HasPrefix(a.Name, "A glass jar of rye starter") {
		t.Errorf("attachment read as %+v", a)
	}

	// Text stays text, other shapes of url and to, Markdown source, quotes.
	m := map[string]any{"id": "https://g.example/n/1", "type": "Page", "name": "Update: it works", "content": "",
		"contentMap": map[string]any{"de": "<p>Hallo</p>"}, "to": "https://g.example/c/x",
		"url":          []any{map[string]any{"type": "Link", "href": "https://g.example/post/1", "mediaType": "text/html"}},
		"attributedTo": []any{map[string]any{"id": "https://g.example/u/kim", "type": "Person"}},
		"source":       map[string]any{"content": "# Hi", "mediaType": "text/markdown"}, "_misskey_quote": "https://g.example/n/0",
		"published": "2026-11-26T10:15+01:00", "replies": "https://g.example/n/1/replies"}
	n, err = as.ReadNote(m)
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != "Update: it works" || n.Content != "<p>Hallo</p>" || n.URL != "https://g.example/post/1" || n.AttributedTo != "https://g.example/u/kim" ||
		n.Source != "# Hi" || n.Quote != "https://g.example/n/0" || !slices.Equal(n.Recipients, []string{"https://g.example/c/x"}) ||
		n.Published.IsZero() || n.Replies.ID != "https://g.example/n/1/replies" || n.Replies.Raw != nil {
		t.Errorf("%+v", n)
	}

	many := make([]any, as.MaxRecipients)
	for i := range many {
		many[i] = "https://g.example/u/x"
	}
	for what, bad := range map[string]map[string]any{
		"not a Note":    {"id": "https://g.example/n/1", "type": "Question"},
		"has no id":     {"type": "Note"},
		"more than 500": {"id": "https://g.example/n/1", "type": "Note", "to": many, "cc": "https://g.example/u/y"},
		"longer than":   {"id": "https://g.example/n/1", "type": "Note", "content": strings.Repeat("x", as.MaxContent+1)},
	} {
		if _, err := as.ReadNote(bad); !errors.Is(err, as.ErrInvalid) || !strings.Contains(err.Error(), what) {
			t.Errorf("%s: %v", what, err)
		}
	}
}

func TestReadActor(t *testing.T) {
	key, err := signature.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := signature.EncodePublicKeyPEM(&key.PublicKey)
	doc := func(edit func(map[string]any)) map[string]any {
		m := map[string]any{
			"@context": []any{as.Namespace, "https://w3id.org/security/v1"},
			"id":       "https://M.example/users/zed", "type": "Person", "preferredUsername": "zed",
			"name": "Zed: the one", "summary": "<p>Bakes.</p>", "inbox": "https://m.example/users/zed/inbox",
			"followers": "https://m.example/users/zed/followers", "url": "https://m.example/@zed",
			"icon":      map[string]any{"type": "Image", "url": "https://m.example/a.png"},
			"endpoints": map[string]any{"sharedInbox": "https://m.example/inbox"},
			"publicKey": map[string]any{"id": "https://M.example/users/zed#main-key", "owner": "https://M.example/users/zed", "publicKeyPem": pem},
		}
		if edit != nil {
			edit(m)
		}
		// Through JSON, as fetched.
		b, _ := json.Marshal(m)
		var out map[string]any
		_ = json.Unmarshal(b, &out)
		return out
	}
	a, err := as.ReadActor(context.Background(), doc(nil))
	if err != nil {
		t.Fatal(err)
	}
	if a.Host != "m.example" || a.Handle != "zed" || a.Name != "Zed: the one" || a.Inbox != "https://m.example/users/zed/inbox" ||
		a.SharedInbox != "https://m.example/inbox" || a.Avatar != "https://m.example/a.png" || a.URL != "https://m.example/@zed" ||
		a.PublicKeyID != "https://M.example/users/zed#main-key" || a.PublicKeyPEM != pem {
		t.Errorf("%+v", a)
	}
	for want, edit := range map[string]func(map[string]any){
		"no public key it owns":  func(m map[string]any) { m["publicKey"].(map[string]any)["owner"] = "https://m.example/users/eve" },
		"no inbox":               func(m map[string]any) { delete(m, "inbox") },
		"not a plausible handle": func(m map[string]any) { m["preferredUsername"] = "zed\u202e" },
		"not an actor":           func(m map[string]any) { m["type"] = "Note" },
	} {
		if _, err := as.ReadActor(context.Background(), doc(edit)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
}

func TestIsActivityPubAccept(t *testing.T) {
	for accept, want := range map[string]bool{
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8": false,
		"*/*":                       false,
		"":                          false,
		"application/json":          false,
		"application/activity+json": true,
		"Application/Activity+JSON; charset=utf-8": true,
		as.AcceptHeader:                  true,
		"text/html, application/ld+json": true,
	} {
		if got := as.IsActivityPubAccept(accept); got != want {
			t.Errorf("IsActivityPubAccept(%q) = %v, want %v", accept, got, want)
		}
	}
}

// manyKeys is n distinct members "k0":0 ... of a JSON object.
func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	return b.String()
}
