package storage

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// The mail queue: messages the node sends by mail, one row each, written
// in the transaction of the change that causes them (a reset token and its
// mail, a verified address and the notice to the old one), and sent by
// the mail worker. It is leased like the delivery queue: a claim sets
// lease_until and moves next_attempt_at to it, so leased rows are never
// due, and a row whose worker died is due again when its lease runs out.

// Mail kinds, for logs, metrics and the unsubscribe link's scope.
const (
	MailVerifyEmail  = "verify_email"
	MailEmailChanged = "email_changed"
	MailResetPass    = "reset_password"
	MailApplication  = "application"  // an admin hears of a registration to approve
	MailApproved     = "approved"     // the applicant hears they were approved
	MailNotification = "notification" // notifications, soon after they happened
	MailDigest       = "digest"       // the daily digest of notifications
)

// Mail is one queued message. The bodies are final: the worker only wraps
// them in MIME and the headers.
type Mail struct {
	bun.BaseModel `bun:"table:mail_queue,alias:mq"`

	ID        ID     `bun:"id,pk"`
	AccountID ID     `bun:"account_id,nullzero"`
	To        string `bun:"to_address"`
	Subject   string `bun:"subject"`
	Text      string `bun:"text_body"`
	HTML      string `bun:"html_body"`
	// UnsubscribeURL is the one-click unsubscribe link for
	// List-Unsubscribe; empty for account mail (a reset link is not a
	// list anyone subscribes to).
	UnsubscribeURL string     `bun:"unsubscribe_url"`
	Kind           string     `bun:"kind"`
	Attempts       int        `bun:"attempts"`
	NextAttemptAt  time.Time  `bun:"next_attempt_at"`
	LeaseUntil     *time.Time `bun:"lease_until"`
	LeaseOwner     string     `bun:"lease_owner"`
	LastError      string     `bun:"last_error"`
	ExpiresAt      time.Time  `bun:"expires_at"`
	CreatedAt      time.Time  `bun:"created_at"`
}

// NewMail is a message to queue.
type NewMail struct {
	AccountID      ID // the member it is for; 0 for an address alone
	To             string
	Subject        string
	Text           string
	HTML           string
	UnsubscribeURL string
	Kind           string
	// ValidFor is how long the message is worth sending; past it, a
	// message the server kept refusing is dropped. Zero means
	// DefaultMailValidity.
	ValidFor time.Duration
}

// DefaultMailValidity is how long a message without its own validity is
// retried: long enough to outlast a weekend's mail server outage.
const DefaultMailValidity = 72 * time.Hour

// EnqueueMail queues messages on their own.
func (s *Store) EnqueueMail(ctx context.Context, mails ...NewMail) error {
	return s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return s.enqueueMail(ctx, tx, time.Now().UTC(), mails)
	})
}

// enqueueMail writes messages inside the transaction of the change that
// causes them.
func (s *Store) enqueueMail(ctx context.Context, tx bun.IDB, now time.Time, mails []NewMail) error {
	if len(mails) == 0 {
		return nil
	}
	rows := make([]Mail, 0, len(mails))
	for _, m := range mails {
		addr, err := mail.ParseAddress(m.To)
		if err != nil || addr.Address != m.To {
			return invalid("to", "%q is not a mail address", m.To)
		}
		if m.Subject == "" || m.Text == "" || m.HTML == "" || m.Kind == "" {
			return invalid("", "a mail needs a subject, a text and an HTML body, and a kind")
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			return invalid("subject", "a mail subject is one line")
		}
		valid := m.ValidFor
		if valid <= 0 {
			valid = DefaultMailValidity
		}
		rows = append(rows, Mail{ID: s.NewID(), AccountID: m.AccountID, To: m.To, Subject: m.Subject, Text: m.Text,
			HTML: m.HTML, UnsubscribeURL: m.UnsubscribeURL, Kind: m.Kind, NextAttemptAt: now,
			ExpiresAt: now.Add(valid), CreatedAt: now})
	}
	if _, err := tx.NewInsert().Model(&rows).Returning("NULL").Exec(ctx); err != nil {
		return fmt.Errorf("queue %d mails: %w", len(rows), err)
	}
	return nil
}

// ClaimMail leases up to limit due messages to owner until now+lease,
// oldest due first, counting the attempt. On PostgreSQL, FOR UPDATE SKIP
// LOCKED lets several processes claim at once without taking each
// other's rows; on SQLite the single writer serializes claims.
func (s *Store) ClaimMail(ctx context.Context, owner string, now time.Time, limit int, lease time.Duration) ([]Mail, error) {
	now = now.UTC()
	until := now.Add(lease)
	lock := ""
	if s.Dialect() == dialect.PG {
		lock = "FOR UPDATE SKIP LOCKED"
	}
	var rows []Mail
	err := s.w.NewRaw(`UPDATE mail_queue
		SET lease_owner = ?, lease_until = ?, next_attempt_at = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM mail_queue WHERE next_attempt_at <= ?
			ORDER BY next_attempt_at LIMIT ? `+lock+`)
		RETURNING *`, owner, until, until, now, limit).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	return rows, nil
}

// MailOutcome is what became of an attempt to send a message.
type MailOutcome int

const (
	// MailSent: the server accepted the message; it leaves the queue.
	MailSent MailOutcome = iota + 1
	// MailRetry: the server could not take it now; try again at RetryAt.
	MailRetry
	// MailFailed: it can never go (the server refused the recipient for
	// good, or it expired); it leaves the queue.
	MailFailed
	// MailReleased: not attempted (the worker is stopping); due again at
	// RetryAt, the attempt not counted.
	MailReleased
)

// MailResult reports one claimed message back to the queue.
type MailResult struct {
	ID      ID
	Outcome MailOutcome
	RetryAt time.Time // for MailRetry and MailReleased
	Error   string    // kept in last_error for a retry
}

// FinishMail records a batch of results of owner's claims in one
// transaction. A result for a row owner no longer leases (its lease ran
// out and another worker took it) changes nothing.
func (s *Store) FinishMail(ctx context.Context, owner string, results []MailResult) error {
	if len(results) == 0 {
		return nil
	}
	var done []ID
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		for _, r := range results {
			switch r.Outcome {
			case MailSent, MailFailed:
				done = append(done, r.ID)
			case MailRetry, MailReleased:
				uncount := 0
				if r.Outcome == MailReleased {
					uncount = 1
				}
				_, err := tx.NewRaw(`UPDATE mail_queue SET next_attempt_at = ?, last_error = ?,
					attempts = attempts - ?, lease_until = NULL, lease_owner = ''
					WHERE id = ? AND lease_owner = ?`,
					r.RetryAt.UTC(), truncate(r.Error, 500), uncount, r.ID, owner).Exec(ctx)
				if err != nil {
					return fmt.Errorf("reschedule mail %s: %w", r.ID, err)
				}
			default:
				return fmt.Errorf("mail %s has no outcome", r.ID)
			}
		}
		if len(done) == 0 {
			return nil
		}
		_, err := tx.NewRaw("DELETE FROM mail_queue WHERE id IN (?) AND lease_owner = ?", bun.List(done), owner).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete finished mail: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish %d mails: %w", len(results), err)
	}
	return nil
}

// ReleaseMail gives back every message owner still leases, due now and
// the attempt uncounted: a worker stopping hands over what it never
// started.
func (s *Store) ReleaseMail(ctx context.Context, owner string, now time.Time) (int, error) {
	return s.execCount(ctx, fmt.Sprintf("release mail of %s", owner), `UPDATE mail_queue SET lease_until = NULL, lease_owner = '', next_attempt_at = ?,
		attempts = attempts - 1 WHERE lease_owner = ? AND lease_until IS NOT NULL`, now.UTC(), owner)
}

// ReleaseAllMail makes every leased message due now. On SQLite one
// process owns the queue, so leases found at start are from a process
// that died; what it had claimed goes at once instead of after the lease.
func (s *Store) ReleaseAllMail(ctx context.Context, now time.Time) (int, error) {
	return s.execCount(ctx, "release orphaned mail", `UPDATE mail_queue SET lease_until = NULL, lease_owner = '', next_attempt_at = ?
		WHERE lease_until IS NOT NULL`, now.UTC())
}

// QueuedMail lists the whole queue, oldest first, for tests and the admin
// dashboard (it scans the table: nothing hot may call it).
func (s *Store) QueuedMail(ctx context.Context, limit int) ([]Mail, error) {
	var out []Mail
	err := s.r.NewSelect().Model(&out).OrderExpr("id ASC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("queued mail: %w", err)
	}
	return out, nil
}

// CountQueuedMail counts messages waiting, and of those the ones that
// failed at least once.
func (s *Store) CountQueuedMail(ctx context.Context) (waiting, retrying int64, err error) {
	err = s.r.NewRaw("SELECT COUNT(*), COALESCE(SUM(CASE WHEN last_error <> '' THEN 1 ELSE 0 END), 0) FROM mail_queue").
		Scan(ctx, &waiting, &retrying)
	if err != nil {
		return 0, 0, fmt.Errorf("count queued mail: %w", err)
	}
	return waiting, retrying, nil
}

// mailAdmins queues, inside tx, the mail compose makes for each admin
// with a verified address who wants mail about registrations.
func (s *Store) mailAdmins(ctx context.Context, tx bun.IDB, now time.Time, compose func(admin *Account) (NewMail, error)) error {
	var admins []Account
	err := tx.NewSelect().Model(&admins).
		Where("domain = '' AND role = ? AND suspended = ? AND deleted_at IS NULL AND mail_applications = ?", RoleAdmin, false, true).
		Where("email <> '' AND email_verified_at IS NOT NULL").OrderExpr("id ASC").Scan(ctx)
	if err != nil {
		return fmt.Errorf("list admins to mail: %w", err)
	}
	mails := make([]NewMail, 0, len(admins))
	for i := range admins {
		m, err := compose(&admins[i])
		if err != nil {
			return fmt.Errorf("compose mail to admin %s: %w", admins[i].Handle, err)
		}
		mails = append(mails, m)
	}
	return s.enqueueMail(ctx, tx, now, mails)
}
