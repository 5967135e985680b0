package storage

import (
	"context"
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
	_, err := s.w.NewUpdate().Model((*Account)(nil)).Set("auto_watch = ?", on).
		Where("id = ? AND domain = ''", accountID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set auto watch: %w", err)
	}
	return nil
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
