package storage

import (
	"context"
	"fmt"
	"time"
)

// ClaimKeyRefetch reports whether the caller may fetch the remote key
// keyID again now, and records the claim: false when any process claimed
// it less than minGap before now. A signature failing with a stored key
// may mean the key was rotated, or only that the request was forged;
// the claim keeps a stream of forged requests from making the node
// hammer the key's server, however many processes receive them.
func (s *Store) ClaimKeyRefetch(ctx context.Context, keyID string, now time.Time, minGap time.Duration) (bool, error) {
	now = now.UTC()
	res, err := s.w.NewRaw(`INSERT INTO key_refetches (key_id, claimed_at) VALUES (?, ?)
		ON CONFLICT (key_id) DO UPDATE SET claimed_at = EXCLUDED.claimed_at
		WHERE key_refetches.claimed_at <= ?`,
		canonicalIRI(keyID), now, now.Add(-minGap)).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("claim refetch of key %s: %w", keyID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim refetch of key %s: %w", keyID, err)
	}
	return n == 1, nil
}

// PruneKeyRefetches forgets refetch claims made before before: past
// their interval they bound nothing, and a node sees many keys.
func (s *Store) PruneKeyRefetches(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.NewRaw("DELETE FROM key_refetches WHERE claimed_at < ?", before.UTC()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune key refetches: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
