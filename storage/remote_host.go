package storage

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// Delivery policy that lives with the data because the queue itself
// applies it when a host goes down or comes back.
const (
	// DeliveryGiveUpAfter is how long a job is retried before it is
	// dropped: three days rides out a peer's long weekend outage.
	DeliveryGiveUpAfter = 72 * time.Hour
	// HostUnavailableAfter is how long a host must fail without a single
	// answer before it is marked unavailable.
	HostUnavailableAfter = 48 * time.Hour
	// HostProbeInterval is how often an unavailable host is tried, with
	// one job, while the rest of its queue waits.
	HostProbeInterval = 6 * time.Hour
)

// RemoteHost is what the node knows about a remote host's health.
type RemoteHost struct {
	bun.BaseModel `bun:"table:remote_hosts,alias:rh"`

	Host         string     `bun:"host,pk"`
	FailingSince *time.Time `bun:"failing_since"`
	LastSuccess  *time.Time `bun:"last_success"`
	Unavailable  bool       `bun:"unavailable"`
	NextProbeAt  *time.Time `bun:"next_probe_at"`
}

// RemoteHostByName returns a host's health record.
func (s *Store) RemoteHostByName(ctx context.Context, host string) (*RemoteHost, error) {
	return selectOne[RemoteHost](ctx, s.r, "remote host "+host, "host = ?", host)
}

// unavailableHosts returns the next probe time of those of hosts that are
// unavailable.
func unavailableHosts(ctx context.Context, db bun.IDB, hosts map[string]bool) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if len(hosts) == 0 {
		return out, nil
	}
	var rows []RemoteHost
	err := db.NewSelect().Model(&rows).Where("host IN (?) AND unavailable", bun.List(slices.Collect(maps.Keys(hosts)))).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read unavailable hosts: %w", err)
	}
	for _, h := range rows {
		if h.NextProbeAt != nil {
			out[h.Host] = *h.NextProbeAt
		}
	}
	return out, nil
}

// recordHostHealth updates hosts after a batch of attempts. answered
// hosts sent any HTTP answer below 500; failed hosts sent none (or 5xx)
// and no answer from them was in the batch. A host back from unavailable
// has its waiting jobs made due at once; a host failing for
// HostUnavailableAfter becomes unavailable and its queue waits for the
// next probe.
func recordHostHealth(ctx context.Context, tx bun.Tx, now time.Time, answered, failed []string) error {
	if len(answered) > 0 {
		var back []string
		err := tx.NewRaw("UPDATE remote_hosts SET unavailable = ?, next_probe_at = NULL WHERE host IN (?) AND unavailable RETURNING host",
			false, bun.List(answered)).Scan(ctx, &back)
		if err != nil {
			return fmt.Errorf("mark hosts available: %w", err)
		}
		if len(back) > 0 {
			_, err := tx.NewRaw("UPDATE deliveries SET next_attempt_at = ? WHERE host IN (?) AND lease_until IS NULL",
				now, bun.List(back)).Exec(ctx)
			if err != nil {
				return fmt.Errorf("resume deliveries: %w", err)
			}
		}
		rows := make([]RemoteHost, len(answered))
		for i, h := range answered {
			rows[i] = RemoteHost{Host: h, LastSuccess: &now}
		}
		_, err = tx.NewInsert().Model(&rows).On("CONFLICT (host) DO UPDATE").
			Set("last_success = EXCLUDED.last_success").Set("failing_since = NULL").Returning("NULL").Exec(ctx)
		if err != nil {
			return fmt.Errorf("record answering hosts: %w", err)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	rows := make([]RemoteHost, len(failed))
	for i, h := range failed {
		rows[i] = RemoteHost{Host: h, FailingSince: &now}
	}
	// A host keeps the start of its current failing streak.
	_, err := tx.NewInsert().Model(&rows).On("CONFLICT (host) DO UPDATE").
		Set("failing_since = COALESCE(rh.failing_since, EXCLUDED.failing_since)").Returning("NULL").Exec(ctx)
	if err != nil {
		return fmt.Errorf("record failing hosts: %w", err)
	}
	// Newly unavailable hosts, and unavailable hosts whose probe failed,
	// get the next probe one interval from now.
	probe := now.Add(HostProbeInterval)
	var down []string
	err = tx.NewRaw("UPDATE remote_hosts SET unavailable = ?, next_probe_at = ? WHERE host IN (?) AND failing_since <= ? RETURNING host",
		true, probe, bun.List(failed), now.Add(-HostUnavailableAfter)).Scan(ctx, &down)
	if err != nil {
		return fmt.Errorf("mark hosts unavailable: %w", err)
	}
	for _, h := range down {
		if err := postponeHost(ctx, tx, h, now, probe); err != nil {
			return err
		}
	}
	return nil
}

// postponeHost parks an unavailable host's waiting jobs: jobs past
// DeliveryGiveUpAfter are dropped, the oldest of the rest becomes the
// probe at probe time, and the others wait one more interval so that only
// the probe is sent; if it succeeds the others are resumed at once.
// Leased jobs are left to the worker that holds them.
func postponeHost(ctx context.Context, tx bun.Tx, host string, now, probe time.Time) error {
	_, err := tx.NewRaw("DELETE FROM deliveries WHERE host = ? AND lease_until IS NULL AND created_at < ?",
		host, now.Add(-DeliveryGiveUpAfter)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("drop expired deliveries to %s: %w", host, err)
	}
	_, err = tx.NewRaw("UPDATE deliveries SET next_attempt_at = ? WHERE host = ? AND lease_until IS NULL",
		probe.Add(HostProbeInterval), host).Exec(ctx)
	if err != nil {
		return fmt.Errorf("postpone deliveries to %s: %w", host, err)
	}
	_, err = tx.NewRaw(`UPDATE deliveries SET next_attempt_at = ? WHERE id =
		(SELECT MIN(id) FROM deliveries WHERE host = ? AND lease_until IS NULL)`, probe, host).Exec(ctx)
	if err != nil {
		return fmt.Errorf("schedule probe of %s: %w", host, err)
	}
	return nil
}
