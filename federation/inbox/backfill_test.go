package inbox_test

import (
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/internal/testnode"
)

// A reply delivered moments after it was written is stored without a
// fetch of its replies collection (it has none yet; see freshNote), while
// an older one is backfilled (TestInboxBackfillsReplies).
func TestInboxFreshNoteIsNotBackfilled(t *testing.T) {
	n := testnode.NewInboxNode(t, nil)
	rs := testnode.NewRemoteServer(t, "mastodon")
	zed := rs.Actor("zed", "Person", 0)
	third := testnode.NewRemoteServer(t, "gotosocial")
	yan := third.Actor("yan", "Person", 1)

	note := zed.Note(n.URLs.Post(n.Fx.Posts[0].ID), "<p>Try a warmer spot.</p>")
	note["published"] = time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	answer := yan.Note(note["id"].(string), "<p>The oven with the light on works.</p>")
	third.Put(strings.TrimPrefix(answer["id"].(string), third.Srv.URL), answer)
	replies := note["replies"].(map[string]any)
	rs.Put(strings.TrimPrefix(replies["id"].(string), rs.Srv.URL), map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": replies["id"], "type": "Collection",
		"first": map[string]any{"type": "CollectionPage", "partOf": replies["id"], "items": []any{answer["id"]}},
	})
	n.Deliver(t, zed, zed.Create(note))
	n.Settle(t)
	n.StoredPost(t, note["id"].(string))
	if p, err := n.Store.PostByAPID(t.Context(), answer["id"].(string)); err == nil {
		t.Fatalf("the replies of a fresh note were fetched: %s stored", p.ID)
	}
}
