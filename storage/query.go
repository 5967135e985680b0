package storage

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// The query shapes many lists and lookups share.

// scanNewest runs q, a list keyset-paged newest first by column: the limit
// rows whose column is below before (0: from the newest). column is one of
// the caller's constants, never input.
func scanNewest[K ~int64](ctx context.Context, q *bun.SelectQuery, column string, before K, limit int) error {
	if before > 0 {
		q = q.Where(column+" < ?", before)
	}
	return q.OrderExpr(column + " DESC").Limit(int64(limit)).Scan(ctx)
}

// rowsIn loads the rows of T whose column (one of the caller's constants)
// is one of keys, by keyOf each row; keys not found are absent. shape, if
// not nil, adds to the query (relations, columns left out); what says what
// it loads, for the error.
func rowsIn[T any, K comparable](ctx context.Context, db bun.IDB, what, column string, keys []K, keyOf func(*T) K,
	shape func(*bun.SelectQuery) *bun.SelectQuery) (map[K]*T, error) {
	out := make(map[K]*T, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	var rows []T
	q := db.NewSelect().Model(&rows)
	if shape != nil {
		q = shape(q)
	}
	if err := q.Where(column+" IN (?)", bun.List(keys)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	for i := range rows {
		out[keyOf(&rows[i])] = &rows[i]
	}
	return out, nil
}

// threadKey and postKey key the rows [rowsIn] loads by id.
func threadKey(t *Thread) ID { return t.ID }
func postKey(p *Post) ID     { return p.ID }

// withAuthor loads the posts' authors too.
func withAuthor(q *bun.SelectQuery) *bun.SelectQuery { return q.Relation("Author") }
