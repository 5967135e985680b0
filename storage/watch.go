package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Watching is following, from this node: a member follows threads (and
// forums) to hear of what is new in them. Starting or replying to a
// thread follows it unless the member turned that off; a muted thread is
// unfollowed and stays so.

// autoWatch makes the author of a local post follow its thread, inside
// the post's transaction, unless they turned it off or muted the thread.
func (s *Store) autoWatch(ctx context.Context, tx bun.Tx, authorID, threadID ID, now time.Time) error {
	_, err := tx.NewRaw(`INSERT INTO follows (id, follower_id, target_kind, target_id, accepted, created_at)
		SELECT ?, a.id, ?, ?, ?, ? FROM accounts AS a
		WHERE a.id = ? AND a.domain = '' AND a.auto_watch = ?
			AND NOT EXISTS (SELECT 1 FROM thread_mutes AS m WHERE m.account_id = a.id AND m.thread_id = ?)
		ON CONFLICT (follower_id, target_kind, target_id) DO NOTHING`,
		s.NewID(), FollowThread, threadID, true, now, authorID, true, threadID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("follow own thread: %w", err)
	}
	return nil
}

// SetAutoWatch turns following the threads a member posts in on or off.
func (s *Store) SetAutoWatch(ctx context.Context, accountID ID, on bool) error {
	return s.setMember(ctx, accountID, "auto_watch", on)
}

// MuteThread mutes (on) or unmutes a thread for a member. Muting also
// unfollows it.
func (s *Store) MuteThread(ctx context.Context, accountID, threadID ID, on bool) error {
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if !on {
			_, err := tx.NewRaw("DELETE FROM thread_mutes WHERE account_id = ? AND thread_id = ?", accountID, threadID).Exec(ctx)
			return err
		}
		if _, err := tx.NewRaw(`INSERT INTO thread_mutes (account_id, thread_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT (account_id, thread_id) DO NOTHING`, accountID, threadID, time.Now().UTC()).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewDelete().Model((*Follow)(nil)).
			Where("follower_id = ? AND target_kind = ? AND target_id = ?", accountID, FollowThread, threadID).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("mute thread %s: %w", threadID, err)
	}
	return nil
}

// FollowedForums lists the forums a member follows, in the home page's
// order.
func (s *Store) FollowedForums(ctx context.Context, accountID ID) ([]Forum, error) {
	var out []Forum
	err := s.r.NewSelect().Model(&out).
		Join("JOIN follows AS f ON f.target_id = forum.id AND f.target_kind = ?", FollowForum).
		Where("f.follower_id = ?", accountID).OrderExpr("forum.position ASC, forum.id ASC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("followed forums: %w", err)
	}
	return out, nil
}

// watchNotices fills in, for each notice, who watches what its post is
// new in (the thread of a reply, the forum of a new thread) and who muted
// its thread, with one query for each over the whole batch. Only members
// are read: remote followers of a thread or forum hear of it by
// federation.
func watchNotices(ctx context.Context, tx bun.Tx, hw *hotWrites, notices []postNotice) error {
	if len(notices) == 0 {
		return nil
	}
	var threads, forums []ID
	for i := range notices {
		n := &notices[i]
		threads = append(threads, n.post.ThreadID)
		if n.newThreadIn != 0 && !n.onlyMention {
			forums = append(forums, n.newThreadIn)
		}
	}
	watchers := make(map[string]map[ID][]ID) // target kind, target, watchers
	for _, q := range []struct {
		kind string
		ids  []ID
	}{{FollowThread, threads}, {FollowForum, forums}} {
		if len(q.ids) == 0 {
			continue
		}
		byTarget := make(map[ID][]ID)
		err := hw.lookup(ctx, tx, hw.lists.watchers, func(r *sql.Rows) error {
			var follower, target ID
			if err := r.Scan(&follower, &target); err != nil {
				return err
			}
			byTarget[target] = append(byTarget[target], follower)
			return nil
		}, q.kind, hw.idList(q.ids), true)
		if err != nil {
			return fmt.Errorf("watchers of %ss: %w", q.kind, err)
		}
		watchers[q.kind] = byTarget
	}
	muted := make(map[ID]map[ID]bool)
	err := hw.lookup(ctx, tx, hw.lists.threadMutes, func(r *sql.Rows) error {
		var account, thread ID
		if err := r.Scan(&account, &thread); err != nil {
			return err
		}
		if muted[thread] == nil {
			muted[thread] = make(map[ID]bool)
		}
		muted[thread][account] = true
		return nil
	}, hw.idList(threads))
	if err != nil {
		return fmt.Errorf("thread mutes: %w", err)
	}
	for i := range notices {
		n := &notices[i]
		n.muted = muted[n.post.ThreadID]
		switch {
		case n.onlyMention:
		case n.newThreadIn != 0:
			n.watchers, n.watchKind = watchers[FollowForum][n.newThreadIn], NotifyForumThread
		default:
			n.watchers, n.watchKind = watchers[FollowThread][n.post.ThreadID], NotifyThreadPost
		}
	}
	return nil
}
