package storage

import (
	"context"
	"fmt"
)

// Follow requests: remote follows of local actors held for a moderator,
// because the follower or its server is silenced (federation records them
// with Accepted false and answers nothing until approved).

// FollowByID finds a follow by its row id.
func (s *Store) FollowByID(ctx context.Context, id ID) (*Follow, error) {
	return selectOne[Follow](ctx, s.r, "follow "+id.String(), "id = ?", id)
}

// FollowRequest is a held follow with its follower.
type FollowRequest struct {
	Follow   `bun:",extend"`
	Follower *Account `bun:"rel:belongs-to,join:follower_id=id"`
}

// PendingFollowRequests lists the remote follows of local members, forums
// and threads that wait for approval, oldest first. (A member's own
// follows of remote actors also wait, for the remote Accept, and are not
// listed.)
func (s *Store) PendingFollowRequests(ctx context.Context, limit int) ([]FollowRequest, error) {
	var out []FollowRequest
	err := s.r.NewSelect().Model(&out).Relation("Follower").
		Where("follow.accepted = ? AND follower.domain <> ''", false).
		Where("(follow.target_kind <> ? OR EXISTS (SELECT 1 FROM accounts AS t WHERE t.id = follow.target_id AND t.domain = ''))", FollowAccount).
		OrderExpr("follow.id ASC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("pending follow requests: %w", err)
	}
	return out, nil
}
