package storage

import (
	"context"
	"fmt"
	"time"
)

// RecentInboxItems returns up to limit inbox items that actorID sent and
// that arrived between since and until, newest first, done or not;
// only activities (InboxActivity), not the node's own jobs.
// Federation reads a remote author's own activity back from here to
// forward it as it was received. Items are kept only a day after they
// are done (the inbox worker's KeepDone), so older ones are not found.
func (s *Store) RecentInboxItems(ctx context.Context, actorID string, since, until time.Time, limit int) ([]InboxItem, error) {
	var items []InboxItem
	err := s.r.NewSelect().Model(&items).
		Column("ii.id", "ii.received_at", "ii.kind", "ii.actor_id", "ii.key_id", "ii.activity_id").Apply(withBody).
		Where("ii.actor_id = ? AND ii.received_at >= ? AND ii.received_at <= ? AND ii.kind = ?", actorID, since.UTC(), until.UTC(), InboxActivity).
		OrderExpr("ii.received_at DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("inbox items of %s: %w", actorID, err)
	}
	return items, nil
}

// LivePostThread finds the thread of a live (not deleted) post: what the
// inbox needs of the post a reply answers, without reading the post and
// its author.
func (s *Store) LivePostThread(ctx context.Context, id ID) (ID, error) {
	h, err := s.hotReads(ctx)
	if err != nil {
		return 0, err
	}
	var threadID ID
	if err := h.livePostThread.QueryRowContext(ctx, id).Scan(&threadID); err != nil {
		return 0, notFound(err, "post "+id.String())
	}
	return threadID, nil
}
