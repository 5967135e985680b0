package outbox

import (
	"context"
	"errors"

	"github.com/skein-forum/skein/storage"
)

// pass holds what one pass over pending events loaded, so that a hundred
// events about the same few threads cost one query each for their
// posts, their threads and whether anyone remote follows those, instead
// of a query of each kind per event: remote replies arrive in bursts,
// and each one is an event. It is a snapshot taken as the pass starts,
// as the loads of one event are a snapshot taken as it is built.
type pass struct {
	posts    map[storage.ID]*storage.Post // without their text: see post
	threads  map[storage.ID]*storage.Thread
	followed map[string]map[storage.ID]bool // by follow kind and target: whether anyone remote follows it
	quiet    map[storage.ID]bool            // events that send nothing: see withPass
}

type passKey struct{}

// withPass loads what events need in a few queries and returns a context
// carrying it. Events that are not about a post load as before.
//
// Whether anyone remote follows the events' threads and forums is asked
// first, from the ids the events carry: a remote author's new post in a
// thread and forum nobody remote follows sends nothing (see
// [Worker.announceRemotePost]), and such events, most of what a busy
// inbox causes, are completed without their posts being read.
func (w *Worker) withPass(ctx context.Context, events []storage.OutboxEvent) (context.Context, error) {
	var postEvents []storage.OutboxEvent
	for _, ev := range events {
		if ev.PostID != 0 {
			postEvents = append(postEvents, ev)
		}
	}
	if len(postEvents) < 2 {
		return ctx, nil
	}
	p := &pass{followed: map[string]map[storage.ID]bool{}, quiet: map[storage.ID]bool{}}
	// Threads and forums are told apart by kind, not by id: one map for
	// both would skip a forum whose id a thread of the pass carries.
	var threadIDs, forumIDs []storage.ID
	seenThread, seenForum := map[storage.ID]bool{}, map[storage.ID]bool{}
	for _, ev := range postEvents {
		if ev.ThreadID != 0 && !seenThread[ev.ThreadID] {
			seenThread[ev.ThreadID] = true
			threadIDs = append(threadIDs, ev.ThreadID)
		}
		if ev.ForumID != 0 && !seenForum[ev.ForumID] {
			seenForum[ev.ForumID] = true
			forumIDs = append(forumIDs, ev.ForumID)
		}
	}
	if err := p.askFollowed(ctx, w.store, threadIDs, forumIDs); err != nil {
		return ctx, err
	}
	var postIDs []storage.ID
	for _, ev := range postEvents {
		if ev.Kind == storage.EventPostCreate && ev.ThreadID != 0 && ev.ForumID != 0 &&
			p.unfollowed(storage.FollowThread, ev.ThreadID) && p.unfollowed(storage.FollowForum, ev.ForumID) {
			remote, err := w.remoteAuthor(ctx, ev.AccountID)
			if err != nil {
				return ctx, err
			}
			if remote {
				p.quiet[ev.ID] = true
				continue
			}
		}
		postIDs = append(postIDs, ev.PostID)
	}
	if len(postIDs) == 0 {
		return context.WithValue(ctx, passKey{}, p), nil
	}
	var err error
	if p.posts, err = w.store.PostsByIDWithoutText(ctx, postIDs); err != nil {
		return ctx, err
	}
	threadIDs = threadIDs[:0]
	forumIDs = forumIDs[:0]
	clear(seenThread)
	clear(seenForum)
	for _, post := range p.posts {
		if !seenThread[post.ThreadID] {
			seenThread[post.ThreadID] = true
			threadIDs = append(threadIDs, post.ThreadID)
		}
	}
	if p.threads, err = w.store.ThreadsByID(ctx, threadIDs); err != nil {
		return ctx, err
	}
	for _, t := range p.threads {
		if !seenForum[t.ForumID] {
			seenForum[t.ForumID] = true
			forumIDs = append(forumIDs, t.ForumID)
		}
	}
	// Events written before they carried their thread and forum, and
	// threads moved since: ask about what the posts say.
	if err := p.askFollowed(ctx, w.store, threadIDs, forumIDs); err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, passKey{}, p), nil
}

// askFollowed records whether anyone remote follows the threads and
// forums not asked about yet.
func (p *pass) askFollowed(ctx context.Context, store *storage.Store, threadIDs, forumIDs []storage.ID) error {
	for kind, ids := range map[string][]storage.ID{storage.FollowThread: threadIDs, storage.FollowForum: forumIDs} {
		asked := p.followed[kind]
		if asked == nil {
			asked = make(map[storage.ID]bool, len(ids))
			p.followed[kind] = asked
		}
		var todo []storage.ID
		for _, id := range ids {
			if _, ok := asked[id]; !ok {
				todo = append(todo, id)
			}
		}
		if len(todo) == 0 {
			continue
		}
		found, err := store.FollowedRemotely(ctx, kind, todo)
		if err != nil {
			return err
		}
		for _, id := range todo {
			asked[id] = found[id]
		}
	}
	return nil
}

// remoteAuthor reports whether account id is a remote actor's, which
// never changes: it is remembered.
func (w *Worker) remoteAuthor(ctx context.Context, id storage.ID) (bool, error) {
	if remote, ok := w.remote[id]; ok {
		return remote, nil
	}
	a, err := w.store.AccountByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil // the post's own load finds out
	}
	if err != nil {
		return false, err
	}
	if len(w.remote) >= maxRemembered {
		clear(w.remote)
	}
	w.remote[id] = !a.IsLocal()
	return !a.IsLocal(), nil
}

// maxRemembered bounds the authors whose locality a worker remembers.
const maxRemembered = 10000

func passOf(ctx context.Context) *pass {
	p, _ := ctx.Value(passKey{}).(*pass)
	return p
}

// post is the event's post from the pass, if it loaded it and the post
// is a remote author's: the pass reads no text, and only a member's own
// posts are sent with theirs (the worker loads those whole).
func (p *pass) post(id storage.ID) (*storage.Post, bool) {
	if p == nil {
		return nil, false
	}
	post, ok := p.posts[id]
	if !ok || post.Author == nil || post.Author.IsLocal() {
		return nil, false
	}
	return post, true
}

// thread is a thread the pass loaded.
func (p *pass) thread(id storage.ID) (*storage.Thread, bool) {
	if p == nil {
		return nil, false
	}
	t, ok := p.threads[id]
	return t, ok
}

// unfollowed reports that the pass asked about the target and found no
// remote follower.
func (p *pass) unfollowed(kind string, id storage.ID) bool {
	if p == nil {
		return false
	}
	followed, asked := p.followed[kind][id]
	return asked && !followed
}

// isQuiet reports whether the pass found that ev sends nothing.
func (p *pass) isQuiet(ev storage.OutboxEvent) bool { return p != nil && p.quiet[ev.ID] }
