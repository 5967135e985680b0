package storage

import (
	"context"
	"fmt"
)

// ListLatestThreads pages the live threads of every forum, latest
// activity first: the Latest page. before is the last post id of the
// previous page (0 for the first); the threads_latest index serves it.
func (s *Store) ListLatestThreads(ctx context.Context, before ID, limit int) ([]Thread, error) {
	var out []Thread
	q := s.r.NewSelect().Model(&out).Relation("Author").
		Where("thread.deleted_at IS NULL").Where(listedAuthor)
	if before > 0 {
		q = q.Where("thread.last_post_id < ?", before)
	}
	if err := q.OrderExpr("thread.last_post_id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list latest threads: %w", err)
	}
	return out, nil
}
