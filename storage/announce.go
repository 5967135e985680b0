package storage

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// AnnouncePost records that an account boosted a post here (a remote
// Announce whose object is the post). Nothing of a boost is stored today
// but what it tells the post's author: a notification, once per booster
// however often the boost is repeated, under the same rules as every
// notification ([Store.postNotifications]). A deleted post is ErrNotFound.
func (s *Store) AnnouncePost(ctx context.Context, postID, actorID ID) error {
	return s.txAs(ctx, "announce post", func(ctx context.Context, tx bun.Tx) error {
		p := new(Post)
		if err := tx.NewSelect().Model(p).Column("id", "thread_id", "author_id", "deleted_at").Where("id = ?", postID).Scan(ctx); err != nil {
			return notFound(err, "post "+postID.String())
		}
		if p.DeletedAt != nil {
			return fmt.Errorf("post %s: %w", postID, ErrNotFound)
		}
		return s.notifyOne(ctx, tx, Notification{RecipientID: p.AuthorID, Kind: NotifyAnnounce, ActorID: actorID,
			PostID: p.ID, ThreadID: p.ThreadID})
	})
}
