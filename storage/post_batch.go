package storage

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"
)

// PostResult is what CreatePosts did with one NewPost.
type PostResult struct {
	// Post is the stored post: new, or the one already stored with the
	// same APID (remote delivery is at-least-once). Nil when Err is set.
	Post *Post
	// Err refuses this post alone: ErrInvalid (empty, too long, a reply
	// to a post of another thread), ErrNotFound (no such thread, or it
	// is deleted) or ErrLocked.
	Err error
	// Created reports whether this call stored Post.
	Created bool
}

// CreatePosts is CreatePost for many posts in one transaction, what the
// inbox worker uses to store the replies that arrive together: SQLite has
// one writer, and a transaction per post (with its commit) was most of
// the cost of storing a remote reply. Every invariant of CreatePost holds
// for each post: positions are taken in order from the thread's counter,
// thread, forum and author counters and the thread and forum versions
// move, the post is indexed for search and a post.create outbox event is
// written. Posts whose APID is stored already, or repeated earlier in
// nps, are not stored again; their result is the stored post.
//
// A refusal of one post (see PostResult.Err) does not stop the others;
// an error returned means the transaction failed and nothing was stored.
func (s *Store) CreatePosts(ctx context.Context, nps []NewPost) ([]PostResult, error) {
	return s.createPosts(ctx, nps, nil)
}

// postsHook runs in the transaction of createPosts with the posts'
// results so far.
type postsHook func(ctx context.Context, tx bun.Tx, hw *hotWrites, res []PostResult) error

// createPosts is CreatePosts with a hook in its transaction (the inbox
// refuses the activities the queue has seen: [Store.CreateInboxPosts]).
// before, when not nil, runs before the posts are placed; a post it gives
// an Err is left out.
func (s *Store) createPosts(ctx context.Context, nps []NewPost, before postsHook) ([]PostResult, error) {
	res := make([]PostResult, len(nps))
	var todo []int
	summaries := make([]string, len(nps))
	for i := range nps {
		nps[i].APID = canonicalIRIPtr(nps[i].APID)
		var err error
		summaries[i], err = nps[i].checkedText()
		if err != nil {
			res[i].Err = fmt.Errorf("create post: %w", err)
			continue
		}
		if err := validateAttachments(nps[i].Media); err != nil {
			res[i].Err = fmt.Errorf("create post: %w", err)
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return res, nil
	}
	hw, err := s.hotWrites(ctx)
	if err != nil {
		return nil, fmt.Errorf("create post: %w", err)
	}
	now := time.Now().UTC()
	err = s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		out := make([]PostResult, len(nps))
		copy(out, res)
		todo := todo
		if before != nil {
			if err := before(ctx, tx, hw, out); err != nil {
				return err
			}
			todo = slices.DeleteFunc(slices.Clone(todo), func(i int) bool { return out[i].Err != nil })
		}
		if len(todo) > 0 {
			if err := s.createPostsTx(ctx, tx, hw, nps, summaries, todo, out, now); err != nil {
				return err
			}
		}
		res = out
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create post: %w", err)
	}
	return res, nil
}

func (s *Store) createPostsTx(ctx context.Context, tx bun.Tx, hw *hotWrites, nps []NewPost, summaries []string, todo []int, res []PostResult, now time.Time) error {
	// Repeats: stored before, or earlier in this batch.
	firstOf := make(map[string]int) // APID -> index of its first NewPost
	var apids []string
	for _, i := range todo {
		if a := nps[i].APID; a != nil {
			if _, ok := firstOf[*a]; !ok {
				firstOf[*a] = i
				apids = append(apids, *a)
			}
		}
	}
	stored, err := s.storedPosts(ctx, tx, hw, apids)
	if err != nil {
		return err
	}
	var fresh, repeats []int
	for _, i := range todo {
		if tok := nps[i].FormToken; tok != "" {
			prior, err := claimFormToken(ctx, tx, tok, nps[i].AuthorID, formBodyHash(nps[i].Source), now)
			if err != nil {
				return err
			}
			if prior != 0 {
				p := new(Post)
				if err := tx.NewSelect().Model(p).Where("id = ?", prior).Scan(ctx); err != nil {
					return fmt.Errorf("post of a form sent again: %w", err)
				}
				res[i].Post = p
				continue
			}
		}
		if a := nps[i].APID; a != nil {
			if p := stored[*a]; p != nil {
				res[i].Post = p
				continue
			}
			if firstOf[*a] != i {
				repeats = append(repeats, i)
				continue
			}
		}
		fresh = append(fresh, i)
	}

	// Posts their authors deleted before they arrived (tombstone.go).
	var freshAPIDs []string
	for _, i := range fresh {
		if a := nps[i].APID; a != nil {
			freshAPIDs = append(freshAPIDs, *a)
		}
	}
	withdrawn, err := tombstonedPosts(ctx, tx, hw, freshAPIDs)
	if err != nil {
		return err
	}
	fresh = slices.DeleteFunc(fresh, func(i int) bool {
		if a := nps[i].APID; a != nil && slices.Contains(withdrawn[*a], nps[i].AuthorID) {
			res[i].Err = fmt.Errorf("create post %s: %w", *a, ErrWithdrawn)
			return true
		}
		return false
	})

	// Threads, and the posts replied to or quoted.
	threadIDs := make([]ID, 0, len(fresh))
	var targetIDs []ID
	for _, i := range fresh {
		threadIDs = append(threadIDs, nps[i].ThreadID)
		for _, t := range []*ID{nps[i].ReplyToID, nps[i].QuoteID} {
			if t != nil {
				targetIDs = append(targetIDs, *t)
			}
		}
	}
	threads, err := threadsByID(ctx, tx, hw, threadIDs)
	if err != nil {
		return err
	}
	targetThread, targetAuthor, err := replyTargets(ctx, tx, hw, targetIDs)
	if err != nil {
		return err
	}

	// Place each post: ids in order, positions from the thread counters.
	var placed []placedPost
	for _, i := range fresh {
		np := &nps[i]
		t := threads[np.ThreadID]
		switch {
		case t == nil || t.DeletedAt != nil:
			res[i].Err = fmt.Errorf("create post: thread %s: %w", np.ThreadID, ErrNotFound)
			continue
		case t.Locked:
			res[i].Err = fmt.Errorf("create post: thread %s: %w", t.ID, ErrLocked)
			continue
		}
		bad := false
		for _, target := range []*ID{np.ReplyToID, np.QuoteID} {
			if target != nil && targetThread[*target] != t.ID {
				bad = true
			}
		}
		if bad {
			res[i].Err = fmt.Errorf("create post: %w", invalid("quote", "the quoted post is not in this thread"))
			continue
		}
		p := s.newPostRow(t, np, summaries[i], now)
		res[i].Post, res[i].Created = p, true
		notice := newPostNotice(p, t, targetAuthor, np.Mentions)
		notice.leading = np.leadingOf()
		placed = append(placed, placedPost{post: p, thread: t, np: np, notice: notice})
	}
	for _, i := range repeats {
		first := res[firstOf[*nps[i].APID]]
		res[i].Post, res[i].Err = first.Post, first.Err
	}
	if len(placed) == 0 {
		return nil
	}
	return s.appendPosts(ctx, tx, hw, placed, true, now)
}

// newPostRow is the row of np in thread t, with a new id; its position
// comes when it is stored. A remote post keeps the time it claims unless
// that is in the future.
func (s *Store) newPostRow(t *Thread, np *NewPost, summary string, now time.Time) *Post {
	created := np.CreatedAt
	if created.IsZero() || created.After(now) {
		created = now
	}
	return &Post{ID: s.NewID(), ThreadID: t.ID, AuthorID: np.AuthorID, Source: np.Source, HTML: np.HTML,
		ReplyToID: np.ReplyToID, QuoteID: np.QuoteID, CreatedAt: created.UTC(), APID: np.APID, URL: np.URL,
		Summary: summary, Sensitive: np.Sensitive || summary != ""}
}

// newPostNotice is what post p in thread t may tell members: a reply to
// the post it answers (without one, to the thread's author), a quote,
// its mentions. targetAuthor maps posts replied to or quoted to their
// authors.
func newPostNotice(p *Post, t *Thread, targetAuthor map[ID]ID, mentions []ID) postNotice {
	n := postNotice{post: p, repliedTo: t.AuthorID, threadReply: true, mentions: mentions}
	if p.ReplyToID != nil {
		n.threadReply = false
		n.repliedTo = targetAuthor[*p.ReplyToID]
	}
	if p.QuoteID != nil {
		n.quoted = targetAuthor[*p.QuoteID]
	}
	return n
}

// attachPostExtras gives post p, just inserted in tx, what np brings
// besides its text: attachments, and the record of the form that sent it.
func (s *Store) attachPostExtras(ctx context.Context, tx bun.Tx, p *Post, np *NewPost, now time.Time) error {
	if len(np.Media) > 0 {
		if err := attachUploads(ctx, tx, p, np.Media); err != nil {
			return err
		}
	}
	if len(np.RemoteMedia) > 0 {
		if err := s.insertRemoteMedia(ctx, tx, p, np.RemoteMedia, now); err != nil {
			return err
		}
	}
	if np.APID == nil {
		if err := s.autoWatch(ctx, tx, p.AuthorID, p.ThreadID, now); err != nil {
			return err
		}
	}
	return recordFormPost(ctx, tx, np.FormToken, p.AuthorID, p.ID)
}

// insertRow inserts the model strct points to with the prepared query.
func (s *Store) insertRow(ctx context.Context, tx bun.Tx, hw *hotWrites, t *schema.Table, query string, strct any) error {
	args, err := s.rowArgs(t, strct)
	if err != nil {
		return err
	}
	return hw.exec(ctx, tx, query, args...)
}

// notFoundRow maps sql.ErrNoRows of a single-row statement to ErrNotFound.
func notFoundRow(err error) error {
	if err == sql.ErrNoRows {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
