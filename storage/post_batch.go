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
	res := make([]PostResult, len(nps))
	var todo []int
	summaries := make([]string, len(nps))
	for i := range nps {
		nps[i].APID = canonicalIRIPtr(nps[i].APID)
		err := validateBody(nps[i].Source, nps[i].HTML)
		if err == nil {
			summaries[i], err = cleanSummary(nps[i].Summary)
		}
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
		if err := s.createPostsTx(ctx, tx, hw, nps, summaries, todo, out, now); err != nil {
			return err
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
	stored := make(map[string]*Post)
	if len(apids) > 0 {
		var existing []Post
		if err := tx.NewSelect().Model(&existing).Where("ap_id IN (?)", bun.In(apids)).Scan(ctx); err != nil {
			return fmt.Errorf("look up post ids: %w", err)
		}
		for i := range existing {
			stored[*existing[i].APID] = &existing[i]
		}
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
	withdrawn, err := tombstonedPosts(ctx, tx, freshAPIDs)
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
	threads := make(map[ID]*Thread)
	if len(threadIDs) > 0 {
		var ts []Thread
		if err := tx.NewSelect().Model(&ts).Where("id IN (?)", bun.In(threadIDs)).Scan(ctx); err != nil {
			return fmt.Errorf("look up threads: %w", err)
		}
		for i := range ts {
			threads[ts[i].ID] = &ts[i]
		}
	}
	targetThread := make(map[ID]ID)
	targetAuthor := make(map[ID]ID)
	if len(targetIDs) > 0 {
		var rows []struct {
			ID       ID `bun:"id"`
			ThreadID ID `bun:"thread_id"`
			AuthorID ID `bun:"author_id"`
		}
		if err := tx.NewSelect().Model((*Post)(nil)).Column("id", "thread_id", "author_id").
			Where("id IN (?)", bun.In(targetIDs)).Scan(ctx, &rows); err != nil {
			return fmt.Errorf("check quoted posts: %w", err)
		}
		for _, r := range rows {
			targetThread[r.ID] = r.ThreadID
			targetAuthor[r.ID] = r.AuthorID
		}
	}

	// Place each post: ids in order, positions from the thread counters.
	type threadGroup struct {
		t     *Thread
		posts []*Post
	}
	var groups []*threadGroup
	byThread := make(map[ID]*threadGroup)
	var posts []*Post
	var notices []postNotice
	var postNP []int // the index in nps of each of posts
	for _, i := range fresh {
		np := nps[i]
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
			res[i].Err = fmt.Errorf("create post: %w: the quoted post is not in this thread", ErrInvalid)
			continue
		}
		created := np.CreatedAt
		if created.IsZero() || created.After(now) {
			created = now
		}
		p := &Post{ID: s.NewID(), ThreadID: t.ID, AuthorID: np.AuthorID, Source: np.Source, HTML: np.HTML,
			ReplyToID: np.ReplyToID, QuoteID: np.QuoteID, CreatedAt: created.UTC(), APID: np.APID, URL: np.URL,
			Summary: summaries[i], Sensitive: np.Sensitive || summaries[i] != ""}
		res[i].Post, res[i].Created = p, true
		posts = append(posts, p)
		notices = append(notices, newPostNotice(p, t, targetAuthor, np.Mentions))
		postNP = append(postNP, i)
		g := byThread[t.ID]
		if g == nil {
			g = &threadGroup{t: t}
			byThread[t.ID] = g
			groups = append(groups, g)
		}
		g.posts = append(g.posts, p)
	}
	for _, i := range repeats {
		first := res[firstOf[*nps[i].APID]]
		res[i].Post, res[i].Err = first.Post, first.Err
	}
	if len(posts) == 0 {
		return nil
	}

	bumpTx := hw.stmt(ctx, tx, sqlBumpThread)
	type forumCount struct {
		n    int64
		last ID
	}
	forums := make(map[ID]*forumCount)
	var forumOrder []ID
	authors := make(map[ID]int64)
	var authorOrder []ID
	for _, g := range groups {
		k := int64(len(g.posts))
		last := g.posts[k-1].ID
		var count int64
		if err := bumpTx.QueryRowContext(ctx, k, last, s.timeArg(now), g.t.ID).Scan(&count); err != nil {
			return fmt.Errorf("bump thread: %w", notFoundRow(err))
		}
		for j, p := range g.posts {
			p.Position = count - k + 1 + int64(j)
		}
		fc := forums[g.t.ForumID]
		if fc == nil {
			fc = &forumCount{}
			forums[g.t.ForumID] = fc
			forumOrder = append(forumOrder, g.t.ForumID)
		}
		fc.n += k
		if last > fc.last {
			fc.last = last
		}
		for _, p := range g.posts {
			if _, ok := authors[p.AuthorID]; !ok {
				authorOrder = append(authorOrder, p.AuthorID)
			}
			authors[p.AuthorID]++
		}
	}

	// Who the posts notify, and what of their HTML the forum view leaves
	// out, from one read of the accounts they name.
	if err := watchNotices(ctx, tx, notices); err != nil {
		return err
	}
	accounts, err := loadNotifyAccounts(ctx, tx, noticeAccounts(notices))
	if err != nil {
		return err
	}
	for i := range notices {
		leadingMentions(&notices[i], accounts)
	}
	for k, p := range posts {
		if err := s.insertRow(ctx, tx, hw, hw.post, hw.insertPost, p); err != nil {
			return fmt.Errorf("insert post: %w", err)
		}
		if err := s.attachPostExtras(ctx, tx, p, &nps[postNP[k]], now); err != nil {
			return err
		}
		title := ""
		if p.Position == 1 {
			title = threads[p.ThreadID].Title
		}
		if err := hw.exec(ctx, tx, hw.index, p.ID, title, searchText(p)); err != nil {
			return fmt.Errorf("index post: %w", err)
		}
		ev := &OutboxEvent{ID: s.NewID(), Kind: EventPostCreate, AccountID: p.AuthorID, PostID: p.ID,
			ThreadID: p.ThreadID, ForumID: threads[p.ThreadID].ForumID, CreatedAt: now}
		if err := s.insertRow(ctx, tx, hw, hw.event, hw.insertEvent, ev); err != nil {
			return fmt.Errorf("record %s event: %w", ev.Kind, err)
		}
	}
	for _, id := range forumOrder {
		fc := forums[id]
		if err := hw.exec(ctx, tx, sqlCountForum,
			fc.n, fc.last, s.timeArg(now), id); err != nil {
			return fmt.Errorf("count forum posts: %w", err)
		}
	}
	for _, id := range authorOrder {
		if err := hw.exec(ctx, tx, sqlCountAuthor, authors[id], id); err != nil {
			return fmt.Errorf("count author posts: %w", err)
		}
	}
	ns, err := s.postNotifications(ctx, notices, accounts, now)
	if err != nil {
		return err
	}
	return s.recordNotifications(ctx, tx, hw, ns)
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
