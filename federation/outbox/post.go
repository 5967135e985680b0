package outbox

import (
	"context"
	"time"

	"github.com/skein-forum/skein/federation"
	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// What a post's events send; the package doc has the overview and the id
// scheme. Activities are plain [as.Activity] structs marshalled once per
// activity, like the documents the node serves, with arrays always arrays
// and the @context only at the top level.

// postCreated: Create{Note} from the member to its direct audience; the
// thread announces it to its followers; the forum announces a new
// thread's first post to its followers and every post to group peers. A
// remote author's reply in a local thread is announced by the thread, so
// its followers see the whole conversation.
func (w *Worker) postCreated(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	sc, err := w.load(ctx, ev)
	if err != nil || sc == nil || sc.post.IsDeleted() || sc.thread.DeletedAt != nil {
		return nil, err
	}
	if !sc.local() {
		if sc.mirror() || sc.post.APID == nil {
			return nil, nil // a remote post in a remote thread is not ours to send
		}
		return w.announceRemotePost(ctx, sc)
	}
	note, err := w.note(ctx, sc)
	if err != nil {
		return nil, err
	}
	direct, err := w.directAudience(ctx, sc)
	if err != nil {
		return nil, err
	}
	var b batch
	create := as.CreateActivity(note)
	if err := b.add(w.memberSender(sc.post.Author), create, direct); err != nil {
		return nil, err
	}
	if sc.mirror() {
		return b.acts, nil
	}
	threadFollowers, _, err := w.followers(ctx, storage.FollowThread, sc.thread.ID, false)
	if err != nil {
		return nil, err
	}
	th := w.threadSender(sc.thread)
	if err := b.add(th, announce(th, federation.AnnounceID(th.id, sc.post.ID), note, note.AttributedTo), threadFollowers); err != nil {
		return nil, err
	}
	forumFollowers, groups, err := w.followers(ctx, storage.FollowForum, sc.forum.ID, true)
	if err != nil {
		return nil, err
	}
	fo := w.forumSender(sc.forum)
	if sc.isFirst() {
		// Only a new thread's first post: Mastodon's maintainers ask
		// forums not to boost every comment.
		if err := b.add(fo, announce(fo, federation.AnnounceID(fo.id, sc.post.ID), note, note.AttributedTo), forumFollowers); err != nil {
			return nil, err
		}
	}
	// FEP-1b12: the group announces the activity itself, unchanged.
	err = b.add(fo, announce(fo, federation.AnnounceID(fo.id, sc.post.ID)+"-activity", create, ""), groups)
	return b.acts, err
}

// announceRemotePost: the thread boosts a remote reply (by id: the
// author's server speaks for it) to the thread's followers, and the forum
// to its group peers.
func (w *Worker) announceRemotePost(ctx context.Context, sc *scene) ([]storage.NewActivity, error) {
	noteID, author := *sc.post.APID, federation.AccountIRI(w.urls, sc.post.Author)
	threadFollowers, _, err := w.followers(ctx, storage.FollowThread, sc.thread.ID, false)
	if err != nil {
		return nil, err
	}
	threadFollowers = without(threadFollowers, sc.post.AuthorID)
	var b batch
	th := w.threadSender(sc.thread)
	if err := b.add(th, announce(th, federation.AnnounceID(th.id, sc.post.ID), noteID, author), threadFollowers); err != nil {
		return nil, err
	}
	_, groups, err := w.followers(ctx, storage.FollowForum, sc.forum.ID, true)
	if err != nil {
		return nil, err
	}
	fo := w.forumSender(sc.forum)
	err = b.add(fo, announce(fo, federation.AnnounceID(fo.id, sc.post.ID), noteID, author), without(groups, sc.post.AuthorID))
	return b.acts, err
}

// postUpdated: Update{Note} from the member to everyone who was sent the
// post; group peers get it announced by the forum. A remote author's edit
// of its reply in a local thread is forwarded ([Worker.forwardRemoteActivity]).
func (w *Worker) postUpdated(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	sc, err := w.load(ctx, ev)
	if err != nil || sc == nil || sc.post.IsDeleted() || sc.thread.DeletedAt != nil {
		return nil, err
	}
	if !sc.local() {
		return w.forwardRemoteActivity(ctx, ev, "Update")
	}
	note, err := w.note(ctx, sc)
	if err != nil {
		return nil, err
	}
	published := note.Updated
	if published == "" {
		published = as.FormatTime(time.Now())
	}
	update := &as.Activity{ID: note.ID + eventFragment("update", ev), Type: "Update", Actor: note.AttributedTo,
		Published: published, To: note.To, Cc: note.Cc, Object: note}
	return w.sendToAudience(ctx, sc, update)
}

// postDeleted: Delete{Tombstone} from the member to everyone who was sent
// the post; group peers get it announced by the forum.
func (w *Worker) postDeleted(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	sc, err := w.load(ctx, ev)
	if err != nil || sc == nil || !sc.local() {
		return nil, err
	}
	return w.deleteNote(ctx, sc, nil)
}

func (w *Worker) deleteNote(ctx context.Context, sc *scene, deleted *time.Time) ([]storage.NewActivity, error) {
	ts := federation.TombstoneFor(w.urls, sc.post)
	if ts.Deleted == "" && deleted != nil {
		ts.Deleted = as.FormatTime(*deleted)
	}
	actor := federation.AccountIRI(w.urls, sc.post.Author)
	del := &as.Activity{ID: ts.ID + eventFragment("delete", sc.ev), Type: "Delete", Actor: actor,
		Published: as.FormatTime(time.Now()), To: []string{as.Public}, Cc: []string{site.Followers(actor)}, Object: ts}
	return w.sendToAudience(ctx, sc, del)
}

// sendToAudience sends a member's Update or Delete to the direct
// audience, the thread's followers and (for a first post) the forum's,
// and has the forum announce it to group peers.
func (w *Worker) sendToAudience(ctx context.Context, sc *scene, act *as.Activity) ([]storage.NewActivity, error) {
	to, err := w.directAudience(ctx, sc)
	if err != nil {
		return nil, err
	}
	var groups []storage.Recipient
	if !sc.mirror() {
		threadFollowers, _, err := w.followers(ctx, storage.FollowThread, sc.thread.ID, false)
		if err != nil {
			return nil, err
		}
		to = append(to, threadFollowers...)
		var forumFollowers []storage.Recipient
		forumFollowers, groups, err = w.followers(ctx, storage.FollowForum, sc.forum.ID, true)
		if err != nil {
			return nil, err
		}
		if sc.isFirst() {
			to = append(to, forumFollowers...)
		}
	}
	var b batch
	if err := b.add(w.memberSender(sc.post.Author), act, to); err != nil {
		return nil, err
	}
	fo := w.forumSender(sc.forum)
	err = b.add(fo, announce(fo, fo.id+eventFragment("announce", sc.ev)+"-activity", act, ""), groups)
	return b.acts, err
}

// note builds the Note of a scene's post.
func (w *Worker) note(ctx context.Context, sc *scene) (*as.Note, error) {
	// The same Note as /p/ID serves, replies included.
	return w.Fed.PostNote(ctx, sc.post, sc.thread, sc.forum, sc.owner, true)
}
