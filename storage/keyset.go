package storage

import (
	"context"

	"github.com/uptrace/bun"
)

// scanNewest runs q, a list keyset-paged newest first by column: the limit
// rows whose column is below before (0: from the newest). column is one of
// the caller's constants, never input.
func scanNewest[K ~int64](ctx context.Context, q *bun.SelectQuery, column string, before K, limit int) error {
	if before > 0 {
		q = q.Where(column+" < ?", before)
	}
	return q.OrderExpr(column + " DESC").Limit(int64(limit)).Scan(ctx)
}
