package fedtest

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// The activities an actor sends, shaped as its style sends them. The
// GoToSocial shapes are those of testdata/gotosocial (a single recipient
// or tag is a bare value, not an array; a Delete names its object by id);
// the Mastodon shapes are Mastodon 4's (arrays throughout, a Tombstone in
// a Delete, the replies collection's first page embedded).

var serial atomic.Int64

// nextID is a fresh id for an activity or a note, unique in the process.
func nextID() string {
	return fmt.Sprintf("%013d%04d", time.Now().UnixMilli(), serial.Add(1)%10000)
}

// list is a recipient or tag list as the style writes it: GoToSocial
// writes one element as the bare value.
func (a *Actor) list(items ...any) any {
	if a.Server.style == GoToSocial && len(items) == 1 {
		return items[0]
	}
	if items == nil {
		return []any{}
	}
	return items
}

// Follow is a Follow of object.
func (a *Actor) Follow(object string) map[string]any {
	id := a.ID + "/follow/" + nextID()
	if a.Server.style == Mastodon {
		id = a.Server.URL + "/" + nextID()
	}
	return map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Follow",
		"actor": a.ID, "object": object, "to": a.list(object)}
}

// Like is a Like of the note with id object, written by author.
func (a *Actor) Like(object, author string) map[string]any {
	id := a.ID + "/liked/" + nextID()
	if a.Server.style == Mastodon {
		id = a.ID + "#likes/" + nextID()
	}
	return map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Like",
		"actor": a.ID, "object": object, "to": a.list(author)}
}

// Undo undoes one of the actor's activities, embedded whole.
func (a *Actor) Undo(activity map[string]any) map[string]any {
	inner := withoutContext(activity)
	id := a.Server.URL + "/" + nextID()
	if a.Server.style == Mastodon {
		innerID, _ := activity["id"].(string)
		id = innerID + "/undo"
	}
	undo := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Undo",
		"actor": a.ID, "object": inner}
	if to, ok := activity["to"]; ok {
		undo["to"] = to
	}
	return undo
}

// Mention is someone a note mentions.
type Mention struct {
	ID     string // the actor's id
	Handle string // NAME@HOST
}

// Note is a public note by the actor, published at its id (see
// [Server.Publish]) so that it can be fetched; inReplyTo may be "". Every
// mentioned actor is addressed in cc, as the servers modelled here do.
func (a *Actor) Note(inReplyTo, text string, mentions ...Mention) map[string]any {
	s := a.Server
	seq := nextID()
	id := a.ID + "/statuses/" + seq
	var html strings.Builder
	html.WriteString("<p>")
	var tags, cc []any
	cc = append(cc, a.Followers())
	for _, m := range mentions {
		name, _, _ := strings.Cut(m.Handle, "@")
		fmt.Fprintf(&html, `<span class="h-card" translate="no"><a href="%s" class="u-url mention">@<span>%s</span></a></span> `, m.ID, name)
		tags = append(tags, map[string]any{"type": "Mention", "href": m.ID, "name": "@" + m.Handle})
		cc = append(cc, m.ID)
	}
	html.WriteString(escapeText(text) + "</p>")
	content := html.String()
	now := time.Now().UTC().Format(time.RFC3339)
	note := map[string]any{
		"id": id, "type": "Note", "attributedTo": a.ID, "content": content, "contentMap": map[string]any{"en": content},
		"published": now, "to": a.list(Public), "cc": a.list(cc...), "tag": a.list(tags...),
		"sensitive": false, "attachment": []any{},
	}
	if inReplyTo != "" {
		note["inReplyTo"] = inReplyTo
	} else if s.style == Mastodon {
		note["inReplyTo"] = nil
	}
	switch s.style {
	case Mastodon:
		note["@context"] = mastodonNoteContext()
		note["summary"] = nil
		note["url"] = s.URL + "/@" + a.Name + "/" + seq
		note["atomUri"] = id
		note["conversation"] = "tag:" + s.Host + "," + now[:10] + ":objectId=" + seq + ":objectType=Conversation"
		note["replies"] = map[string]any{"id": id + "/replies", "type": "Collection",
			"first": map[string]any{"type": "CollectionPage", "next": id + "/replies?only_other_accounts=true&page=true",
				"partOf": id + "/replies", "items": []any{}}}
		note["likes"] = map[string]any{"id": id + "/likes", "type": "Collection", "totalItems": 0}
		note["shares"] = map[string]any{"id": id + "/shares", "type": "Collection", "totalItems": 0}
	case GoToSocial:
		note["@context"] = []any{"https://gotosocial.org/ns", "https://www.w3.org/ns/activitystreams",
			map[string]any{"sensitive": "as:sensitive"}}
		note["summary"] = ""
		note["url"] = s.URL + "/@" + a.Name + "/statuses/" + seq
		// GoToSocial links the first page of replies; it does not embed it.
		note["replies"] = map[string]any{"id": id + "/replies", "type": "Collection",
			"first": map[string]any{"id": id + "/replies?page=true", "type": "CollectionPage",
				"next": id + "/replies?page=true&only_other_accounts=false", "partOf": id + "/replies"}}
		everyone := map[string]any{"always": []any{Public}, "approvalRequired": []any{},
			"automaticApproval": []any{Public}, "manualApproval": []any{}}
		note["interactionPolicy"] = map[string]any{"canAnnounce": everyone, "canLike": everyone, "canReply": everyone}
	case Lemmy:
		note["@context"] = []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"}
		delete(note, "contentMap")
	}
	s.Publish(note)
	return note
}

// Create is the Create of a note by the actor.
func (a *Actor) Create(note map[string]any) map[string]any {
	id, _ := note["id"].(string)
	act := map[string]any{"id": id + "/activity", "type": "Create", "actor": a.ID,
		"published": note["published"], "to": note["to"], "cc": note["cc"], "object": withoutContext(note)}
	if a.Server.style == GoToSocial {
		act["id"] = id + "/activity#Create"
	}
	act["@context"] = note["@context"]
	return act
}

// Update is the Update of an edited note by the actor; the note is
// published again as edited.
func (a *Actor) Update(note map[string]any) map[string]any {
	a.Server.Publish(note)
	id, _ := note["id"].(string)
	act := map[string]any{"id": id + "#updates/" + nextID(), "type": "Update", "actor": a.ID,
		"published": time.Now().UTC().Format(time.RFC3339), "to": note["to"], "cc": note["cc"], "object": withoutContext(note)}
	if a.Server.style == GoToSocial {
		act["id"] = id + "/activity#Update"
	}
	act["@context"] = note["@context"]
	return act
}

// Delete is the Delete of a note by the actor: GoToSocial names the note
// by id, Mastodon embeds a Tombstone.
func (a *Actor) Delete(note map[string]any) map[string]any {
	id, _ := note["id"].(string)
	act := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "type": "Delete", "actor": a.ID,
		"to": note["to"], "cc": note["cc"]}
	switch a.Server.style {
	case GoToSocial:
		act["id"] = a.Server.URL + "/" + nextID()
		act["object"] = id
	default:
		act["id"] = id + "#delete"
		act["object"] = map[string]any{"id": id, "type": "Tombstone", "atomUri": id}
	}
	return act
}

// Edited is a copy of note with new text, marked as updated now.
func Edited(note map[string]any, text string) map[string]any {
	out := make(map[string]any, len(note)+1)
	for k, v := range note {
		out[k] = v
	}
	content, _ := note["content"].(string)
	// Keep the mentions (everything up to the last span) and swap the
	// text after them.
	prefix := "<p>"
	if i := strings.LastIndex(content, "</span> "); i >= 0 {
		prefix = content[:i+len("</span> ")]
	}
	out["content"] = prefix + escapeText(text) + "</p>"
	if _, ok := note["contentMap"]; ok {
		out["contentMap"] = map[string]any{"en": out["content"]}
	}
	out["updated"] = time.Now().UTC().Format(time.RFC3339)
	return out
}

func withoutContext(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != "@context" {
			out[k] = v
		}
	}
	return out
}

func mastodonNoteContext() []any {
	return []any{"https://www.w3.org/ns/activitystreams",
		map[string]any{
			"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri", "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
			"conversation": "ostatus:conversation", "sensitive": "as:sensitive", "toot": "http://joinmastodon.org/ns#",
			"votersCount": "toot:votersCount", "Hashtag": "as:Hashtag",
		}}
}

var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

func escapeText(s string) string { return textEscaper.Replace(s) }
