package storage

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// The inbox queue: a POST to an inbox is verified, stored here and
// answered 202; workers process it afterwards. Nothing a remote server
// sends is lost to a crash or a restart, and a slow remote fetch during
// processing never holds a remote server's request open. Leases work as
// in the delivery queue ([Store.ClaimDeliveries]): a claim moves next_attempt_at
// to the lease's end, so a crashed worker's items come back by themselves.

// InboxItem is one accepted inbox POST.
type InboxItem struct {
	bun.BaseModel `bun:"table:inbox_items,alias:ii"`

	ID            ID         `bun:"id,pk"`
	ReceivedAt    time.Time  `bun:"received_at"`
	Kind          string     `bun:"kind"`          // InboxActivity, InboxBackfill or InboxContextWalk
	ActorID       string     `bun:"actor_id"`      // the activity's actor, checked against the key's owner
	KeyID         string     `bun:"key_id"`        // the keyId that signed the POST; '' for the node's own jobs
	ActivityID    string     `bun:"activity_id"`   // the activity's id, '' if it had none; unique
	Body          string     `bun:"body,scanonly"` // in inbox_bodies, see [Store.AcceptInboxBatch]
	Attempts      int        `bun:"attempts"`      // including the current claim
	NextAttemptAt time.Time  `bun:"next_attempt_at"`
	LeaseUntil    *time.Time `bun:"lease_until"`
	LeaseOwner    string     `bun:"lease_owner"`
	LastError     string     `bun:"last_error"`
	DoneAt        *time.Time `bun:"done_at"`
}

// Kinds of inbox items. Besides the activities remote servers POST, the
// node queues work of its own on the inbox queue, so that remote fetches
// it implies run off every request path with the queue's leases and
// retries.
const (
	InboxActivity    = "activity"     // a verified POST
	InboxBackfill    = "backfill"     // fetch a Note's replies collection
	InboxContextWalk = "context_walk" // read one page of a mirror's context
)

// EnqueueInbox stores an item, due at once; an empty Kind is
// InboxActivity. Unlike AcceptInboxBatch it never deduplicates.
func (s *Store) EnqueueInbox(ctx context.Context, item NewInboxItem) (ID, error) {
	now := time.Now().UTC()
	it := &InboxItem{ID: s.NewID(), ReceivedAt: now, Kind: kindOr(item.Kind), ActorID: item.ActorID, KeyID: item.KeyID,
		ActivityID: item.ActivityID, NextAttemptAt: now}
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(it).Returning("NULL").Exec(ctx); err != nil {
			return err
		}
		body, err := inboxBodyText(item.Body)
		if err != nil {
			return err
		}
		_, err = tx.NewInsert().Model(&inboxBody{ItemID: it.ID, Body: body}).Returning("NULL").Exec(ctx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue inbox item from %s: %w", item.ActorID, err)
	}
	return it.ID, nil
}

// inboxBody is an inbox item's body, apart from its queue row so that
// leasing and finishing the item rewrite a short row, not the activity.
type inboxBody struct {
	bun.BaseModel `bun:"table:inbox_bodies"`

	ItemID ID     `bun:"item_id,pk"`
	Body   string `bun:"body"`
}

// inboxClaimLock is the PostgreSQL advisory lock that serialises inbox
// claims across processes (see ClaimInbox). An arbitrary constant.
const inboxClaimLock = 0x736b65696e01

// ClaimInbox leases up to limit pending items to owner until now+lease,
// oldest first, and returns them in the order they arrived.
//
// An actor's activities are applied in the order they arrived (a Create
// before the Delete that follows it), and never two at once: a claim
// takes no activity of an actor while another of that actor's is leased,
// and takes all of an actor's due activities that fit in one batch (the
// worker applies them one after the other). On PostgreSQL the claims of
// all processes are serialised by a transaction-scoped advisory lock, so
// each claim sees the leases of the one before; a claim is one short
// statement, so they do not queue for long. The node's own jobs
// (backfills, context walks) have no such order.
func (s *Store) ClaimInbox(ctx context.Context, owner string, now time.Time, limit int, lease time.Duration) ([]InboxItem, error) {
	now = now.UTC()
	until := now.Add(lease)
	hw, err := s.hotWrites(ctx)
	if err != nil {
		return nil, fmt.Errorf("claim inbox items: %w", err)
	}
	var items []InboxItem
	err = s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if s.Dialect() != dialect.PG {
			return s.claimInboxSQLite(ctx, tx, hw, owner, now, until, limit, &items)
		}
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", inboxClaimLock); err != nil {
			return err
		}
		// "done_at IS NULL" in the subqueries lets both databases use
		// the partial indexes inbox_items_due and inbox_items_leased.
		var ids []ID
		err := tx.NewRaw(`UPDATE inbox_items
			SET lease_owner = ?, lease_until = ?, next_attempt_at = ?, attempts = attempts + 1
			WHERE id IN (SELECT i.id FROM inbox_items i WHERE i.done_at IS NULL AND i.next_attempt_at <= ?
				AND (i.kind <> ? OR NOT EXISTS (SELECT 1 FROM inbox_items b
					WHERE b.actor_id = i.actor_id AND b.lease_until IS NOT NULL AND b.done_at IS NULL AND b.lease_until > ?))
				ORDER BY i.next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED)
			RETURNING id`,
			owner, until, until, now, InboxActivity, now, limit).Scan(ctx, &ids)
		if err != nil {
			return err
		}
		return claimedRows(ctx, tx, ids, &items)
	})
	if err != nil {
		return nil, fmt.Errorf("claim inbox items: %w", err)
	}
	// The rows come in no particular order.
	slices.SortFunc(items, func(a, b InboxItem) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return items, nil
}

// claimInboxSQLite is ClaimInbox on SQLite, whose one writer needs no
// lock: the due items are chosen, then leased one row at a time. An
// UPDATE of many rows keeps a statement journal, which for rows holding
// activity bodies outgrows memory and goes to a temporary file at every
// claim; an UPDATE of one row by its key needs none.
func (s *Store) claimInboxSQLite(ctx context.Context, tx bun.Tx, hw *hotWrites, owner string, now, until time.Time, limit int, items *[]InboxItem) error {
	var ids []ID
	err := tx.NewRaw(`SELECT i.id FROM inbox_items i WHERE i.done_at IS NULL AND i.next_attempt_at <= ?
		AND (i.kind <> ? OR NOT EXISTS (SELECT 1 FROM inbox_items b
			WHERE b.actor_id = i.actor_id AND b.lease_until IS NOT NULL AND b.done_at IS NULL AND b.lease_until > ?))
		ORDER BY i.next_attempt_at LIMIT ?`, now, InboxActivity, now, limit).Scan(ctx, &ids)
	if err != nil {
		return err
	}
	lease := hw.stmt(ctx, tx, sqlLeaseInbox)
	at := s.timeArg(until)
	for _, id := range ids {
		if _, err := lease.ExecContext(ctx, owner, at, at, id); err != nil {
			return err
		}
	}
	return claimedRows(ctx, tx, ids, items)
}

// claimedRows reads the rows of the items just claimed, with their
// bodies. A claim returns their ids alone: SQLite keeps what RETURNING
// gives in a temporary table, which costs more than reading them again.
func claimedRows(ctx context.Context, tx bun.Tx, ids []ID, items *[]InboxItem) error {
	if len(ids) == 0 {
		return nil
	}
	return tx.NewSelect().Model(items).
		Column("ii.id", "ii.received_at", "ii.kind", "ii.actor_id", "ii.key_id", "ii.attempts", "ii.next_attempt_at", "ii.lease_until", "ii.lease_owner", "ii.last_error").
		Apply(withBody).Where("ii.id IN (?)", bun.List(ids)).Scan(ctx)
}

// withBody adds the body to a select of inbox items (alias ii).
func withBody(q *bun.SelectQuery) *bun.SelectQuery {
	return q.ColumnExpr("ib.body").Join("JOIN inbox_bodies AS ib ON ib.item_id = ii.id")
}

// InboxResult reports one processed item. Done means finished, processed
// or given up on (then Error says why); otherwise the item is tried again
// at RetryAt.
type InboxResult struct {
	ID      ID
	Done    bool
	RetryAt time.Time
	Error   string
}

// FinishInbox records a batch of results of owner's claims in one
// transaction. Results for items owner no longer leases are ignored.
func (s *Store) FinishInbox(ctx context.Context, owner string, now time.Time, results []InboxResult) error {
	if len(results) == 0 {
		return nil
	}
	now = now.UTC()
	var ok []ID
	var again []rescheduled
	var failed []rescheduled // done, with an error to keep
	for _, r := range results {
		switch {
		case r.Done && r.Error == "":
			ok = append(ok, r.ID)
		case r.Done:
			failed = append(failed, rescheduled{ID: r.ID, NextAttemptAt: now, LastError: truncate(r.Error, 500)})
		default:
			again = append(again, rescheduled{ID: r.ID, NextAttemptAt: r.RetryAt.UTC(), LastError: truncate(r.Error, 500)})
		}
	}
	hw, err := s.hotWrites(ctx)
	if err != nil {
		return fmt.Errorf("finish %d inbox items: %w", len(results), err)
	}
	err = s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if len(ok) > 0 && s.Dialect() != dialect.PG {
			// One row at a time, as ClaimInbox leases them.
			done, at := hw.stmt(ctx, tx, sqlDoneInbox), s.timeArg(now)
			for _, id := range ok {
				if _, err := done.ExecContext(ctx, at, id, owner); err != nil {
					return fmt.Errorf("mark inbox items done: %w", err)
				}
			}
		} else if len(ok) > 0 {
			_, err := tx.NewRaw(`UPDATE inbox_items SET done_at = ?, lease_until = NULL, lease_owner = '', last_error = ''
				WHERE id IN (?) AND lease_owner = ?`, now, bun.List(ok), owner).Exec(ctx)
			if err != nil {
				return fmt.Errorf("mark inbox items done: %w", err)
			}
		}
		if len(failed) > 0 {
			_, err := tx.NewUpdate().With("_r", tx.NewValues(&failed)).
				Table("inbox_items").TableExpr("_r").
				Set("done_at = ?", now).Set("last_error = _r.last_error").
				Set("lease_until = NULL").Set("lease_owner = ''").
				Where("inbox_items.id = _r.id AND inbox_items.lease_owner = ?", owner).Exec(ctx)
			if err != nil {
				return fmt.Errorf("mark inbox items failed: %w", err)
			}
		}
		if len(again) > 0 {
			_, err := tx.NewUpdate().With("_r", tx.NewValues(&again)).
				Table("inbox_items").TableExpr("_r").
				Set("next_attempt_at = _r.next_attempt_at").Set("last_error = _r.last_error").
				Set("lease_until = NULL").Set("lease_owner = ''").
				Where("inbox_items.id = _r.id AND inbox_items.lease_owner = ?", owner).Exec(ctx)
			if err != nil {
				return fmt.Errorf("reschedule inbox items: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish %d inbox items: %w", len(results), err)
	}
	return nil
}

// ReleaseInbox gives back every item owner still leases, due now and with
// the claim's attempt uncounted; for a graceful shutdown.
func (s *Store) ReleaseInbox(ctx context.Context, owner string, now time.Time) (int, error) {
	return s.execCount(ctx, fmt.Sprintf("release inbox items of %s", owner), `UPDATE inbox_items
		SET lease_until = NULL, lease_owner = '', next_attempt_at = ?, attempts = attempts - 1
		WHERE lease_owner = ? AND lease_until IS NOT NULL AND done_at IS NULL`, now.UTC(), owner)
}

// InboxDue counts the items due now (the partial index inbox_items_due);
// items leased by a worker or waiting for a retry later are left out.
func (s *Store) InboxDue(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.r.NewRaw(`SELECT COUNT(*) FROM inbox_items WHERE done_at IS NULL AND next_attempt_at <= ?`, now.UTC()).Scan(ctx, &n)
	if err != nil {
		return 0, fmt.Errorf("count due inbox items: %w", err)
	}
	return n, nil
}

// PruneInbox deletes items done before the given time, and their
// bodies with them (ON DELETE CASCADE).
func (s *Store) PruneInbox(ctx context.Context, doneBefore time.Time) (int, error) {
	return s.execCount(ctx, "prune inbox", "DELETE FROM inbox_items WHERE done_at IS NOT NULL AND done_at < ?", doneBefore.UTC())
}

// InboxItemByID returns one item, done or not.
func (s *Store) InboxItemByID(ctx context.Context, id ID) (*InboxItem, error) {
	it := new(InboxItem)
	if err := s.r.NewSelect().Model(it).ColumnExpr("ii.*").Apply(withBody).Where("ii.id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "inbox item "+id.String())
	}
	return it, nil
}

// ReleaseAllInbox returns every leased inbox item to the queue, due now,
// keeping its attempt count (the crashed attempt may have been the
// item's fault). Like ReleaseAllDeliveries it is for SQLite's start-up,
// where any lease left is from a process that died.
func (s *Store) ReleaseAllInbox(ctx context.Context, now time.Time) (int, error) {
	return s.execCount(ctx, "release orphaned inbox items", `UPDATE inbox_items SET lease_until = NULL, lease_owner = '', next_attempt_at = ?
		WHERE lease_until IS NOT NULL AND done_at IS NULL`, now.UTC())
}

func kindOr(kind string) string {
	if kind == "" {
		return InboxActivity
	}
	return kind
}

// PendingInboxActivity is an activity waiting in the queue, or leased.
type PendingInboxActivity struct {
	ID      ID     `bun:"id"`
	ActorID string `bun:"actor_id"`
}

// PendingInboxActivities lists the activities (not the node's own jobs)
// due by now or leased: what an actor's next activity must come after.
// Items waiting for a retry later are left out, as ClaimInbox lets the
// actor's later activities pass them.
func (s *Store) PendingInboxActivities(ctx context.Context, now time.Time) ([]PendingInboxActivity, error) {
	var out []PendingInboxActivity
	// Two selects, each on its partial index (inbox_items_due,
	// inbox_items_leased), rather than one OR that reads every row.
	err := s.r.NewRaw(`SELECT id, actor_id FROM inbox_items WHERE done_at IS NULL AND next_attempt_at <= ? AND kind = ?
		UNION SELECT id, actor_id FROM inbox_items WHERE lease_until IS NOT NULL AND done_at IS NULL AND kind = ?`,
		now.UTC(), InboxActivity, InboxActivity).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("pending inbox activities: %w", err)
	}
	return out, nil
}
