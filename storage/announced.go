package storage

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// What a thread or forum actor announced, for their outbox collections: a
// thread boosts every post it holds, a forum the opening post of each of
// its threads (when that post is a member's). Deleted posts are left out:
// their Delete went out after the boost.

// ThreadAnnounced pages the live posts of a thread, newest first, before
// position before (0: from the newest), with their authors.
func (s *Store) ThreadAnnounced(ctx context.Context, threadID ID, before int64, limit int) ([]Post, error) {
	var out []Post
	q := s.r.NewSelect().Model(&out).Relation("Author").
		Where("post.thread_id = ? AND post.deleted_at IS NULL", threadID)
	if err := scanNewest(ctx, q, "post.position", before, limit); err != nil {
		return nil, fmt.Errorf("posts announced by thread %s: %w", threadID, err)
	}
	return out, nil
}

// CountThreadAnnounced counts what ThreadAnnounced pages.
func (s *Store) CountThreadAnnounced(ctx context.Context, threadID ID) (int64, error) {
	n, err := s.r.NewSelect().Model((*Post)(nil)).Where("thread_id = ? AND deleted_at IS NULL", threadID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count posts announced by thread %s: %w", threadID, err)
	}
	return int64(n), nil
}

// forumAnnounced narrows q (on posts) to the opening posts a forum
// announced: those of its live local threads, live and local themselves.
func forumAnnounced(q *bun.SelectQuery, forumID ID) *bun.SelectQuery {
	return q.Join("JOIN threads AS t ON t.id = post.thread_id AND t.first_post_id = post.id").
		Where("t.forum_id = ? AND t.deleted_at IS NULL AND t.ap_id IS NULL", forumID).
		Where("post.deleted_at IS NULL AND post.ap_id IS NULL")
}

// ForumAnnounced pages the opening posts a forum announced, newest thread
// first, before thread id before (0: from the newest), with their
// authors.
func (s *Store) ForumAnnounced(ctx context.Context, forumID, before ID, limit int) ([]Post, error) {
	var out []Post
	q := forumAnnounced(s.r.NewSelect().Model(&out).Relation("Author"), forumID)
	if err := scanNewest(ctx, q, "t.id", before, limit); err != nil {
		return nil, fmt.Errorf("posts announced by forum %s: %w", forumID, err)
	}
	return out, nil
}

// CountForumAnnounced counts what ForumAnnounced pages.
func (s *Store) CountForumAnnounced(ctx context.Context, forumID ID) (int64, error) {
	n, err := forumAnnounced(s.r.NewSelect().Model((*Post)(nil)), forumID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count posts announced by forum %s: %w", forumID, err)
	}
	return int64(n), nil
}
