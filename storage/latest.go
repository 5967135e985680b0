package storage

import (
	"context"
	"fmt"
)

// ListLatestThreads pages the live threads of every listed forum (not the
// hidden one of mirrored threads), latest activity first: the Latest page. before is the last post id of the
// previous page (0 for the first); the threads_latest index serves it.
func (s *Store) ListLatestThreads(ctx context.Context, before ID, limit int) ([]Thread, error) {
	var out []Thread
	q := s.r.NewSelect().Model(&out).Relation("Author").
		Where("thread.deleted_at IS NULL").Where(listedAuthor).
		Where("thread.forum_id NOT IN (SELECT id FROM forums WHERE hidden)")
	if err := scanNewest(ctx, q, "thread.last_post_id", before, limit); err != nil {
		return nil, fmt.Errorf("list latest threads: %w", err)
	}
	return out, nil
}

// ListThreadsPage returns the offset-th and following unpinned threads of
// a forum by latest activity: the numbered pages of a forum, which a
// reader may jump into. The offset is small in practice (a page number
// times a page), and the forum's thread index walks it.
func (s *Store) ListThreadsPage(ctx context.Context, forumID ID, offset, limit int) ([]Thread, error) {
	var out []Thread
	err := s.r.NewSelect().Model(&out).Relation("Author").
		Where("thread.forum_id = ? AND thread.pinned = ? AND thread.deleted_at IS NULL", forumID, false).
		Where(listedAuthor).OrderExpr("thread.last_post_id DESC").Offset(int64(offset)).Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list threads: %w", err)
	}
	return out, nil
}
