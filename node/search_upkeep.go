package node

import (
	"context"
	"time"
)

// Search index upkeep: how often the node looks for segments to merge,
// how much one step merges (a short write, so a post waits at most that
// long), and the pause between steps that leaves the write connection
// to posts.
const (
	searchMergeInterval = time.Minute
	searchMergePages    = 64
	searchMergePause    = 50 * time.Millisecond
)

// mergeSearchIndex merges the search index's segments while the node is
// idle (see storage.Store.MergeSearchIndex), in small steps, until there
// is nothing left to merge or posts are written again; then it waits for
// the next look.
func (n *Node) mergeSearchIndex(ctx context.Context) {
	next := searchMergeInterval
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(next):
			more, err := n.Store.MergeSearchIndex(ctx, searchMergePages)
			if err != nil && ctx.Err() == nil {
				n.log.Warn("merge search index", "err", err)
			}
			next = searchMergeInterval
			if more {
				next = searchMergePause
			}
		}
	}
}
