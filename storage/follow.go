package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// What a follow points at.
const (
	FollowAccount = "account" // a member or a remote actor
	FollowForum   = "forum"
	FollowThread  = "thread"
)

// Follow is an account following a member, a remote actor, a forum or a
// thread. Accepted is false while a follow of a remote actor awaits its
// Accept.
type Follow struct {
	bun.BaseModel `bun:"table:follows,alias:follow"`

	ID         ID        `bun:"id,pk"`
	FollowerID ID        `bun:"follower_id"`
	TargetKind string    `bun:"target_kind"`
	TargetID   ID        `bun:"target_id"`
	APID       *string   `bun:"ap_id"`
	Accepted   bool      `bun:"accepted"`
	CreatedAt  time.Time `bun:"created_at"`
}

// AddFollow records a follow, or refreshes the activity id and state of an
// existing one (a remote server may send Follow again). An accepted
// follow of a member notifies them, once per follower.
func (s *Store) AddFollow(ctx context.Context, followerID ID, kind string, targetID ID, apID *string, accepted bool) (*Follow, error) {
	switch kind {
	case FollowAccount, FollowForum, FollowThread:
	default:
		return nil, invalid("kind", "unknown follow target %q", kind)
	}
	f := &Follow{ID: s.NewID(), FollowerID: followerID, TargetKind: kind, TargetID: targetID, APID: apID,
		Accepted: accepted, CreatedAt: time.Now().UTC()}
	out := new(Follow)
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewInsert().Model(f).
			On("CONFLICT (follower_id, target_kind, target_id) DO UPDATE").
			Set("ap_id = EXCLUDED.ap_id").Set("accepted = EXCLUDED.accepted").Returning("NULL").Exec(ctx)
		if err != nil {
			return fmt.Errorf("add follow: %w", err)
		}
		err = tx.NewSelect().Model(out).
			Where("follower_id = ? AND target_kind = ? AND target_id = ?", followerID, kind, targetID).Scan(ctx)
		if err != nil {
			return fmt.Errorf("read follow: %w", err)
		}
		return s.notifyFollow(ctx, tx, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// notifyFollow tells a member of an accepted follower.
func (s *Store) notifyFollow(ctx context.Context, tx bun.Tx, f *Follow) error {
	if f.TargetKind != FollowAccount || !f.Accepted {
		return nil
	}
	return s.notifyOne(ctx, tx, Notification{RecipientID: f.TargetID, Kind: NotifyFollow, ActorID: f.FollowerID})
}

// AcceptFollow marks a follow accepted: a member's follow of a remote
// actor that answered Accept, or a remote follow of a member that a
// moderator approved (which notifies the member).
func (s *Store) AcceptFollow(ctx context.Context, followerID ID, kind string, targetID ID) error {
	return s.txAs(ctx, "accept follow", func(ctx context.Context, tx bun.Tx) error {
		f := new(Follow)
		err := tx.NewSelect().Model(f).
			Where("follower_id = ? AND target_kind = ? AND target_id = ?", followerID, kind, targetID).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && f.Accepted) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*Follow)(nil)).Set("accepted = ?", true).Where("id = ?", f.ID).Exec(ctx); err != nil {
			return err
		}
		f.Accepted = true
		return s.notifyFollow(ctx, tx, f)
	})
}

// RemoveFollow deletes a follow; it reports whether there was one.
func (s *Store) RemoveFollow(ctx context.Context, followerID ID, kind string, targetID ID) (bool, error) {
	res, err := s.w.NewDelete().Model((*Follow)(nil)).
		Where("follower_id = ? AND target_kind = ? AND target_id = ?", followerID, kind, targetID).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("remove follow: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// FollowOf returns one follow, if it exists.
func (s *Store) FollowOf(ctx context.Context, followerID ID, kind string, targetID ID) (*Follow, error) {
	f := new(Follow)
	err := s.r.NewSelect().Model(f).
		Where("follower_id = ? AND target_kind = ? AND target_id = ?", followerID, kind, targetID).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "follow")
	}
	return f, nil
}

// Followers pages the accepted followers of a target by follow id.
func (s *Store) Followers(ctx context.Context, kind string, targetID ID, after ID, limit int) ([]Account, error) {
	var out []Account
	err := s.r.NewSelect().Model(&out).
		Join("JOIN follows AS f ON f.follower_id = account.id").
		Where("f.target_kind = ? AND f.target_id = ? AND f.accepted = ? AND f.id > ?", kind, targetID, true, after).
		OrderExpr("f.id ASC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("followers: %w", err)
	}
	return out, nil
}

// CountFollowers counts accepted followers of a target.
func (s *Store) CountFollowers(ctx context.Context, kind string, targetID ID) (int64, error) {
	n, err := s.r.NewSelect().Model((*Follow)(nil)).
		Where("target_kind = ? AND target_id = ? AND accepted = ?", kind, targetID, true).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count followers: %w", err)
	}
	return int64(n), nil
}

// FollowedThreads pages the threads an account follows, latest activity
// first.
func (s *Store) FollowedThreads(ctx context.Context, accountID ID, limit int) ([]Thread, error) {
	var out []Thread
	err := s.r.NewSelect().Model(&out).Relation("Author").
		Join("JOIN follows AS f ON f.target_id = thread.id AND f.target_kind = ?", FollowThread).
		Where("f.follower_id = ? AND thread.deleted_at IS NULL", accountID).
		OrderExpr("thread.last_post_id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("followed threads: %w", err)
	}
	return out, nil
}

// CountFollowing counts what an account follows (accepted follows only).
func (s *Store) CountFollowing(ctx context.Context, followerID ID) (int64, error) {
	n, err := s.r.NewSelect().Model((*Follow)(nil)).
		Where("follower_id = ? AND accepted = ?", followerID, true).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count following: %w", err)
	}
	return int64(n), nil
}
