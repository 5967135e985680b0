package storage

import (
	"context"
	"fmt"
	"time"
)

// Rate limits that must hold across processes (password reset requests,
// mail sent on a visitor's request) count in the rate_limits table: one
// fixed window per key, which every process sharing the database counts
// against.

// Hit counts one event for key in a window of the given length and
// returns how many the current window holds, this one included. A window
// starts at the first event after the previous one ended.
func (s *Store) Hit(ctx context.Context, key string, window time.Duration, now time.Time) (int, error) {
	now = now.UTC()
	cutoff := now.Add(-window)
	var hits int
	err := s.w.NewRaw(`INSERT INTO rate_limits (key, hits, window_start) VALUES (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET
			hits = CASE WHEN rate_limits.window_start <= ? THEN 1 ELSE rate_limits.hits + 1 END,
			window_start = CASE WHEN rate_limits.window_start <= ? THEN EXCLUDED.window_start ELSE rate_limits.window_start END
		RETURNING hits`, key, now, cutoff, cutoff).Scan(ctx, &hits)
	if err != nil {
		return 0, fmt.Errorf("rate limit %s: %w", key, err)
	}
	return hits, nil
}

// SweepRateLimits deletes windows that started before cutoff: a key seen
// again starts afresh, which is what an ended window means anyway.
func (s *Store) SweepRateLimits(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.w.NewRaw("DELETE FROM rate_limits WHERE window_start < ?", cutoff.UTC()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("sweep rate limits: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
