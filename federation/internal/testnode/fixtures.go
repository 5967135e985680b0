package testnode

import (
	"fmt"
	"sync/atomic"

	as "github.com/skein-forum/skein/federation/activitystreams"
)

// Activities shaped like what Mastodon and GoToSocial really send (the
// content is ours): Mastodon's context with inline ostatus and toot
// terms, atomUri, conversation, contentMap, an embedded first replies
// page and an LD signature block; GoToSocial's plainer documents.

var MastodonContext = []any{
	"https://www.w3.org/ns/activitystreams",
	map[string]any{
		"ostatus":          "http://ostatus.org#",
		"atomUri":          "ostatus:atomUri",
		"inReplyToAtomUri": "ostatus:inReplyToAtomUri",
		"conversation":     "ostatus:conversation",
		"sensitive":        "as:sensitive",
		"toot":             "http://joinmastodon.org/ns#",
		"votersCount":      "toot:votersCount",
		"blurhash":         "toot:blurhash",
		"focalPoint":       map[string]any{"@container": "@list", "@id": "toot:focalPoint"},
		"Hashtag":          "as:Hashtag",
	},
}

var GTSContext = []any{"https://gotosocial.org/ns", "https://www.w3.org/ns/activitystreams"}

var noteSeq atomic.Int64

// note is a Note by a, replying to inReplyTo (may be ""), with a fresh id.
func (a *RemoteActor) Note(inReplyTo, content string) map[string]any {
	n := noteSeq.Add(1)
	id := fmt.Sprintf("%s/statuses/%d", a.ID(), 110000000000000000+n)
	if a.Srv.Style == "gotosocial" {
		id = fmt.Sprintf("%s/statuses/01HX%010d", a.ID(), n)
	}
	note := map[string]any{
		"id":           id,
		"type":         "Note",
		"summary":      nil,
		"inReplyTo":    nilIfEmpty(inReplyTo),
		"published":    "2024-05-01T10:00:00Z",
		"url":          fmt.Sprintf("%s/@%s/%d", a.Srv.Srv.URL, a.Name, n),
		"attributedTo": a.ID(),
		"to":           []any{as.Public},
		"cc":           []any{a.ID() + "/followers"},
		"content":      content,
		"attachment":   []any{},
		"tag":          []any{},
	}
	if a.Srv.Style == "mastodon" {
		note["sensitive"] = false
		note["atomUri"] = id
		note["inReplyToAtomUri"] = nilIfEmpty(inReplyTo)
		note["conversation"] = fmt.Sprintf("tag:%s,2024-05-01:objectId=%d:objectType=Conversation", a.Srv.Host(), n)
		note["contentMap"] = map[string]any{"en": content}
		note["replies"] = map[string]any{
			"id":   id + "/replies",
			"type": "Collection",
			"first": map[string]any{
				"type":   "CollectionPage",
				"next":   id + "/replies?only_other_accounts=true&page=true",
				"partOf": id + "/replies",
				"items":  []any{},
			},
		}
	}
	return note
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// activity wraps object in an activity of type typ by a.
func (a *RemoteActor) Activity(typ string, object any) map[string]any {
	n := noteSeq.Add(1)
	act := map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       fmt.Sprintf("%s#%s/%d", a.ID(), typ, n),
		"type":     typ,
		"actor":    a.ID(),
		"object":   object,
	}
	if a.Srv.Style == "gotosocial" {
		act["@context"] = GTSContext
	}
	return act
}

// create is Create{note} as the note's server sends it.
func (a *RemoteActor) Create(note map[string]any) map[string]any {
	act := a.Activity("Create", note)
	act["id"] = note["id"].(string) + "/activity"
	act["published"] = note["published"]
	act["to"], act["cc"] = note["to"], note["cc"]
	if a.Srv.Style == "mastodon" {
		act["@context"] = MastodonContext
		act["signature"] = map[string]any{
			"type": "RsaSignature2017", "creator": a.KeyID(), "created": "2024-05-01T10:00:01Z",
			"signatureValue": "bm90IGNoZWNrZWQgYnkgU2tlaW4=",
		}
	}
	return act
}
