package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// The delivery queue: activities the node sends and one job per target
// inbox, in our own tables rather than a queue library because the jobs
// must be written in the transaction of the change they announce (a queue
// library would want its own insert per job) and because a fan-out wants
// thousands of jobs written with a few multi-row INSERTs and claimed and
// completed in batches.
//
// This file writes the queue; [Store.ClaimDeliveries] and
// [Store.FinishDeliveries] lease and complete jobs; [RemoteHost] keeps
// hosts' health.

// ErrEventProcessed means CompleteEvent found the event already done,
// usually by another process sharing the database: nothing was written.
var ErrEventProcessed = errors.New("outbox event already processed")

// Activity is an activity the node sends: the exact JSON that goes on the
// wire, who it is from and which local key signs it.
type Activity struct {
	bun.BaseModel `bun:"table:activities,alias:act"`

	ID           ID        `bun:"id,pk"`
	APID         string    `bun:"ap_id"`
	ActorID      string    `bun:"actor_id"`       // the signing actor's AP id: always the activity's actor
	KeyOwnerKind string    `bun:"key_owner_kind"` // KeyOwnerMember, KeyOwnerForum, ...
	KeyOwnerID   ID        `bun:"key_owner_id"`
	Body         string    `bun:"body"`
	CreatedAt    time.Time `bun:"created_at"`
}

// Delivery is one job: carry an activity to one inbox.
type Delivery struct {
	bun.BaseModel `bun:"table:deliveries,alias:d"`

	ID            ID         `bun:"id,pk"`
	ActivityID    ID         `bun:"activity_id"`
	Inbox         string     `bun:"inbox"`
	Host          string     `bun:"host"`
	Attempts      int        `bun:"attempts"`
	NextAttemptAt time.Time  `bun:"next_attempt_at"`
	LeaseUntil    *time.Time `bun:"lease_until"`
	LeaseOwner    string     `bun:"lease_owner"`
	LastError     string     `bun:"last_error"`
	FollowerID    ID         `bun:"follower_id,nullzero"` // set for a personal inbox: the follower to drop on 410 Gone
	CreatedAt     time.Time  `bun:"created_at"`
}

// NewActivity is an activity to send and the inboxes to send it to.
type NewActivity struct {
	APID         string
	ActorID      string
	KeyOwnerKind string
	KeyOwnerID   ID
	Body         []byte
	Inboxes      []Recipient
}

// Recipient is one remote actor to reach. When SharedInbox is set the job
// goes there, once for every recipient on that server.
type Recipient struct {
	Inbox       string
	SharedInbox string
	FollowerID  ID // the remote account behind Inbox, for 410 Gone; 0 if unknown
}

// CompleteEvent turns a processed outbox event into its activities and
// delivery jobs, and marks the event processed, all in one transaction: a
// crash leaves either the event pending or everything written. When
// another process got there first it returns ErrEventProcessed and writes
// nothing.
func (s *Store) CompleteEvent(ctx context.Context, eventID ID, acts []NewActivity) error {
	now := time.Now().UTC()
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		// Claim the event first: on PostgreSQL a second process blocks on
		// this row until the first commits, then finds it processed.
		res, err := tx.NewUpdate().Model((*OutboxEvent)(nil)).Set("processed_at = ?", now).
			Where("id = ? AND processed_at IS NULL", eventID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("mark event processed: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrEventProcessed
		}
		return s.insertActivities(ctx, tx, now, acts)
	})
	if err != nil {
		return fmt.Errorf("complete event %s: %w", eventID, err)
	}
	return nil
}

// CompleteEvents marks events that send nothing processed, in one
// transaction: most events of remote posts (a reply nobody follows the
// thread for) have no activities, and a transaction each would load the
// single writer for nothing. Events processed already are left alone.
func (s *Store) CompleteEvents(ctx context.Context, eventIDs []ID) error {
	if len(eventIDs) == 0 {
		return nil
	}
	_, err := s.w.NewUpdate().Model((*OutboxEvent)(nil)).Set("processed_at = ?", time.Now().UTC()).
		Where("id IN (?) AND processed_at IS NULL", bun.List(eventIDs)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("complete %d events: %w", len(eventIDs), err)
	}
	return nil
}

// EnqueueActivities queues activities that no outbox event stands for,
// such as the Accept of a remote Follow.
func (s *Store) EnqueueActivities(ctx context.Context, acts []NewActivity) error {
	now := time.Now().UTC()
	return s.txAs(ctx, "enqueue activities", func(ctx context.Context, tx bun.Tx) error {
		return s.insertActivities(ctx, tx, now, acts)
	})
}

// insertActivities writes activities and their jobs inside tx. Jobs to a
// host that is unavailable are scheduled behind its next probe, like the
// rest of that host's queue.
func (s *Store) insertActivities(ctx context.Context, tx bun.Tx, now time.Time, acts []NewActivity) error {
	if len(acts) == 0 {
		return nil
	}
	rows := make([]Activity, 0, len(acts))
	var jobs []Delivery
	hosts := map[string]bool{}
	for _, a := range acts {
		if a.APID == "" || a.ActorID == "" || a.KeyOwnerKind == "" {
			return invalid("", "activity needs an id, an actor and a key owner")
		}
		if !json.Valid(a.Body) {
			return invalid("body", "activity %s: body is not JSON", a.APID)
		}
		act := Activity{ID: s.NewID(), APID: a.APID, ActorID: a.ActorID, KeyOwnerKind: a.KeyOwnerKind,
			KeyOwnerID: a.KeyOwnerID, Body: string(a.Body), CreatedAt: now}
		rows = append(rows, act)
		for _, t := range deliveryTargets(a.Inboxes) {
			jobs = append(jobs, Delivery{ID: s.NewID(), ActivityID: act.ID, Inbox: t.inbox, Host: t.host,
				NextAttemptAt: now, FollowerID: t.followerID, CreatedAt: now})
			hosts[t.host] = true
		}
	}

	probes, err := unavailableHosts(ctx, tx, hosts)
	if err != nil {
		return err
	}
	for i := range jobs {
		if probe, ok := probes[jobs[i].Host]; ok {
			jobs[i].NextAttemptAt = probe.Add(HostProbeInterval)
		}
	}

	if _, err := tx.NewInsert().Model(&rows).Returning("NULL").Exec(ctx); err != nil {
		return fmt.Errorf("insert activities: %w", err)
	}
	if s.Dialect() == dialect.PG {
		// A round trip per row would cost more than parsing the text.
		// Returning("NULL"): bun would otherwise read back the NULL
		// columns of every row.
		for start := 0; start < len(jobs); start += deliveryBatch {
			chunk := jobs[start:min(start+deliveryBatch, len(jobs))]
			if _, err := tx.NewInsert().Model(&chunk).Returning("NULL").Exec(ctx); err != nil {
				return fmt.Errorf("insert deliveries: %w", err)
			}
		}
		return nil
	}
	// On SQLite one statement, prepared in the transaction and bound row
	// by row: bun's multi-row INSERTs (every value in the SQL text) cost
	// twice the CPU, most of it SQLite parsing the text and its C
	// allocator mapping and unmapping the buffers that takes, and this
	// step stands between a post and its first delivery.
	ins, err := tx.PrepareContext(ctx, sqlInsertDelivery)
	if err != nil {
		return fmt.Errorf("prepare the delivery insert: %w", err)
	}
	defer ins.Close()
	for i := range jobs {
		j := &jobs[i]
		var follower any
		if j.FollowerID != 0 {
			follower = int64(j.FollowerID)
		}
		if _, err := ins.ExecContext(ctx, int64(j.ID), int64(j.ActivityID), j.Inbox, j.Host,
			s.timeArg(j.NextAttemptAt), follower, s.timeArg(j.CreatedAt)); err != nil {
			return fmt.Errorf("insert delivery to %s: %w", j.Inbox, err)
		}
	}
	return nil
}

// sqlInsertDelivery writes one job on SQLite (see insertActivities).
const sqlInsertDelivery = "INSERT INTO deliveries (id, activity_id, inbox, host, attempts, next_attempt_at, follower_id, created_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?)"

// deliveryBatch is how many jobs one INSERT writes on PostgreSQL: a
// 10,000-follower fan-out is a handful of statements, each well under a
// megabyte.
const deliveryBatch = 500

type deliveryTarget struct {
	inbox      string
	host       string
	followerID ID
}

// deliveryTargets picks one inbox per recipient (the shared one when the
// server offers it) and keeps each inbox once. A recipient whose inbox is
// not an absolute http(s) URL is skipped: one broken remote actor must not
// stop a post from reaching everyone else.
func deliveryTargets(rs []Recipient) []deliveryTarget {
	out := make([]deliveryTarget, 0, len(rs))
	// inbox -> index in out, or -1 for an inbox that is no URL. A shared
	// inbox is parsed once, however many followers it serves.
	seen := make(map[string]int, len(rs))
	for _, r := range rs {
		inbox, follower := r.Inbox, r.FollowerID
		if r.SharedInbox != "" {
			// A 410 from a shared inbox says nothing about one follower.
			inbox, follower = r.SharedInbox, 0
		}
		if i, dup := seen[inbox]; dup {
			// Two followers behind one personal inbox: a 410 there
			// cannot be pinned on either.
			if i >= 0 && out[i].followerID != follower {
				out[i].followerID = 0
			}
			continue
		}
		host, ok := inboxHost(inbox)
		if !ok {
			seen[inbox] = -1
			continue
		}
		seen[inbox] = len(out)
		out = append(out, deliveryTarget{inbox: inbox, host: host, followerID: follower})
	}
	return out
}

// inboxHost returns the lower-case host[:port] of an inbox URL, the unit
// the workers limit concurrency by and track health for.
func inboxHost(inbox string) (string, bool) {
	u, err := url.Parse(inbox)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", false
	}
	return strings.ToLower(u.Host), true
}
