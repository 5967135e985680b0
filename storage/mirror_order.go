package storage

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// maxOrderedMirror bounds the mirrors OrderMirror renumbers (it reads
// every post of the thread); larger ones are left as they are.
const maxOrderedMirror = 10000

// OrderMirror puts a mirror's posts in the order of the remote thread.
// Posts arrive in a mirror in the order they reach this node: the post
// whose announce created the mirror first, the earlier ones fetched
// afterwards from the remote thread's context (FEP-7888), replies from
// third servers whenever they are found. listed is the order the remote
// thread's context gives (its posts here, oldest first); the posts it does
// not name (members' replies here, posts the context did not list) keep
// their relative order by time and are merged in by creation time.
// Positions are renumbered 1..n, the first post becomes the thread's
// first post and the page versions change. Nothing is written when the
// order is right already. Only mirrors are reordered: a local thread's
// positions are fixed (its collection pages by them).
func (s *Store) OrderMirror(ctx context.Context, threadID ID, listed []ID) error {
	return s.txAs(ctx, "order mirror", func(ctx context.Context, tx bun.Tx) error {
		// Updating the thread row first serialises with insertPost,
		// which takes the next position from the same row.
		var row struct {
			ForumID   ID    `bun:"forum_id"`
			PostCount int64 `bun:"post_count"`
		}
		err := tx.NewRaw("UPDATE threads SET version = version WHERE id = ? AND ap_id IS NOT NULL RETURNING forum_id, post_count",
			threadID).Scan(ctx, &row)
		if err != nil {
			return notFound(err, "mirror "+threadID.String())
		}
		if row.PostCount > maxOrderedMirror {
			return nil
		}
		var posts []orderedPost
		if err := tx.NewSelect().Model((*Post)(nil)).Column("id", "author_id", "position", "created_at").
			Where("thread_id = ?", threadID).OrderExpr("position ASC").Scan(ctx, &posts); err != nil {
			return fmt.Errorf("posts of mirror %s: %w", threadID, err)
		}
		order := mergeOrder(posts, listed)
		var moved []renumbered
		for i, p := range order {
			if p.Position != int64(i+1) {
				moved = append(moved, renumbered{ID: p.ID, Position: int64(i + 1)})
			}
		}
		if len(moved) == 0 {
			return nil
		}
		ids := make([]ID, len(moved))
		for i, m := range moved {
			ids[i] = m.ID
		}
		// (thread_id, position) is unique and checked row by row on
		// PostgreSQL: move the posts out of the way first.
		if _, err := tx.NewRaw("UPDATE posts SET position = -position WHERE id IN (?)", bun.List(ids)).Exec(ctx); err != nil {
			return fmt.Errorf("renumber mirror %s: %w", threadID, err)
		}
		if _, err := tx.NewUpdate().With("_r", tx.NewValues(&moved)).
			Table("posts").TableExpr("_r").
			Set("position = _r.position").
			Where("posts.id = _r.id").Exec(ctx); err != nil {
			return fmt.Errorf("renumber mirror %s: %w", threadID, err)
		}
		first := order[0]
		if _, err := tx.NewRaw("UPDATE threads SET first_post_id = ?, author_id = ?, version = version + 1 WHERE id = ?",
			first.ID, first.AuthorID, threadID).Exec(ctx); err != nil {
			return fmt.Errorf("set first post of mirror %s: %w", threadID, err)
		}
		return bumpForum(ctx, tx, row.ForumID)
	})
}

// orderedPost is what ordering a mirror reads of a post.
type orderedPost struct {
	ID        ID        `bun:"id"`
	AuthorID  ID        `bun:"author_id"`
	Position  int64     `bun:"position"`
	CreatedAt time.Time `bun:"created_at"`
}

// renumbered is a post's new position.
type renumbered struct {
	ID       ID    `bun:"id"`
	Position int64 `bun:"position"`
}

// mergeOrder is the new order of a mirror's posts (given by position):
// the listed ones in listed order, the others by creation time, merged
// by creation time as two sorted runs are (a tie puts the listed post
// first: a reply comes after what it answers).
func mergeOrder(posts []orderedPost, listed []ID) []orderedPost {
	byID := make(map[ID]int, len(posts))
	for i, p := range posts {
		byID[p.ID] = i
	}
	inList := make(map[ID]bool, len(listed))
	var named []orderedPost
	for _, id := range listed {
		if i, ok := byID[id]; ok && !inList[id] {
			inList[id] = true
			named = append(named, posts[i])
		}
	}
	// FEP-7888 contexts list oldest first (Skein's, NodeBB's); one that
	// lists newest first is read backwards.
	if n := len(named); n > 1 && named[0].CreatedAt.After(named[n-1].CreatedAt) {
		slices.Reverse(named)
	}
	var others []orderedPost
	for _, p := range posts {
		if !inList[p.ID] {
			others = append(others, p)
		}
	}
	slices.SortStableFunc(others, func(a, b orderedPost) int { return a.CreatedAt.Compare(b.CreatedAt) })
	out := make([]orderedPost, 0, len(posts))
	i, j := 0, 0
	for i < len(named) || j < len(others) {
		if j == len(others) || (i < len(named) && !others[j].CreatedAt.Before(named[i].CreatedAt)) {
			out = append(out, named[i])
			i++
		} else {
			out = append(out, others[j])
			j++
		}
	}
	return out
}
