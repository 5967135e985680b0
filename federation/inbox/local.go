package inbox

import (
	"context"
	"errors"
	"strings"

	"github.com/skein-forum/skein/storage"
)

// localPath splits a local URL's path "/x/name[/...]" into "x" and
// "name"; both are "" for anything not on this node.
func localPath(in *Inbox, iri string) (prefix, name string) {
	path, ok := in.urls.Path(iri)
	if !ok {
		return "", ""
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	prefix, rest, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	name, _, _ = strings.Cut(rest, "/")
	return prefix, name
}

// localThread loads a live local thread (not a mirror) by its public id.
func (in *Inbox) localThread(ctx context.Context, name string) (*storage.Thread, error) {
	t, err := in.ownThread(ctx, name)
	if err != nil {
		return nil, err
	}
	if t.DeletedAt != nil {
		return nil, ignore("thread %s is deleted", t.ID)
	}
	return t, nil
}

// ownThread loads a thread of this node (not a mirror of a remote one),
// deleted or not, by its public id.
func (in *Inbox) ownThread(ctx context.Context, name string) (*storage.Thread, error) {
	id, err := storage.ParseID(name)
	if err != nil {
		return nil, ignore("bad thread id %q", name)
	}
	t, err := in.store.ThreadByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.IsMirror() {
		return nil, ignore("thread %s mirrors a remote one", id)
	}
	return t, nil
}

// localPost loads a live post by its local URL (/p/{id}).
func (in *Inbox) localPost(ctx context.Context, iri string) (*storage.Post, error) {
	prefix, name := localPath(in, iri)
	if prefix != "p" {
		return nil, ignore("%s is not a local post", iri)
	}
	id, err := storage.ParseID(name)
	if err != nil {
		return nil, ignore("bad post id %q", name)
	}
	p, err := in.store.PostByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.IsDeleted() {
		return nil, ignore("post %s is deleted", id)
	}
	return p, nil
}

// postByIRI finds a post here by its ActivityPub id, local or remote; nil
// when there is none.
func (in *Inbox) postByIRI(ctx context.Context, iri string) (*storage.Post, error) {
	var p *storage.Post
	var err error
	if prefix, _ := localPath(in, iri); prefix != "" {
		p, err = in.localPost(ctx, iri)
	} else {
		p, err = in.store.PostByAPID(ctx, iri)
	}
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, errIgnored) {
		return nil, nil
	}
	return p, err
}

// replyTarget is what [Inbox.postByIRI] would find, reduced to the post's
// id and thread: every reply asks, and for a local post the thread is all
// it needs, so the post itself is not read.
func (in *Inbox) replyTarget(ctx context.Context, iri string) (postID, threadID storage.ID, ok bool, err error) {
	if prefix, name := localPath(in, iri); prefix != "" {
		id, perr := storage.ParseID(name)
		if prefix != "p" || perr != nil {
			return 0, 0, false, nil
		}
		threadID, err = in.livePostThread(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			return 0, 0, false, nil
		}
		return id, threadID, err == nil, err
	}
	p, err := in.postByIRI(ctx, iri)
	if err != nil || p == nil {
		return 0, 0, false, err
	}
	return p.ID, p.ThreadID, true, nil
}

// threadByIRI finds a thread by a local thread URL (the Group or its posts
// collection) or a mirror by its remote id; nil when there is none.
func (in *Inbox) threadByIRI(ctx context.Context, iri string) (*storage.Thread, error) {
	var t *storage.Thread
	var err error
	if prefix, name := localPath(in, iri); prefix == "t" {
		t, err = in.localThread(ctx, name)
	} else if prefix == "" {
		t, err = in.store.ThreadByAPID(ctx, iri)
	} else {
		return nil, nil
	}
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, errIgnored) {
		return nil, nil
	}
	return t, err
}

// postIn is the post iri names if it is in thread threadID, else nil.
func (in *Inbox) postIn(ctx context.Context, iri string, threadID storage.ID) *storage.Post {
	if iri == "" {
		return nil
	}
	p, err := in.postByIRI(ctx, iri)
	if err != nil || p == nil || p.ThreadID != threadID {
		return nil
	}
	return p
}
