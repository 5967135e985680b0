package storage

import (
	"strings"
	"time"
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
