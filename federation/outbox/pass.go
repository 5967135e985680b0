package outbox

import (
	"context"

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
}

type passKey struct{}

// withPass loads what events need in a few queries and returns a context
// carrying it. Events that are not about a post load as before.
func (w *Worker) withPass(ctx context.Context, events []storage.OutboxEvent) (context.Context, error) {
	var postIDs []storage.ID
	for _, ev := range events {
		if ev.PostID != 0 {
			postIDs = append(postIDs, ev.PostID)
		}
	}
	if len(postIDs) < 2 {
		return ctx, nil
	}
	p := &pass{followed: map[string]map[storage.ID]bool{}}
	var err error
	if p.posts, err = w.store.PostsByIDWithoutText(ctx, postIDs); err != nil {
		return ctx, err
	}
	var threadIDs []storage.ID
	seen := map[storage.ID]bool{}
	for _, post := range p.posts {
		if !seen[post.ThreadID] {
			seen[post.ThreadID] = true
			threadIDs = append(threadIDs, post.ThreadID)
		}
	}
	if p.threads, err = w.store.ThreadsByID(ctx, threadIDs); err != nil {
		return ctx, err
	}
	var forumIDs []storage.ID
	seen = map[storage.ID]bool{}
	for _, t := range p.threads {
		if !seen[t.ForumID] {
			seen[t.ForumID] = true
			forumIDs = append(forumIDs, t.ForumID)
		}
	}
	for kind, ids := range map[string][]storage.ID{storage.FollowThread: threadIDs, storage.FollowForum: forumIDs} {
		found, err := w.store.FollowedRemotely(ctx, kind, ids)
		if err != nil {
			return ctx, err
		}
		asked := make(map[storage.ID]bool, len(ids))
		for _, id := range ids {
			asked[id] = found[id]
		}
		p.followed[kind] = asked
	}
	return context.WithValue(ctx, passKey{}, p), nil
}

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
