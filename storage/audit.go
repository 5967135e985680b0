package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Operator is the "by" of moderation actions taken at the shell: the
// person who runs the node, who has no account of their own.
const Operator ID = 0

// Audit actions. Every moderation method of the store writes one of these
// in its own transaction, so the log can never miss an action that
// happened nor show one that did not.
const (
	AuditReportDismiss    = "report.dismiss"
	AuditReportResolve    = "report.resolve"
	AuditReportForward    = "report.forward"
	AuditPostRemove       = "post.remove"
	AuditThreadRemove     = "thread.remove"
	AuditThreadPin        = "thread.pin"
	AuditThreadUnpin      = "thread.unpin"
	AuditThreadLock       = "thread.lock"
	AuditThreadUnlock     = "thread.unlock"
	AuditThreadMove       = "thread.move"
	AuditAccountSuspend   = "account.suspend"
	AuditAccountRestore   = "account.unsuspend"
	AuditAccountSilence   = "account.silence"
	AuditAccountUnsilence = "account.unsilence"
	AuditAccountRole      = "account.role"
	AuditAccountApprove   = "account.approve"
	AuditAccountReject    = "account.reject"
	AuditAccountDelete    = "account.delete" // a member deleted their own account
	AuditDomainBlock      = "domain.block"
	AuditDomainUnblock    = "domain.unblock"
	AuditDomainAllow      = "domain.allow"
	AuditDomainDisallow   = "domain.disallow"
	AuditForumCreate      = "forum.create"
	AuditForumUpdate      = "forum.update"
	AuditMediaRemove      = "media.remove"
)

// What an audit entry is about.
const (
	TargetPost    = "post"
	TargetThread  = "thread"
	TargetAccount = "account"
	TargetDomain  = "domain"
	TargetForum   = "forum"
	TargetReport  = "report"
	TargetMedia   = "media"
)

// AuditEntry is one moderation action: who (ActorID, Operator for the
// shell), what (Action), on what (TargetKind and TargetID: an id in base
// 36 or a host) and a line of detail for people.
type AuditEntry struct {
	bun.BaseModel `bun:"table:audit_log,alias:audit"`

	ID         ID        `bun:"id,pk"`
	ActorID    ID        `bun:"actor_id"`
	Action     string    `bun:"action"`
	TargetKind string    `bun:"target_kind"`
	TargetID   string    `bun:"target_id"`
	Detail     string    `bun:"detail"`
	CreatedAt  time.Time `bun:"created_at"`

	Actor *Account `bun:"rel:belongs-to,join:actor_id=id"`
}

// ActorName is who acted, for pages and the shell.
func (e *AuditEntry) ActorName() string {
	if e.ActorID == Operator || e.Actor == nil {
		return "operator"
	}
	return e.Actor.Acct()
}

// audit writes an entry inside tx.
func (s *Store) audit(ctx context.Context, tx bun.Tx, by ID, action, kind, target, detail string) error {
	e := &AuditEntry{ID: s.NewID(), ActorID: by, Action: action, TargetKind: kind, TargetID: target,
		Detail: detail, CreatedAt: time.Now().UTC()}
	if _, err := tx.NewInsert().Model(e).Exec(ctx); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// ListAudit pages the audit log newest first; before is the last id of
// the previous page (0 for the first).
func (s *Store) ListAudit(ctx context.Context, before ID, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	q := s.r.NewSelect().Model(&out).Relation("Actor")
	if err := scanNewest(ctx, q, "audit.id", before, limit); err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	return out, nil
}
