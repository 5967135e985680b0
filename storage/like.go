package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Like is one account's like of one post. A member's reputation is the
// number of likes their posts received; it is kept current in the same
// transaction as the like.
type Like struct {
	bun.BaseModel `bun:"table:likes"`

	PostID    ID        `bun:"post_id,pk"`
	AccountID ID        `bun:"account_id,pk"`
	APID      *string   `bun:"ap_id"`
	CreatedAt time.Time `bun:"created_at"`
}

// LikePost records a like and notifies the post's author (once, however
// often the like is taken back and given again). It reports whether the
// like is new; liking twice is not an error. Members cannot like their
// own posts, which would make reputation meaningless.
func (s *Store) LikePost(ctx context.Context, postID, accountID ID, apID *string) (bool, error) {
	return txValue(ctx, s, "like post", func(ctx context.Context, tx bun.Tx) (bool, error) {
		p, err := selectOne[Post](ctx, tx, "post "+postID.String(), "id = ?", postID)
		if err != nil {
			return false, err
		}
		if p.DeletedAt != nil {
			return false, fmt.Errorf("post %s: %w", postID, ErrNotFound)
		}
		if p.AuthorID == accountID {
			return false, invalid("", "you cannot like your own post")
		}
		res, err := tx.NewInsert().Model(&Like{PostID: postID, AccountID: accountID, APID: apID, CreatedAt: time.Now().UTC()}).
			On("CONFLICT DO NOTHING").Returning("NULL").Exec(ctx)
		if err != nil {
			return false, fmt.Errorf("insert like: %w", err)
		}
		if created, err := s.likeChanged(ctx, tx, res, p, accountID, EventLikeCreate); err != nil || !created {
			return false, err
		}
		return true, s.notifyOne(ctx, tx, Notification{RecipientID: p.AuthorID, Kind: NotifyLike, ActorID: accountID,
			PostID: p.ID, ThreadID: p.ThreadID})
	})
}

// UnlikePost removes a like; it reports whether there was one.
func (s *Store) UnlikePost(ctx context.Context, postID, accountID ID) (bool, error) {
	return txValue(ctx, s, "unlike post", func(ctx context.Context, tx bun.Tx) (bool, error) {
		p, err := selectOne[Post](ctx, tx, "post "+postID.String(), "id = ?", postID)
		if err != nil {
			return false, err
		}
		res, err := tx.NewDelete().Model((*Like)(nil)).Where("post_id = ? AND account_id = ?", postID, accountID).Exec(ctx)
		if err != nil {
			return false, fmt.Errorf("delete like: %w", err)
		}
		return s.likeChanged(ctx, tx, res, p, accountID, EventLikeDelete)
	})
}

// UnlikeByAPID removes the like whose Like activity had this id (a remote
// Undo{Like}), only when actorID made it.
func (s *Store) UnlikeByAPID(ctx context.Context, apID string, actorID ID) (bool, error) {
	l := new(Like)
	if err := s.r.NewSelect().Model(l).Where("ap_id = ?", apID).Scan(ctx); err != nil {
		return false, notFound(err, "like "+apID)
	}
	if l.AccountID != actorID {
		return false, invalid("", "the like belongs to another actor")
	}
	return s.UnlikePost(ctx, l.PostID, l.AccountID)
}

// likeChanged follows the insert or delete of accountID's like of p that
// res reports: when a row changed, the post's likes and its author's
// reputation move and the event of kind (a like made or taken back) goes
// out. It reports whether a row changed.
func (s *Store) likeChanged(ctx context.Context, tx bun.Tx, res sql.Result, p *Post, accountID ID, kind string) (bool, error) {
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	delta := 1
	if kind == EventLikeDelete {
		delta = -1
	}
	if err := bumpLikes(ctx, tx, p, delta); err != nil {
		return false, err
	}
	return true, addEvent(ctx, tx, &OutboxEvent{ID: s.NewID(), Kind: kind, AccountID: accountID,
		PostID: p.ID, ThreadID: p.ThreadID})
}

func bumpLikes(ctx context.Context, tx bun.Tx, p *Post, delta int) error {
	if _, err := tx.NewUpdate().Model((*Post)(nil)).Set("like_count = like_count + ?", delta).
		Where("id = ?", p.ID).Exec(ctx); err != nil {
		return fmt.Errorf("count like: %w", err)
	}
	if _, err := tx.NewUpdate().Model((*Account)(nil)).Set("reputation = reputation + ?", delta).
		Where("id = ?", p.AuthorID).Exec(ctx); err != nil {
		return fmt.Errorf("update reputation: %w", err)
	}
	return bumpThread(ctx, tx, p.ThreadID)
}

// Liked tells whether the account liked the post: what the like button
// asks before it toggles. Thread pages use LikedOnPage, which reads the
// page's range instead.
func (s *Store) Liked(ctx context.Context, accountID, postID ID) (bool, error) {
	liked, err := s.r.NewSelect().Model((*Like)(nil)).Where("account_id = ? AND post_id = ?", accountID, postID).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("liked post %s: %w", postID, err)
	}
	return liked, nil
}

// LikedOnPage tells which posts of page n (1-based) of a thread the
// account liked: what a thread page shows its reader. It reads the page's
// range of the thread's index, where a list of post ids would have SQLite
// build a temporary table of them first.
func (s *Store) LikedOnPage(ctx context.Context, accountID, threadID ID, page int64) (map[ID]bool, error) {
	h, err := s.hotReads(ctx)
	if err != nil {
		return nil, err
	}
	from := (max(page, 1)-1)*PostsPerPage + 1
	rows, err := h.likedOnPage.QueryContext(ctx, accountID, threadID, from, from+PostsPerPage-1)
	if err != nil {
		return nil, fmt.Errorf("liked posts of thread %s: %w", threadID, err)
	}
	defer rows.Close()
	out := make(map[ID]bool)
	for rows.Next() {
		var id ID
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("liked posts of thread %s: %w", threadID, err)
		}
		out[id] = true
	}
	return out, rows.Err()
}
