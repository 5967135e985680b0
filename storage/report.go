package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// Report statuses.
const (
	ReportOpen      = "open"
	ReportDismissed = "dismissed"
	ReportResolved  = "resolved"
)

// What a moderator does with a report (ResolveReport).
const (
	ReportActionDismiss       = "dismiss" // nothing wrong: close it
	ReportActionDeletePost    = "delete"  // delete the reported post
	ReportActionSuspendAuthor = "suspend" // suspend the post's author (or the reported account)
)

// MaxReportReason bounds what a reporter writes, in bytes.
const MaxReportReason = 2000

// Report is a member's or a remote server's complaint about a post, or
// about an account as a whole (a remote Flag that names only an actor:
// PostID is nil). AccountID is the reported account: the post's author.
type Report struct {
	bun.BaseModel `bun:"table:reports,alias:report"`

	ID             ID         `bun:"id,pk"`
	ReporterID     ID         `bun:"reporter_id"`
	AccountID      ID         `bun:"account_id"`
	PostID         *ID        `bun:"post_id"`
	Reason         string     `bun:"reason"`
	Status         string     `bun:"status"`
	Resolution     string     `bun:"resolution"` // the ReportAction taken, once closed
	CreatedAt      time.Time  `bun:"created_at"`
	ResolvedBy     *ID        `bun:"resolved_by"`
	ResolvedAt     *time.Time `bun:"resolved_at"`
	RemoteFlagAPID *string    `bun:"remote_flag_ap_id"` // the Flag activity it came from
	Forwarded      bool       `bun:"forwarded"`         // sent on to the author's server as a Flag

	Reporter *Account `bun:"rel:belongs-to,join:reporter_id=id"`
	Account  *Account `bun:"rel:belongs-to,join:account_id=id"`
	Post     *Post    `bun:"rel:belongs-to,join:post_id=id"`
}

// NewReport is a report as a member's form or a remote Flag supplies it.
// For a post, PostID is enough (AccountID is filled from its author);
// for an account alone, give AccountID and no PostID.
type NewReport struct {
	ReporterID ID
	PostID     *ID
	AccountID  ID
	Reason     string
	// RemoteFlagAPID is the id of the Flag activity a remote server sent;
	// a Flag delivered twice makes one report per post, not two.
	RemoteFlagAPID *string
}

// CreateReport files a report. A member reporting a post they already
// reported, while that report is open, gets the open report back; so
// does a Flag delivered again.
func (s *Store) CreateReport(ctx context.Context, nr NewReport) (*Report, error) {
	nr.Reason = strings.TrimSpace(nr.Reason)
	if len(nr.Reason) > MaxReportReason || !utf8.ValidString(nr.Reason) {
		return nil, invalid("reason", "a reason is at most %d characters of text", MaxReportReason)
	}
	return txValue(ctx, s, "create report", func(ctx context.Context, tx bun.Tx) (*Report, error) {
		if nr.PostID != nil {
			p, err := selectOne[Post](ctx, tx, "post "+nr.PostID.String(), "id = ?", *nr.PostID)
			if err != nil {
				return nil, err
			}
			nr.AccountID = p.AuthorID
		} else if nr.AccountID == 0 {
			return nil, invalid("", "a report needs a post or an account")
		}
		existing := new(Report)
		q := tx.NewSelect().Model(existing).Where("account_id = ?", nr.AccountID)
		if nr.PostID != nil {
			q = q.Where("post_id = ?", *nr.PostID)
		} else {
			q = q.Where("post_id IS NULL")
		}
		if nr.RemoteFlagAPID != nil {
			q = q.Where("remote_flag_ap_id = ?", *nr.RemoteFlagAPID)
		} else {
			q = q.Where("reporter_id = ? AND status = ? AND remote_flag_ap_id IS NULL", nr.ReporterID, ReportOpen)
		}
		if err := q.Limit(1).Scan(ctx); err == nil {
			return existing, nil
		}
		r := &Report{ID: s.NewID(), ReporterID: nr.ReporterID, AccountID: nr.AccountID, PostID: nr.PostID,
			Reason: nr.Reason, Status: ReportOpen, CreatedAt: time.Now().UTC(), RemoteFlagAPID: nr.RemoteFlagAPID}
		if _, err := tx.NewInsert().Model(r).Exec(ctx); err != nil {
			return nil, fmt.Errorf("insert report: %w", err)
		}
		return r, nil
	})
}

// ReportByID loads a report with its reporter, the reported account and
// the post (deleted or not).
func (s *Store) ReportByID(ctx context.Context, id ID) (*Report, error) {
	r := new(Report)
	err := s.r.NewSelect().Model(r).Relation("Reporter").Relation("Account").Relation("Post").
		Where("report.id = ?", id).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "report "+id.String())
	}
	return r, nil
}

// ListReports pages the reports of one status (all when status is ""),
// oldest first: the queue moderators work through. after is the last id
// of the previous page, 0 for the first.
func (s *Store) ListReports(ctx context.Context, status string, after ID, limit int) ([]Report, error) {
	var out []Report
	q := s.r.NewSelect().Model(&out).Relation("Reporter").Relation("Account").Relation("Post").
		Where("report.id > ?", after)
	if status != "" {
		q = q.Where("report.status = ?", status)
	}
	if err := q.OrderExpr("report.id ASC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	return out, nil
}

// CountReports counts reports of one status.
func (s *Store) CountReports(ctx context.Context, status string) (int64, error) {
	n, err := s.r.NewSelect().Model((*Report)(nil)).Where("status = ?", status).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count reports: %w", err)
	}
	return int64(n), nil
}

// ResolveReport closes an open report with an action, in one transaction
// with the action itself and its audit entry: dismiss closes it as
// dismissed; delete removes the post (and closes every open report about
// it); suspend suspends the reported account (and closes every open
// report about that account).
func (s *Store) ResolveReport(ctx context.Context, by, reportID ID, action string) error {
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		r, err := selectOne[Report](ctx, tx, "report "+reportID.String(), "id = ?", reportID)
		if err != nil {
			return err
		}
		if r.Status != ReportOpen {
			return invalid("", "the report is %s already", r.Status)
		}
		now := time.Now().UTC()
		closeReports := func(status string) *bun.UpdateQuery {
			return tx.NewUpdate().Model((*Report)(nil)).
				Set("status = ?", status).Set("resolution = ?", action).
				Set("resolved_by = ?", by).Set("resolved_at = ?", now).Where("status = ?", ReportOpen)
		}
		detail := "report " + r.ID.String()
		switch action {
		case ReportActionDismiss:
			if _, err := closeReports(ReportDismissed).Where("id = ?", r.ID).Exec(ctx); err != nil {
				return fmt.Errorf("dismiss report: %w", err)
			}
			return s.audit(ctx, tx, by, AuditReportDismiss, TargetReport, r.ID.String(), "")
		case ReportActionDeletePost:
			if r.PostID == nil {
				return invalid("action", "this report is about an account, not a post")
			}
			if err := mayRemovePost(ctx, tx, by, *r.PostID); err != nil {
				return err
			}
			if _, err := s.deletePost(ctx, tx, *r.PostID); err != nil {
				return err
			}
			if _, err := closeReports(ReportResolved).Where("post_id = ?", *r.PostID).Exec(ctx); err != nil {
				return fmt.Errorf("resolve reports: %w", err)
			}
			if err := s.audit(ctx, tx, by, AuditPostRemove, TargetPost, r.PostID.String(), detail); err != nil {
				return err
			}
		case ReportActionSuspendAuthor:
			if err := mayActOn(ctx, tx, by, r.AccountID, false); err != nil {
				return err
			}
			if err := bumpPolicy(ctx, tx); err != nil {
				return err
			}
			if _, err := tx.NewUpdate().Model((*Account)(nil)).Set("suspended = ?", true).Where("id = ?", r.AccountID).Exec(ctx); err != nil {
				return fmt.Errorf("suspend: %w", err)
			}
			if _, err := tx.NewDelete().Model((*Session)(nil)).Where("account_id = ?", r.AccountID).Exec(ctx); err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
			if err := forgetNotifications(ctx, tx, "n.actor_id = ?", r.AccountID); err != nil {
				return err
			}
			if _, err := closeReports(ReportResolved).Where("account_id = ?", r.AccountID).Exec(ctx); err != nil {
				return fmt.Errorf("resolve reports: %w", err)
			}
			if err := s.audit(ctx, tx, by, AuditAccountSuspend, TargetAccount, r.AccountID.String(), detail); err != nil {
				return err
			}
		default:
			return invalid("action", "unknown report action %q", action)
		}
		return s.audit(ctx, tx, by, AuditReportResolve, TargetReport, r.ID.String(), action)
	})
	if action == ReportActionSuspendAuthor {
		s.policy.invalidate() // ActorSuspended must see it at once
	}
	if err != nil {
		return fmt.Errorf("resolve report: %w", err)
	}
	return nil
}

// ForwardReport sends a report about a remote actor's post on to their
// server: it records a report.forward event (federation turns it into a
// Flag) and marks the report forwarded. Reports about members of this
// node have nowhere to go and are refused with ErrInvalid.
func (s *Store) ForwardReport(ctx context.Context, by, reportID ID) error {
	return s.txAs(ctx, "forward report", func(ctx context.Context, tx bun.Tx) error {
		r := new(Report)
		if err := tx.NewSelect().Model(r).Relation("Account").Where("report.id = ?", reportID).Scan(ctx); err != nil {
			return notFound(err, "report "+reportID.String())
		}
		if r.Account == nil || r.Account.IsLocal() {
			return invalid("", "only reports about remote accounts can be forwarded")
		}
		if r.Forwarded {
			return nil
		}
		if _, err := tx.NewUpdate().Model((*Report)(nil)).Set("forwarded = ?", true).Where("id = ?", r.ID).Exec(ctx); err != nil {
			return fmt.Errorf("mark forwarded: %w", err)
		}
		if err := addEvent(ctx, tx, &OutboxEvent{ID: s.NewID(), Kind: EventReportForward, AccountID: r.AccountID,
			PostID: derefID(r.PostID), ReportID: r.ID}); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, AuditReportForward, TargetReport, r.ID.String(), "to "+r.Account.Domain)
	})
}
