package outbox_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/skein-forum/skein/federation/internal/testnode"
	"github.com/skein-forum/skein/federation/outbox"
	"github.com/skein-forum/skein/storage"
)

// One pass over many events loads their posts, threads and followers
// together: each event must still send what it sent alone. Remote
// replies in a remotely followed thread are announced by it; those in a
// thread nobody remote follows send nothing; a member's post in the same
// pass goes out as before.
func TestPassSendsWhatEachEventSends(t *testing.T) {
	ctx := context.Background()
	n := testnode.New(t, nil)
	w := &outbox.Worker{Fed: n.Fed}
	followed := n.Fx.Thread
	quiet, _, err := n.Store.CreateThread(ctx, storage.NewThread{ForumID: n.Fx.Forum.ID, AuthorID: n.Fx.Alice.ID,
		Title: "Nobody follows this", Source: "Opening", HTML: "<p>Opening</p>"})
	if err != nil {
		t.Fatal(err)
	}
	masto := n.AddRemoteAccount("mastouser", "masto.example")
	if _, err := n.Store.AddFollow(ctx, masto.ID, storage.FollowThread, followed.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	zed := n.AddRemoteAccount("zed", "bread.example")
	for { // the fixtures' and the new thread's events
		if k, err := w.ProcessPending(ctx); err != nil || k == 0 {
			break
		}
	}
	var nps []storage.NewPost
	for i := range 6 {
		apid := fmt.Sprintf("https://bread.example/users/zed/statuses/%d", i)
		th := followed.ID
		if i%2 == 1 {
			th = quiet.ID
		}
		nps = append(nps, storage.NewPost{ThreadID: th, AuthorID: zed.ID, APID: &apid, Source: "Reply", HTML: "<p>Reply</p>"})
	}
	nps = append(nps, storage.NewPost{ThreadID: quiet.ID, AuthorID: n.Fx.Bob.ID, Source: "Mine", HTML: "<p>Mine</p>"})
	if _, err := n.Store.CreatePosts(ctx, nps); err != nil {
		t.Fatal(err)
	}
	announcesOf := "SELECT count(*) FROM activities WHERE actor_id = ? AND ap_id LIKE '%#announce-%'"
	before := testnode.Count(t, n.Store, announcesOf, n.URLs.Thread(followed.ID))
	if k, err := w.ProcessPending(ctx); err != nil || k != len(nps) {
		t.Fatalf("pass read %d events (%v), want %d", k, err, len(nps))
	}
	announces := -before + testnode.Count(t, n.Store, announcesOf, n.URLs.Thread(followed.ID))
	if announces != 3 {
		t.Errorf("the followed thread announced %d remote replies, want 3", announces)
	}
	if got := testnode.Count(t, n.Store, "SELECT count(*) FROM activities WHERE actor_id = ?", n.URLs.Thread(quiet.ID)); got != 0 {
		t.Errorf("the unfollowed thread sent %d activities", got)
	}
	if got := testnode.Count(t, n.Store, "SELECT count(*) FROM outbox_events WHERE processed_at IS NULL"); got != 0 {
		t.Errorf("%d events left pending", got)
	}
}
