package storage

import (
	"context"
	"fmt"
	"time"
)

// What the inbox needs beyond the queue itself (inbox_queue.go): storing
// an accepted activity once, and the few writes a remote actor's
// activities make that no web form does.

// AcceptInbox stores a verified inbox POST, due at once, unless an item
// with the same activity id is already stored: remote servers retry, and
// one activity may be posted to several members' inboxes. It reports
// whether the item was stored; activityID "" is never deduplicated.
func (s *Store) AcceptInbox(ctx context.Context, actorID, keyID, activityID string, body []byte) (ID, bool, error) {
	now := time.Now().UTC()
	it := &InboxItem{ID: s.NewID(), ReceivedAt: now, ActorID: actorID, KeyID: keyID, ActivityID: activityID,
		Body: string(body), NextAttemptAt: now}
	res, err := s.w.NewInsert().Model(it).On("CONFLICT DO NOTHING").Returning("NULL").Exec(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("accept inbox item from %s: %w", actorID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, false, nil
	}
	return it.ID, true, nil
}

// FollowByAPID finds a follow by the id of its Follow activity, for an
// Undo, Accept or Reject that names the Follow only by id.
func (s *Store) FollowByAPID(ctx context.Context, apID string) (*Follow, error) {
	f := new(Follow)
	if err := s.r.NewSelect().Model(f).Where("ap_id = ?", apID).Limit(1).Scan(ctx); err != nil {
		return nil, notFound(err, "follow "+apID)
	}
	return f, nil
}

// RemoveFollowsBy deletes every follow an account made, for a remote
// actor that was deleted; it returns how many there were.
func (s *Store) RemoveFollowsBy(ctx context.Context, followerID ID) (int, error) {
	res, err := s.w.NewDelete().Model((*Follow)(nil)).Where("follower_id = ?", followerID).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("remove follows of %s: %w", followerID, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// deleteByAuthorPage is how many posts DeletePostsByAuthor deletes per
// read: each is its own transaction (DeletePost), so a remote actor with
// many posts never holds the write lock for long.
const deleteByAuthorPage = 100

// DeletePostsByAuthor soft-deletes every live post of an account, as
// DeletePost does one by one (a thread's first post takes its thread
// along). It returns how many it deleted.
func (s *Store) DeletePostsByAuthor(ctx context.Context, authorID ID) (int, error) {
	n := 0
	for {
		var ids []ID
		err := s.w.NewSelect().Model((*Post)(nil)).Column("id").
			Where("author_id = ? AND deleted_at IS NULL", authorID).
			OrderExpr("id ASC").Limit(deleteByAuthorPage).Scan(ctx, &ids)
		if err != nil {
			return n, fmt.Errorf("posts of %s: %w", authorID, err)
		}
		for _, id := range ids {
			if err := s.DeletePost(ctx, id); err != nil {
				return n, err
			}
			n++
		}
		if len(ids) < deleteByAuthorPage {
			return n, nil
		}
	}
}
