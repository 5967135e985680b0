package storage

import (
	"context"
	"fmt"
	"time"
)

// QueueStats is a snapshot of the durable queues for admin pages and
// metrics.
type QueueStats struct {
	Deliveries       int64        // jobs queued, leased ones included
	DeliveriesLeased int64        // jobs a worker holds right now
	InboxPending     int64        // inbox items not done yet
	FailingHosts     []HostStatus // hosts failing now, longest first (at most 100)
}

// HostStatus is one remote host's health and queue length.
type HostStatus struct {
	Host         string     `bun:"host"`
	Pending      int64      `bun:"pending"`
	FailingSince *time.Time `bun:"failing_since"`
	LastSuccess  *time.Time `bun:"last_success"`
	Unavailable  bool       `bun:"unavailable"`
	NextProbeAt  *time.Time `bun:"next_probe_at"`
}

// QueueStats counts the queues at now. The counts scan their tables; call
// it for a page or a metrics scrape, not per request.
func (s *Store) QueueStats(ctx context.Context, now time.Time) (*QueueStats, error) {
	st := new(QueueStats)
	err := s.r.NewRaw(`SELECT
		(SELECT COUNT(*) FROM deliveries),
		(SELECT COUNT(*) FROM deliveries WHERE lease_until > ?),
		(SELECT COUNT(*) FROM inbox_items WHERE done_at IS NULL)`, now.UTC()).
		Scan(ctx, &st.Deliveries, &st.DeliveriesLeased, &st.InboxPending)
	if err != nil {
		return nil, fmt.Errorf("queue counts: %w", err)
	}
	err = s.r.NewRaw(`SELECT h.host, h.failing_since, h.last_success, h.unavailable, h.next_probe_at,
			(SELECT COUNT(*) FROM deliveries d WHERE d.host = h.host) AS pending
		FROM remote_hosts h WHERE h.failing_since IS NOT NULL
		ORDER BY h.failing_since, h.host LIMIT 100`).Scan(ctx, &st.FailingHosts)
	if err != nil {
		return nil, fmt.Errorf("failing hosts: %w", err)
	}
	return st, nil
}

// InboxReceivedSince counts activities accepted into the inbox since t
// (done or not, until pruned): the dashboard's inbox rate.
func (s *Store) InboxReceivedSince(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	if err := s.r.NewRaw("SELECT COUNT(*) FROM inbox_items WHERE received_at > ?", t.UTC()).Scan(ctx, &n); err != nil {
		return 0, fmt.Errorf("count inbox items: %w", err)
	}
	return n, nil
}
