package outbox

import (
	"context"
	"encoding/json"
	"time"

	"github.com/skein-forum/skein/federation"
	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// Forwarding a remote author's own Update or Delete of a reply in a local
// thread (FEP-1b12; ActivityPub 7.1.2, inbox forwarding). The thread's
// followers saw the reply through the thread's Announce; they hear of its
// edit or deletion the same way: the thread announces the activity the
// author sent, embedded as it was received, and the forum announces it to
// its followers on group software. Mastodon ignores an Announce of an
// Update or a Delete; Lemmy, NodeBB and other group software apply it.
//
// Only what the author itself sent is forwarded: the activity is read
// back from the inbox queue, so a moderator's removal of a remote post
// here (the same remote_post.delete event, but no Delete from the author
// on record) sends nothing, and neither does an edit with no Update
// behind it.

const (
	// forwardLookback is how far back an author's activity is looked
	// for: an inbox item may be retried for hours before it applies, and
	// done items are kept a day.
	forwardLookback = 25 * time.Hour
	// forwardScan is how many of the author's latest inbox items are
	// read to find it; it is normally the newest.
	forwardScan = 50
)

// remotePostDeleted: the post's own server speaks for it; the thread
// forwards the author's own Delete to its followers.
func (w *Worker) remotePostDeleted(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	return w.forwardRemoteActivity(ctx, ev, "Delete")
}

// forwardRemoteActivity announces a remote author's Update or Delete
// (typ) of its post in a local thread.
func (w *Worker) forwardRemoteActivity(ctx context.Context, ev storage.OutboxEvent, typ string) ([]storage.NewActivity, error) {
	sc, err := w.load(ctx, ev)
	if err != nil || sc == nil || sc.local() || sc.mirror() || sc.post.APID == nil || sc.thread.DeletedAt != nil {
		return nil, err // mirrors: the remote thread's own group speaks
	}
	if typ == "Update" && sc.post.IsDeleted() {
		return nil, nil // the Delete that followed is forwarded instead
	}
	author := federation.AccountIRI(w.urls, sc.post.Author)
	act, err := w.receivedActivity(ctx, author, typ, *sc.post.APID, ev.CreatedAt)
	if err != nil || act == nil {
		return nil, err
	}
	threadFollowers, _, err := w.followers(ctx, storage.FollowThread, sc.thread.ID, false)
	if err != nil {
		return nil, err
	}
	var b batch
	th := w.threadSender(sc.thread)
	if err := b.add(th, announce(th, th.id+eventFragment("announce", ev), act, author), without(threadFollowers, sc.post.AuthorID)); err != nil {
		return nil, err
	}
	_, groups, err := w.followers(ctx, storage.FollowForum, sc.forum.ID, true)
	if err != nil {
		return nil, err
	}
	fo := w.forumSender(sc.forum)
	err = b.add(fo, announce(fo, fo.id+eventFragment("announce", ev)+"-activity", act, author), without(groups, sc.post.AuthorID))
	return b.acts, err
}

// receivedActivity finds the activity of type typ about object that
// author sent and this node received before the event: the newest of the
// author's inbox items that matches. nil when there is none (a
// moderator's action, or an item pruned since).
func (w *Worker) receivedActivity(ctx context.Context, author, typ, object string, before time.Time) (map[string]any, error) {
	if before.IsZero() {
		before = time.Now()
	}
	items, err := w.store.RecentInboxItems(ctx, author, before.Add(-forwardLookback), before, forwardScan)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		var act map[string]any
		if err := json.Unmarshal([]byte(it.Body), &act); err != nil {
			continue
		}
		if t, _ := act["type"].(string); t != typ || as.ID(act["actor"]) != author || as.ID(act["object"]) != object {
			continue
		}
		if id, _ := act["id"].(string); id == "" || !as.SameHost(id, as.HostOf(author)) {
			continue // an activity nobody can look up again is not forwarded
		}
		return act, nil
	}
	return nil, nil
}
