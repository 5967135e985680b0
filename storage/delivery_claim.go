package storage

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Claiming and completing delivery jobs.
//
// A claim leases due jobs to one owner (a worker in one process) for a
// while: it sets lease_until and moves next_attempt_at to the same time.
// The due index therefore never returns leased jobs, and a job whose owner
// died without finishing it becomes due again when its lease runs out:
// that is how work survives a crash. Completions come back in batches so
// the single SQLite writer sees one transaction per batch, not per job.
// Completing checks the lease owner, so a worker whose lease ran out can
// never undo the work of the one that took the job over.

// DeliveryJob is a claimed job with what is needed to send it.
type DeliveryJob struct {
	ID         ID
	Inbox      string
	Host       string
	Attempts   int // including the one this claim is for
	FollowerID ID
	CreatedAt  time.Time
	LeaseUntil time.Time
	Activity   *Activity // shared by the jobs of one activity
	Body       []byte    // Activity.Body, converted once per activity
}

// DeliveryOutcome is what became of an attempt.
type DeliveryOutcome int

const (
	// DeliverySent: the inbox accepted the activity; the job is deleted.
	DeliverySent DeliveryOutcome = iota + 1
	// DeliveryRetry: try again at RetryAt.
	DeliveryRetry
	// DeliveryFailed: it can never succeed; the job is dropped.
	DeliveryFailed
	// DeliveryGone: the inbox answered 410 Gone; the job is dropped and,
	// for a personal inbox, the follower behind it removed.
	DeliveryGone
	// DeliveryReleased: not attempted (the worker was busy with the host,
	// or shutting down); back in the queue at RetryAt, the attempt not
	// counted.
	DeliveryReleased
)

// HostHealth is what an attempt said about the remote host.
type HostHealth int

const (
	HostUntried  HostHealth = iota // no request was made
	HostAnswered                   // an HTTP answer below 500
	HostFailed                     // no answer, a timeout or a 5xx
)

// DeliveryResult reports one claimed job back to the queue.
type DeliveryResult struct {
	Job     *DeliveryJob
	Outcome DeliveryOutcome
	Host    HostHealth
	RetryAt time.Time // for DeliveryRetry and DeliveryReleased
	Error   string    // kept in last_error for a retry
}

// ClaimDeliveries leases up to limit due jobs to owner until now+lease and
// returns them, oldest due first, leaving out jobs for the busy hosts (the
// hosts whose jobs the worker already holds plenty of). On PostgreSQL,
// FOR UPDATE SKIP LOCKED lets several processes claim at once without
// waiting for or taking each other's jobs; on SQLite the single writer
// serializes claims.
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, now time.Time, limit int, lease time.Duration, busy []string) ([]DeliveryJob, error) {
	now = now.UTC()
	until := now.Add(lease)
	lock := ""
	if s.Dialect() == dialect.PG {
		lock = "FOR UPDATE SKIP LOCKED"
	}
	// "NOT IN (NULL)" would match nothing, so an empty list is left out.
	skip, args := "", []any{owner, until, until, now}
	if len(busy) > 0 {
		skip = "AND host NOT IN (?)"
		args = append(args, bun.List(busy))
	}
	args = append(args, limit)
	var rows []Delivery
	err := s.w.NewRaw(`UPDATE deliveries
		SET lease_owner = ?, lease_until = ?, next_attempt_at = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM deliveries WHERE next_attempt_at <= ? `+skip+`
			ORDER BY next_attempt_at LIMIT ? `+lock+`)
		RETURNING id, activity_id, inbox, host, attempts, follower_id, created_at`,
		args...).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}

	ids := map[ID]bool{}
	for _, r := range rows {
		ids[r.ActivityID] = true
	}
	var acts []Activity
	err = s.r.NewSelect().Model(&acts).Where("id IN (?)", bun.List(slices.Collect(maps.Keys(ids)))).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("load claimed activities: %w", err)
	}
	byID := make(map[ID]*Activity, len(acts))
	bodies := make(map[ID][]byte, len(acts))
	for i := range acts {
		byID[acts[i].ID] = &acts[i]
		bodies[acts[i].ID] = []byte(acts[i].Body)
	}

	jobs := make([]DeliveryJob, 0, len(rows))
	for _, r := range rows {
		act := byID[r.ActivityID]
		if act == nil {
			return nil, fmt.Errorf("claim deliveries: activity %s of job %s is missing", r.ActivityID, r.ID)
		}
		jobs = append(jobs, DeliveryJob{ID: r.ID, Inbox: r.Inbox, Host: r.Host, Attempts: r.Attempts,
			FollowerID: r.FollowerID, CreatedAt: r.CreatedAt, LeaseUntil: until, Activity: act, Body: bodies[act.ID]})
	}
	// RETURNING keeps no order; ids are time-ordered, so this is the
	// order the jobs were queued in.
	slices.SortFunc(jobs, func(a, b DeliveryJob) int { return cmp.Compare(a.ID, b.ID) })
	return jobs, nil
}

// rescheduled is a row of the VALUES list that puts jobs back in the
// queue; bun adds the PostgreSQL casts.
type rescheduled struct {
	ID            ID        `bun:"id"`
	NextAttemptAt time.Time `bun:"next_attempt_at"`
	LastError     string    `bun:"last_error"`
	Uncount       int       `bun:"uncount"` // 1 for a release: the claim's attempt did not happen
}

// FinishDeliveries records a batch of results of owner's claims in one
// transaction: sent and failed jobs are deleted, retried and released
// ones go back in the queue, a 410 from a personal inbox removes that
// follower's follows, and the hosts' health is updated. A result for a job
// owner no longer leases is ignored.
func (s *Store) FinishDeliveries(ctx context.Context, owner string, now time.Time, results []DeliveryResult) error {
	if len(results) == 0 {
		return nil
	}
	now = now.UTC()
	var done, gone []ID
	var again []rescheduled
	answered, failed := map[string]bool{}, map[string]bool{}
	for _, r := range results {
		switch r.Outcome {
		case DeliverySent, DeliveryFailed:
			done = append(done, r.Job.ID)
		case DeliveryGone:
			done = append(done, r.Job.ID)
			if r.Job.FollowerID != 0 {
				gone = append(gone, r.Job.FollowerID)
			}
		case DeliveryRetry, DeliveryReleased:
			row := rescheduled{ID: r.Job.ID, NextAttemptAt: r.RetryAt.UTC(), LastError: truncate(r.Error, 500)}
			if r.Outcome == DeliveryReleased {
				row.Uncount = 1
			}
			again = append(again, row)
		default:
			return fmt.Errorf("finish deliveries: job %s has no outcome", r.Job.ID)
		}
		switch r.Host {
		case HostAnswered:
			answered[r.Job.Host] = true
		case HostFailed:
			failed[r.Job.Host] = true
		}
	}
	// One answer in the batch shows the host is up.
	for h := range answered {
		delete(failed, h)
	}

	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if len(done) > 0 {
			_, err := tx.NewRaw("DELETE FROM deliveries WHERE id IN (?) AND lease_owner = ?", bun.List(done), owner).Exec(ctx)
			if err != nil {
				return fmt.Errorf("delete finished deliveries: %w", err)
			}
		}
		if len(gone) > 0 {
			if _, err := tx.NewRaw("DELETE FROM follows WHERE follower_id IN (?)", bun.List(gone)).Exec(ctx); err != nil {
				return fmt.Errorf("remove gone followers: %w", err)
			}
		}
		if len(again) > 0 {
			_, err := tx.NewUpdate().With("_r", tx.NewValues(&again)).
				Table("deliveries").TableExpr("_r").
				Set("next_attempt_at = _r.next_attempt_at").
				Set("last_error = _r.last_error").
				Set("attempts = deliveries.attempts - _r.uncount").
				Set("lease_until = NULL").Set("lease_owner = ''").
				Where("deliveries.id = _r.id AND deliveries.lease_owner = ?", owner).
				Exec(ctx)
			if err != nil {
				return fmt.Errorf("reschedule deliveries: %w", err)
			}
		}
		return recordHostHealth(ctx, tx, now, sortedKeys(answered), sortedKeys(failed))
	})
	if err != nil {
		return fmt.Errorf("finish %d deliveries: %w", len(results), err)
	}
	return nil
}

// ReleaseDeliveries gives back every job owner still leases, due now and
// with the claim's attempt uncounted. A worker calls it on shutdown after
// finishing what it sent, so the jobs it never started go to the next
// worker without waiting for the lease to run out.
func (s *Store) ReleaseDeliveries(ctx context.Context, owner string, now time.Time) (int, error) {
	return s.execCount(ctx, fmt.Sprintf("release deliveries of %s", owner), `UPDATE deliveries
		SET lease_until = NULL, lease_owner = '', next_attempt_at = ?, attempts = attempts - 1
		WHERE lease_owner = ? AND lease_until IS NOT NULL`, now.UTC(), owner)
}

// PendingDeliveries lists queued jobs of one activity, for tests and
// admin pages (it scans the table: nothing hot may call it).
func (s *Store) PendingDeliveries(ctx context.Context, activityID ID) ([]Delivery, error) {
	var out []Delivery
	err := s.r.NewSelect().Model(&out).Where("activity_id = ?", activityID).OrderExpr("id ASC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("pending deliveries: %w", err)
	}
	return out, nil
}

// ActivityByAPID returns a queued or sent activity by its id.
func (s *Store) ActivityByAPID(ctx context.Context, apID string) (*Activity, error) {
	return selectOne[Activity](ctx, s.r, "activity "+apID, "ap_id = ?", apID)
}

func sortedKeys(m map[string]bool) []string {
	return slices.Sorted(maps.Keys(m))
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// DropDeliveries deletes the jobs of one activity to one host, leased or
// not, and returns how many went: what a peer's Reject of the activity
// asks for. A leased job's result then finds nothing to finish.
func (s *Store) DropDeliveries(ctx context.Context, activityID ID, host string) (int64, error) {
	res, err := s.w.NewRaw("DELETE FROM deliveries WHERE host = ? AND activity_id = ?", strings.ToLower(host), activityID).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("drop deliveries of %s to %s: %w", activityID, host, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
