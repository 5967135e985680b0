package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Read positions remember, per member and thread, the highest post
// position the member has seen, so pages can mark the first unread post
// and lists can count what is new. Guests have none.

// MarkRead records that the member saw thread's posts up to position; a
// lower position than the stored one changes nothing (reading page 1
// again does not make page 3 unread).
func (s *Store) MarkRead(ctx context.Context, accountID, threadID ID, position int64) error {
	_, err := s.w.NewRaw(`INSERT INTO thread_reads (account_id, thread_id, last_position, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (account_id, thread_id) DO UPDATE SET
  last_position = CASE WHEN EXCLUDED.last_position > thread_reads.last_position
                       THEN EXCLUDED.last_position ELSE thread_reads.last_position END,
  updated_at = EXCLUDED.updated_at`, accountID, threadID, position, time.Now().UTC()).Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark thread %s read: %w", threadID, err)
	}
	return nil
}

// ReadPositions returns the member's read position in each of the given
// threads; a thread never opened is absent (position 0).
func (s *Store) ReadPositions(ctx context.Context, accountID ID, threadIDs []ID) (map[ID]int64, error) {
	return readPositions(ctx, s.r, accountID, threadIDs)
}

func readPositions(ctx context.Context, db bun.IDB, accountID ID, threadIDs []ID) (map[ID]int64, error) {
	out := make(map[ID]int64, len(threadIDs))
	if len(threadIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		ThreadID     ID    `bun:"thread_id"`
		LastPosition int64 `bun:"last_position"`
	}
	err := db.NewSelect().Table("thread_reads").Column("thread_id", "last_position").
		Where("account_id = ? AND thread_id IN (?)", accountID, bun.List(threadIDs)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("read positions: %w", err)
	}
	for _, r := range rows {
		out[r.ThreadID] = r.LastPosition
	}
	return out, nil
}

// PostAtPosition finds the post at a position of a thread.
func (s *Store) PostAtPosition(ctx context.Context, threadID ID, position int64) (*Post, error) {
	p := new(Post)
	err := s.r.NewSelect().Model(p).Where("thread_id = ? AND position = ?", threadID, position).Scan(ctx)
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("post %d of thread %s", position, threadID))
	}
	return p, nil
}

// ThreadReader is what a thread page shows one member about themself:
// how far they read and whether they follow the thread.
type ThreadReader struct {
	LastPosition int64
	Following    bool
	Muted        bool
}

// ThreadReaderState reads a member's read position in a thread and
// whether they follow it, in one query: the thread page asks on every
// member's visit.
func (s *Store) ThreadReaderState(ctx context.Context, accountID, threadID ID) (ThreadReader, error) {
	h, err := s.hotReads(ctx)
	if err != nil {
		return ThreadReader{}, err
	}
	var last, following, muted int64
	err = h.threadReader.QueryRowContext(ctx, accountID, threadID, accountID, FollowThread, threadID, accountID, threadID).
		Scan(&last, &following, &muted)
	if err != nil {
		return ThreadReader{}, fmt.Errorf("reader state of thread %s: %w", threadID, err)
	}
	return ThreadReader{LastPosition: last, Following: following > 0, Muted: muted > 0}, nil
}
