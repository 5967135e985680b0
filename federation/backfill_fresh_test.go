package federation_test

import (
	"strings"
	"testing"
	"time"
)

// A reply delivered moments after it was written is stored without a
// fetch of its replies collection (it has none yet; see freshNote), while
// an older one is backfilled (TestInboxBackfillsReplies).
func TestInboxFreshNoteIsNotBackfilled(t *testing.T) {
	n := newInboxNode(t, nil)
	rs := newRemoteServer(t, "mastodon")
	zed := rs.actor("zed", "Person", 0)
	third := newRemoteServer(t, "gotosocial")
	yan := third.actor("yan", "Person", 1)

	note := zed.note(n.urls.Post(n.fx.Posts[0].ID), "<p>Try a warmer spot.</p>")
	note["published"] = time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	answer := yan.note(note["id"].(string), "<p>The oven with the light on works.</p>")
	third.put(strings.TrimPrefix(answer["id"].(string), third.srv.URL), answer)
	replies := note["replies"].(map[string]any)
	rs.put(strings.TrimPrefix(replies["id"].(string), rs.srv.URL), map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": replies["id"], "type": "Collection",
		"first": map[string]any{"type": "CollectionPage", "partOf": replies["id"], "items": []any{answer["id"]}},
	})
	n.deliver(t, zed, zed.create(note))
	n.settle(t)
	n.post(t, note["id"].(string))
	if p, err := n.store.PostByAPID(t.Context(), answer["id"].(string)); err == nil {
		t.Fatalf("the replies of a fresh note were fetched: %s stored", p.ID)
	}
}
