package outbox

import (
	"context"
	"errors"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// threadDeleted: when a moderator deletes a thread whose first post still
// stands, its Note is deleted as if the author had; the thread's Group
// actor is deleted for its followers. (When the author deleted the first
// post, its own post.delete event sent the Note's Delete.)
func (w *Worker) threadDeleted(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	t, err := w.store.ThreadByID(ctx, ev.ThreadID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil || t.IsMirror() {
		return nil, err
	}
	var out []storage.NewActivity
	if ev.PostID != 0 {
		sc, err := w.load(ctx, ev)
		if err != nil {
			return nil, err
		}
		if sc != nil && sc.local() && !sc.post.IsDeleted() {
			if out, err = w.deleteNote(ctx, sc, t.DeletedAt); err != nil {
				return nil, err
			}
		}
	}
	followers, _, err := w.followers(ctx, storage.FollowThread, t.ID, false)
	if err != nil {
		return nil, err
	}
	th := w.threadSender(t)
	b := batch{acts: out}
	err = b.add(th, &as.Activity{ID: th.id + eventFragment("delete", ev), Type: "Delete", Actor: th.id,
		Published: as.FormatTime(time.Now()), To: []string{as.Public}, Cc: []string{site.Followers(th.id)}, Object: th.id}, followers)
	return b.acts, err
}

// threadMoved: NodeBB's Move of the thread's context from the old forum
// to the new, sent by the new forum to the thread's followers and both
// forums' (group peers included).
func (w *Worker) threadMoved(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	t, err := w.store.ThreadByID(ctx, ev.ThreadID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil || t.IsMirror() || t.DeletedAt != nil {
		return nil, err
	}
	from, err := w.Fed.Forum(ctx, ev.FromForumID)
	if err != nil {
		return nil, err
	}
	into, err := w.store.ForumByID(ctx, ev.ForumID)
	if err != nil {
		return nil, err
	}
	to, _, err := w.followers(ctx, storage.FollowThread, t.ID, false)
	if err != nil {
		return nil, err
	}
	for _, f := range []*storage.Forum{from, into} {
		plain, groups, err := w.followers(ctx, storage.FollowForum, f.ID, true)
		if err != nil {
			return nil, err
		}
		to = append(append(to, plain...), groups...)
	}
	fo := w.forumSender(into)
	thread := w.urls.Thread(t.ID)
	move := &as.Move{Context: as.LDContext(), ID: fo.id + eventFragment("move", ev), Type: "Move", Actor: fo.id,
		To: []string{as.Public}, Cc: []string{site.Followers(fo.id), site.Followers(w.urls.Forum(from.Slug)), site.Followers(thread)},
		Object: as.MovedContext{ID: w.urls.ThreadPosts(t.ID), Type: "OrderedCollection", AttributedTo: thread, Audience: fo.id},
		Origin: w.urls.Forum(from.Slug), Target: fo.id}
	var b batch
	err = b.addDoc(fo, move.ID, move, to)
	return b.acts, err
}
