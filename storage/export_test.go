package storage

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// SetSearchRareTerm lowers the bound above which a search term counts as
// common, so a test needs a few posts, not a thousand, to search with a
// common word; the returned function restores it.
func SetSearchRareTerm(n int) (restore func()) {
	old := searchRareTerm
	searchRareTerm = n
	return func() { searchRareTerm = old }
}

// SetSearchIdleBeforeMerge sets how long the index must have been idle
// before MergeSearchIndex merges; the returned function restores it.
func SetSearchIdleBeforeMerge(d time.Duration) (restore func()) {
	old := searchIdleBeforeMerge
	searchIdleBeforeMerge = d
	return func() { searchIdleBeforeMerge = old }
}

// SearchPostsByIDParams is how many ids the prepared page query takes.
var SearchPostsByIDParams = strings.Count(searchPostsByID, "?")

// InTx runs fn in a write transaction of s, as the store's own changes
// do (Store.tx).
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, db bun.IDB) error) error {
	return s.tx(ctx, func(ctx context.Context, tx bun.Tx) error { return fn(ctx, tx) })
}

// TimeArg is timeArg, the text a time is written as on SQLite.
func (s *Store) TimeArg(t time.Time) any { return s.timeArg(t) }
