package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Every post is stored by one of two writers, and both move the counters
// through [postTally]: [Store.appendPosts] for the posts members and
// remote servers write (CreatePost, CreatePosts, CreateThread and
// MirrorThread all end there), and the seeder, which writes its rows in
// large multi-row batches for speed and applies its tally at the end.

// postTally is what new posts add to the counters of their threads,
// forums and authors: post counts, last posts and versions. Each kind is
// kept in the order first seen, so that concurrent writers take the rows'
// locks in a consistent order.
type postTally struct {
	threads, forums []*tallyRow
	byThread        map[ID]*tallyRow
	byForum         map[ID]*tallyRow
	authorOrder     []ID
	authors         map[ID]int64
}

// tallyRow is one thread's or forum's share of a tally.
type tallyRow struct {
	id     ID
	n      int64
	last   ID
	lastAt time.Time
	posts  []*Post // a thread's new posts, in order; their positions follow its count
}

func newPostTally() *postTally {
	return &postTally{byThread: map[ID]*tallyRow{}, byForum: map[ID]*tallyRow{}, authors: map[ID]int64{}}
}

// add counts post p of thread t, written at at (the time the thread and
// forum show as their last activity); [Store.countThreads] gives p its
// position.
func (pt *postTally) add(p *Post, t *Thread, at time.Time) {
	tr := pt.count(p.ID, p.AuthorID, t, at)
	tr.posts = append(tr.posts, p)
}

// count counts a post by its ids alone, for a writer that places its
// posts itself (the seeder, which must not hold every post it writes).
func (pt *postTally) count(postID, authorID ID, t *Thread, at time.Time) *tallyRow {
	tr := tallyOf(pt.byThread, &pt.threads, t.ID)
	tr.n++
	tr.last, tr.lastAt = postID, at
	fr := tallyOf(pt.byForum, &pt.forums, t.ForumID)
	fr.n++
	if postID > fr.last {
		fr.last, fr.lastAt = postID, at
	}
	if _, ok := pt.authors[authorID]; !ok {
		pt.authorOrder = append(pt.authorOrder, authorID)
	}
	pt.authors[authorID]++
	return tr
}

// tallyOf is id's row in rows, added to order when new.
func tallyOf(rows map[ID]*tallyRow, order *[]*tallyRow, id ID) *tallyRow {
	r := rows[id]
	if r == nil {
		r = &tallyRow{id: id}
		rows[id] = r
		*order = append(*order, r)
	}
	return r
}

// countThreads moves the threads' post counts, last posts and versions
// and gives each new post its position, the next of its thread's counter.
// It runs before the posts are inserted: on PostgreSQL the thread row's
// lock serialises concurrent writers to one thread, and SQLite has one
// writer anyway.
func (s *Store) countThreads(ctx context.Context, tx bun.Tx, hw *hotWrites, pt *postTally) error {
	bump, read := hw.stmt(ctx, tx, sqlBumpThread), hw.stmt(ctx, tx, sqlThreadCount)
	for _, tr := range pt.threads {
		if _, err := bump.ExecContext(ctx, tr.n, tr.last, s.timeArg(tr.lastAt), tr.id); err != nil {
			return fmt.Errorf("bump thread: %w", err)
		}
		var count int64
		if err := read.QueryRowContext(ctx, tr.id).Scan(&count); err != nil {
			return fmt.Errorf("bump thread: %w", notFoundRow(err))
		}
		for j, p := range tr.posts {
			p.Position = count - tr.n + 1 + int64(j)
		}
	}
	return nil
}

// countForumsAndAuthors moves the forums' post counts, last posts and
// versions and the authors' post counts.
func (s *Store) countForumsAndAuthors(ctx context.Context, tx bun.Tx, hw *hotWrites, pt *postTally) error {
	for _, fr := range pt.forums {
		if err := hw.exec(ctx, tx, sqlCountForum, fr.n, fr.last, s.timeArg(fr.lastAt), fr.id); err != nil {
			return fmt.Errorf("count forum posts: %w", err)
		}
	}
	for _, id := range pt.authorOrder {
		if err := hw.exec(ctx, tx, sqlCountAuthor, pt.authors[id], id); err != nil {
			return fmt.Errorf("count author posts: %w", err)
		}
	}
	return nil
}

// placedPost is a new post ready to store: its thread, the NewPost it
// came from and what it may tell members.
type placedPost struct {
	post   *Post
	thread *Thread
	np     *NewPost
	notice postNotice
}

// appendPosts stores posts placed in their threads, inside tx: their
// positions and every counter (see [postTally]), the rows, what each
// brings besides its text (attachments, the form that sent it), search
// documents, notifications and, when events is set, a post.create outbox
// event each (a thread's opening post is federated by the thread.create
// event instead, and a mirror's by nobody).
func (s *Store) appendPosts(ctx context.Context, tx bun.Tx, hw *hotWrites, placed []placedPost, events bool, now time.Time) error {
	pt := newPostTally()
	notices := make([]postNotice, len(placed))
	for i, pp := range placed {
		pt.add(pp.post, pp.thread, now)
		notices[i] = pp.notice
	}
	if err := s.countThreads(ctx, tx, hw, pt); err != nil {
		return err
	}
	// Who the posts notify, and what of their HTML the forum view leaves
	// out, from one read of the accounts they name.
	if err := watchNotices(ctx, tx, hw, notices); err != nil {
		return err
	}
	accounts, err := notifyAccountsOf(ctx, tx, hw, noticeAccounts(notices))
	if err != nil {
		return err
	}
	for i := range notices {
		leadingMentions(&notices[i], accounts)
	}
	var unsent []bool
	if events {
		if unsent, err = unannounced(ctx, tx, hw, placed); err != nil {
			return err
		}
	}
	for i, pp := range placed {
		p := pp.post
		if err := s.insertRow(ctx, tx, hw, hw.post, hw.insertPost, p); err != nil {
			return fmt.Errorf("insert post: %w", err)
		}
		if err := s.attachPostExtras(ctx, tx, p, pp.np, now); err != nil {
			return err
		}
		if err := s.indexNewPost(ctx, tx, hw, &pp); err != nil {
			return err
		}
		if !events || unsent[i] {
			continue
		}
		ev := &OutboxEvent{ID: s.NewID(), Kind: EventPostCreate, AccountID: p.AuthorID, PostID: p.ID,
			ThreadID: p.ThreadID, ForumID: pp.thread.ForumID, CreatedAt: now}
		if err := s.insertRow(ctx, tx, hw, hw.event, hw.insertEvent, ev); err != nil {
			return fmt.Errorf("record %s event: %w", ev.Kind, err)
		}
	}
	if err := s.countForumsAndAuthors(ctx, tx, hw, pt); err != nil {
		return err
	}
	ns, err := s.postNotifications(ctx, notices, accounts, now)
	if err != nil {
		return err
	}
	return s.recordNotifications(ctx, tx, hw, ns)
}

// unannounced reports which of the placed posts would cause no delivery:
// a remote author's reply in a thread and a forum that no remote actor
// follows. The outbox would read such a post's event only to find that
// (its pass marks it quiet), so none is written: the insert, the outbox's
// reads and the write that marks the event processed were a tenth of the
// work of storing a remote reply. The author's own server has the post,
// and local readers see it on the page. A follow that arrives after the
// post's commit gets later posts, as it would had it arrived before the
// event was read.
func unannounced(ctx context.Context, tx bun.Tx, hw *hotWrites, placed []placedPost) ([]bool, error) {
	seenThread, seenForum := make(map[ID]bool), make(map[ID]bool)
	var threads, forums []ID
	for _, pp := range placed {
		if pp.np.APID == nil {
			continue
		}
		if t := pp.thread.ID; !seenThread[t] {
			seenThread[t] = true
			threads = append(threads, t)
		}
		if f := pp.thread.ForumID; !seenForum[f] {
			seenForum[f] = true
			forums = append(forums, f)
		}
	}
	if len(threads) == 0 {
		return make([]bool, len(placed)), nil
	}
	followedThreads, err := remoteFollowedOf(ctx, tx, hw, FollowThread, threads)
	if err != nil {
		return nil, err
	}
	followedForums, err := remoteFollowedOf(ctx, tx, hw, FollowForum, forums)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(placed))
	for i, pp := range placed {
		out[i] = pp.np.APID != nil && !followedThreads[pp.thread.ID] && !followedForums[pp.thread.ForumID]
	}
	return out, nil
}

// searchTitle is the title a post's search document carries: its
// thread's, for the opening post only.
func searchTitle(p *Post, t *Thread) string {
	if p.Position == 1 {
		return t.Title
	}
	return ""
}
