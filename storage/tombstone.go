package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Tombstones: what a remote actor withdrew before it arrived. Remote
// servers deliver in parallel and retry, so a Delete may arrive before
// the Create of its Note, or an Undo before its Like; applied as they
// come, the Delete finds nothing and the Create then stores a post its
// author deleted. A Delete or Undo of something unknown therefore leaves
// a tombstone, and what it names is refused when it arrives: a post by
// CreatePosts, a Like, Follow or Announce by the inbox.
//
// Tombstones are kept TombstoneRetention (remote servers give up
// retrying within days), at most MaxTombstonesPerActor per actor, the
// oldest going first, so no actor can fill the table; the inbox worker
// prunes them with its queue.

// TombstoneRetention is how long a tombstone is kept. Mastodon retries a
// delivery for about a week at most; after that the object will not come.
const TombstoneRetention = 7 * 24 * time.Hour

// MaxTombstonesPerActor caps the tombstones one remote actor may leave.
const MaxTombstonesPerActor = 1000

// ErrWithdrawn refuses an object its author deleted or undid before it
// arrived.
var ErrWithdrawn = fmt.Errorf("%w: withdrawn before it arrived", ErrInvalid)

// Tombstone is a withdrawn object: a Note's id or an activity's id, and
// the account that withdrew it.
type Tombstone struct {
	bun.BaseModel `bun:"table:inbox_tombstones"`

	ObjectID  string    `bun:"object_id,pk"`
	ActorID   ID        `bun:"actor_id,pk"`
	CreatedAt time.Time `bun:"created_at"`
}

// AddTombstone records that actorID withdrew objectID, keeping only the
// actor's newest MaxTombstonesPerActor.
func (s *Store) AddTombstone(ctx context.Context, actorID ID, objectID string) error {
	now := time.Now().UTC()
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		ts := &Tombstone{ObjectID: canonicalIRI(objectID), ActorID: actorID, CreatedAt: now}
		if _, err := tx.NewInsert().Model(ts).On("CONFLICT DO NOTHING").Returning("NULL").Exec(ctx); err != nil {
			return err
		}
		var oldest []time.Time
		if err := tx.NewRaw(`SELECT created_at FROM inbox_tombstones WHERE actor_id = ?
			ORDER BY created_at DESC LIMIT 1 OFFSET ?`, actorID, MaxTombstonesPerActor).Scan(ctx, &oldest); err != nil {
			return err
		}
		if len(oldest) == 0 {
			return nil
		}
		_, err := tx.NewDelete().Model((*Tombstone)(nil)).Where("actor_id = ? AND created_at <= ?", actorID, oldest[0]).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("tombstone %s: %w", objectID, err)
	}
	return nil
}

// Tombstoned reports whether actorID withdrew objectID.
func (s *Store) Tombstoned(ctx context.Context, actorID ID, objectID string) (bool, error) {
	n, err := s.r.NewSelect().Model((*Tombstone)(nil)).
		Where("object_id = ? AND actor_id = ?", canonicalIRI(objectID), actorID).Count(ctx)
	if err != nil {
		return false, fmt.Errorf("tombstone %s: %w", objectID, err)
	}
	return n > 0, nil
}

// PruneTombstones deletes tombstones made before the given time.
func (s *Store) PruneTombstones(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.NewDelete().Model((*Tombstone)(nil)).Where("created_at < ?", before.UTC()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune tombstones: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
