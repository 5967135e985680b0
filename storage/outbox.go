package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Event kinds written to the outbox. Federation turns each into the
// activities it implies (Create, Announce, Update, Delete, Like, Undo).
const (
	EventThreadCreate = "thread.create"
	EventThreadDelete = "thread.delete"
	EventPostCreate   = "post.create"
	EventPostUpdate   = "post.update"
	EventPostDelete   = "post.delete"
	EventLikeCreate   = "like.create"
	EventLikeDelete   = "like.delete"

	// EventRemotePostDelete: a remote actor's post was deleted here, by a
	// moderator or by its author's own Delete. PostID and ThreadID name
	// it, AccountID is its (remote) author. Nothing goes to the author's
	// server; the thread's Group may Announce the removal to its
	// followers (FEP-1b12).
	EventRemotePostDelete = "remote_post.delete"
	// EventAccountDelete: member AccountID deleted their account. Their
	// posts are tombstones already (no post.delete event each); federation
	// sends one Delete{Person} to every server that knows them.
	EventAccountDelete = "account.delete"
	// EventThreadMove: thread ThreadID moved from forum FromForumID to
	// forum ForumID. NodeBB expresses it as a Move of the thread's context
	// (origin: the old forum's actor, target: the new one).
	EventThreadMove = "thread.move"
	// EventReportForward: a moderator forwarded report ReportID about
	// remote post PostID (author AccountID) to the author's server.
	// Federation sends a Flag from the instance actor, with object as an
	// array [author, post] as Mastodon expects, and the report's reason as
	// content. The report is marked forwarded when the event is written.
	EventReportForward = "report.forward"
)

// OutboxEvent records a local change that federates. It is written in the
// change's own transaction, so a crash can never separate the two.
type OutboxEvent struct {
	bun.BaseModel `bun:"table:outbox_events,alias:ev"`

	ID          ID         `bun:"id,pk"`
	Kind        string     `bun:"kind"`
	AccountID   ID         `bun:"account_id"`
	PostID      ID         `bun:"post_id"`
	ThreadID    ID         `bun:"thread_id"`
	ForumID     ID         `bun:"forum_id"`
	ReportID    ID         `bun:"report_id"`     // report.forward
	FromForumID ID         `bun:"from_forum_id"` // thread.move
	CreatedAt   time.Time  `bun:"created_at"`
	ProcessedAt *time.Time `bun:"processed_at"`
}

func addEvent(ctx context.Context, tx bun.Tx, ev *OutboxEvent) error {
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = time.Now().UTC()
	}
	if _, err := tx.NewInsert().Model(ev).Returning("NULL").Exec(ctx); err != nil {
		return fmt.Errorf("record %s event: %w", ev.Kind, err)
	}
	return nil
}

// PendingEvents returns unprocessed events, oldest first.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]OutboxEvent, error) {
	h, err := s.hotReads(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := h.pendingEvents.QueryContext(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("pending events: %w", err)
	}
	defer rows.Close()
	var out []OutboxEvent
	rv := newRowValues(len(h.event.Fields))
	for rows.Next() {
		if err := rv.scan(rows); err != nil {
			return nil, fmt.Errorf("pending events: %w", err)
		}
		out = append(out, OutboxEvent{})
		if err := scanFields(h.event, &out[len(out)-1], rv.vals); err != nil {
			return nil, fmt.Errorf("pending events: %w", err)
		}
	}
	return out, wrapIf(rows.Err(), "pending events")
}

// MarkEventProcessed marks an event done inside the caller's transaction
// (the one that wrote its delivery jobs).
func MarkEventProcessed(ctx context.Context, tx bun.IDB, id ID) error {
	_, err := tx.NewUpdate().Model((*OutboxEvent)(nil)).Set("processed_at = ?", time.Now().UTC()).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark event %s processed: %w", id, err)
	}
	return nil
}
