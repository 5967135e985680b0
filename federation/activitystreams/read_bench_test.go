package activitystreams_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/go-fed/activity/streams"

	"github.com/skein-forum/skein/federation/activitystreams"
)

// mastodonCreate is a reply as Mastodon 4 sends it, about 4.5 KB: the
// JSON-LD context with its extensions, a Note with HTML content and
// contentMap, mentions, hashtags, an image attachment, replies, likes and
// shares collections, and the properties go-fed does not know.
const mastodonCreate = `{"@context":["https://www.w3.org/ns/activitystreams","https://w3id.org/security/v1",
{"ostatus":"http://ostatus.org#","atomUri":"ostatus:atomUri","inReplyToAtomUri":"ostatus:inReplyToAtomUri",
"conversation":"ostatus:conversation","sensitive":"as:sensitive","toot":"http://joinmastodon.org/ns#",
"votersCount":"toot:votersCount","blurhash":"toot:blurhash","focalPoint":{"@container":"@list","@id":"toot:focalPoint"},
"Hashtag":"as:Hashtag","Emoji":"toot:Emoji","quoteUri":"http://fedibird.com/ns#quoteUri","_misskey_quote":"https://misskey-hub.net/ns#_misskey_quote"}],
"id":"https://bread.example/users/maren/statuses/113525871234567890/activity","type":"Create",
"actor":"https://bread.example/users/maren","published":"2026-11-26T10:15:42Z",
"to":["https://www.w3.org/ns/activitystreams#Public"],
"cc":["https://bread.example/users/maren/followers","https://forum.example/t/2x2qpwileoe8","https://forum.example/u/alice"],
"object":{"id":"https://bread.example/users/maren/statuses/113525871234567890","type":"Note","summary":null,
"inReplyTo":"https://forum.example/p/2x2qpwileoe9","published":"2026-11-26T10:15:42Z",
"url":"https://bread.example/@maren/113525871234567890","attributedTo":"https://bread.example/users/maren",
"to":["https://www.w3.org/ns/activitystreams#Public"],
"cc":["https://bread.example/users/maren/followers","https://forum.example/t/2x2qpwileoe8","https://forum.example/u/alice"],
"sensitive":false,"atomUri":"https://bread.example/users/maren/statuses/113525871234567890",
"inReplyToAtomUri":"https://forum.example/p/2x2qpwileoe9",
"conversation":"tag:bread.example,2026-11-26:objectId=98765432:objectType=Conversation",
"context":"https://forum.example/t/2x2qpwileoe8/posts",
"content":"<p><span class=\"h-card\" translate=\"no\"><a href=\"https://forum.example/t/2x2qpwileoe8\" class=\"u-url mention\">@<span>t.2x2qpwileoe8</span></a></span> <span class=\"h-card\" translate=\"no\"><a href=\"https://forum.example/u/alice\" class=\"u-url mention\">@<span>alice</span></a></span> I had exactly the same trouble last winter. The starter sat on the counter at 17 degrees and went flat after three days, every time. Two things fixed it for me: a week of rye instead of white flour, and moving the jar on top of the fridge where it is closer to 24 degrees.</p><p>Also feed it at a fixed time. A 1:5:5 feed overnight works if it peaks too early. Photo of this morning&#39;s jar below, it doubled in six hours.</p><p><a href=\"https://bread.example/tags/sourdough\" class=\"mention hashtag\" rel=\"tag\">#<span>sourdough</span></a> <a href=\"https://bread.example/tags/baking\" class=\"mention hashtag\" rel=\"tag\">#<span>baking</span></a></p>",
"contentMap":{"en":"<p>I had exactly the same trouble last winter. The starter sat on the counter at 17 degrees and went flat after three days, every time. Two things fixed it for me: a week of rye instead of white flour, and moving the jar on top of the fridge where it is closer to 24 degrees.</p><p>Also feed it at a fixed time. A 1:5:5 feed overnight works if it peaks too early.</p>"},
"updated":"2026-11-26T10:17:03Z",
"attachment":[{"type":"Document","mediaType":"image/jpeg","url":"https://files.bread.example/media_attachments/files/113/525/871/original/4f2a9c1b7e3d.jpg",
"name":"A glass jar of rye starter with bubbles up to the rubber band, doubled since the morning feed.","blurhash":"UBL_:rOpGG-;~qRjWBay00xu%MM{IUWBt7of","focalPoint":[0.0,0.2],"width":1600,"height":1200}],
"tag":[{"type":"Mention","href":"https://forum.example/t/2x2qpwileoe8","name":"@t.2x2qpwileoe8@forum.example"},
{"type":"Mention","href":"https://forum.example/u/alice","name":"@alice@forum.example"},
{"type":"Hashtag","href":"https://bread.example/tags/sourdough","name":"#sourdough"},
{"type":"Hashtag","href":"https://bread.example/tags/baking","name":"#baking"},
{"id":"https://bread.example/emojis/4242","type":"Emoji","name":":bread:","updated":"2024-03-01T12:00:00Z",
"icon":{"type":"Image","mediaType":"image/png","url":"https://files.bread.example/custom_emojis/images/000/004/242/original/bread.png"}}],
"replies":{"id":"https://bread.example/users/maren/statuses/113525871234567890/replies","type":"Collection",
"first":{"type":"CollectionPage","next":"https://bread.example/users/maren/statuses/113525871234567890/replies?only_other_accounts=true&page=true",
"partOf":"https://bread.example/users/maren/statuses/113525871234567890/replies","items":[]}},
"likes":{"id":"https://bread.example/users/maren/statuses/113525871234567890/likes","type":"Collection","totalItems":3},
"shares":{"id":"https://bread.example/users/maren/statuses/113525871234567890/shares","type":"Collection","totalItems":1}},
"signature":{"type":"RsaSignature2017","creator":"https://bread.example/users/maren#main-key","created":"2026-11-26T10:15:43Z",
"signatureValue":"mU6h0q3YxXn1dLkKcJp8v0p7i3Fq1Zx4lJt2k9wY5pQe8rA1sN6bC3dE7fG0hI2jK4lM5nO6pQ7rS8tU9vW0xY1zA2bC3dE4fG5hI6jK7lM8nO9pQ=="}}`

// BenchmarkParseCreate compares what an inbox worker can do with one
// incoming Create{Note}: the reader (the map, then the activity and its
// Note read from it: what the inbox worker does), go-fed's typed value,
// a generic map alone, and plain structs with only the fields Skein
// reads.
func BenchmarkParseCreate(b *testing.B) {
	body := []byte(mastodonCreate)
	b.Run("reader", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			act, err := activitystreams.DecodeActivity(body)
			if err != nil {
				b.Fatal(err)
			}
			note, err := activitystreams.ReadNote(act.Object.Raw)
			if err != nil || note.InReplyTo == "" {
				b.Fatal(note, err)
			}
		}
	})
	b.Run("gofed-streams", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				b.Fatal(err)
			}
			t, err := streams.ToType(context.Background(), m)
			if err != nil {
				b.Fatal(err)
			}
			if t.GetTypeName() != "Create" {
				b.Fatal(t.GetTypeName())
			}
		}
	})
	b.Run("json-map", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				b.Fatal(err)
			}
			if m["type"] != "Create" {
				b.Fatal(m["type"])
			}
		}
	})
	b.Run("json-struct", func(b *testing.B) {
		type note struct {
			ID           string          `json:"id"`
			Type         string          `json:"type"`
			InReplyTo    string          `json:"inReplyTo"`
			Published    string          `json:"published"`
			URL          string          `json:"url"`
			AttributedTo string          `json:"attributedTo"`
			Content      string          `json:"content"`
			Context      string          `json:"context"`
			Sensitive    bool            `json:"sensitive"`
			Summary      *string         `json:"summary"`
			To           []string        `json:"to"`
			Cc           []string        `json:"cc"`
			Tag          json.RawMessage `json:"tag"`
		}
		type create struct {
			ID     string `json:"id"`
			Type   string `json:"type"`
			Actor  string `json:"actor"`
			Object note   `json:"object"`
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var c create
			if err := json.Unmarshal(body, &c); err != nil {
				b.Fatal(err)
			}
			if c.Object.Type != "Note" {
				b.Fatal(c.Object.Type)
			}
		}
	})
}

// BenchmarkReadEnvelope is what the inbox reads of every POST before it
// queues it: a Mastodon Create, whose embedded Note is most of the body.
func BenchmarkReadEnvelope(b *testing.B) {
	body := []byte(mastodonCreate)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if env, err := activitystreams.ReadEnvelope(body); err != nil || env.Object == "" {
			b.Fatal(env, err)
		}
	}
}
