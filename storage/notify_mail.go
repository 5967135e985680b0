package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Notification mail. Every notification is looked at once by the mail
// worker, a few minutes after it was made ([Store.MailNotices]); by then
// the member may have read it on the web, and it is not mailed. What the
// member wants by mail at once is mailed then, in one message; what they
// want in the daily digest waits (MailStateDigest) until their digest is
// due ([Store.MailDigest]). Each step claims its rows with a conditional
// update in the transaction that queues the mail, so two processes never
// mail the same notification.

// Where a notification is on its way to mail (Notification.MailState).
const (
	MailStateNew    = ""       // not looked at yet
	MailStateDigest = "digest" // waits for the member's digest
	MailStateDone   = "done"   // mailed, or never to be
)

// mailable reports whether a member's notifications may be mailed to
// them: a confirmed address and an account in use.
func (a *Account) mailable() bool {
	return a.Domain == "" && a.Email != "" && a.EmailVerifiedAt != nil && !a.Suspended && !a.ApprovalPending &&
		a.DeletedAt == nil
}

// NoticeRecipients lists up to limit members with notifications made at
// or before cutoff that the mail worker has not looked at yet.
func (s *Store) NoticeRecipients(ctx context.Context, cutoff time.Time, limit int) ([]ID, error) {
	var ids []ID
	err := s.r.NewRaw(`SELECT DISTINCT recipient_id FROM notifications
		WHERE mail_state <> 'done' AND mail_state = ? AND created_at <= ? LIMIT ?`,
		MailStateNew, cutoff.UTC(), limit).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("members with notifications to mail: %w", err)
	}
	return ids, nil
}

// NoticeMail makes a member's mail from their notifications, oldest
// first; digest says which of the two mails it is. A mail that cannot be
// made, or that the queue refuses, fails the step with ErrInvalid: the
// caller may look at the notifications again without mail, so one bad
// message does not hold up the member's later ones.
type NoticeMail func(a *Account, entries []NotificationEntry, digest bool) (NewMail, error)

// MailNotices looks at a member's notifications made at or before cutoff
// that were not looked at yet, at most a few hundred at a time, in one
// transaction: those of kinds the member wants by mail at once, still
// unread, go in one mail made by compose and queued; those for the digest
// wait for it, and their digest is scheduled if it was not; the rest are
// done. A nil compose (mail is off) only marks them done. It reports
// whether it queued a mail.
func (s *Store) MailNotices(ctx context.Context, accountID ID, cutoff, now time.Time, compose NoticeMail) (bool, error) {
	return txValue(ctx, s, "mail notifications of "+accountID.String(), func(ctx context.Context, tx bun.Tx) (bool, error) {
		// The claim: the rows this transaction turns done are its own,
		// whoever else looks at the same member meanwhile.
		a, byDelivery, err := claimMailable(ctx, tx, accountID, compose, "notifications to mail", `UPDATE notifications SET mail_state = ?
			WHERE mail_state <> 'done' AND mail_state = ? AND id IN (SELECT id FROM notifications
				WHERE recipient_id = ? AND mail_state <> 'done' AND mail_state = ? AND created_at <= ?
				ORDER BY id LIMIT ?)
			RETURNING id`, MailStateDone, MailStateNew, accountID, MailStateNew, cutoff.UTC(), noticeBatch)
		if err != nil || a == nil {
			return false, err
		}
		mail := byDelivery[DeliverMail]
		var digest []ID
		for _, e := range byDelivery[DeliverDigest] {
			digest = append(digest, e.ID)
		}
		if len(digest) > 0 {
			if _, err := tx.NewRaw("UPDATE notifications SET mail_state = ? WHERE id IN (?)",
				MailStateDigest, bun.List(digest)).Exec(ctx); err != nil {
				return false, fmt.Errorf("keep notifications for the digest: %w", err)
			}
			next := NextDigest(a.Location(), a.DigestHour, now)
			if _, err := tx.NewRaw("UPDATE accounts SET digest_due_at = ? WHERE id = ? AND digest_due_at IS NULL",
				next, accountID).Exec(ctx); err != nil {
				return false, fmt.Errorf("schedule digest: %w", err)
			}
		}
		return s.queueNoticeMail(ctx, tx, now, compose, a, mail, false)
	})
}

// noticeBatch bounds the notifications one step looks at; a member with
// more is looked at again at once.
const noticeBatch = 500

// DueDigests lists up to limit members whose daily digest is due at now.
func (s *Store) DueDigests(ctx context.Context, now time.Time, limit int) ([]ID, error) {
	var ids []ID
	err := s.r.NewRaw("SELECT id FROM accounts WHERE digest_due_at IS NOT NULL AND digest_due_at <= ? ORDER BY digest_due_at LIMIT ?",
		now.UTC(), limit).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("due digests: %w", err)
	}
	return ids, nil
}

// MailDigest sends a member's daily digest if it is due at now: the
// notifications kept for it, still unread and of kinds the member still
// wants in the digest, in one mail made by compose (nil: mail is off,
// nothing is sent). Taking the digest clears its due time in the same
// transaction; the next notification kept for a digest schedules the
// next one. It reports whether it queued a mail.
func (s *Store) MailDigest(ctx context.Context, accountID ID, now time.Time, compose NoticeMail) (bool, error) {
	return txValue(ctx, s, "digest of "+accountID.String(), func(ctx context.Context, tx bun.Tx) (bool, error) {
		res, err := tx.NewRaw("UPDATE accounts SET digest_due_at = NULL WHERE id = ? AND digest_due_at <= ?",
			accountID, now.UTC()).Exec(ctx)
		if err != nil {
			return false, fmt.Errorf("take digest: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return false, nil // not due, or another process took it
		}
		a, byDelivery, err := claimMailable(ctx, tx, accountID, compose, "digest notifications", `UPDATE notifications SET mail_state = ?
			WHERE recipient_id = ? AND mail_state <> 'done' AND mail_state = ? RETURNING id`,
			MailStateDone, accountID, MailStateDigest)
		if err != nil || a == nil {
			return false, err
		}
		return s.queueNoticeMail(ctx, tx, now, compose, a, byDelivery[DeliverDigest], true)
	})
}

// queueNoticeMail makes the mail of entries with compose, the digest or
// not, and queues it in tx; with no entries there is no mail. It reports
// whether it queued one.
func (s *Store) queueNoticeMail(ctx context.Context, tx bun.Tx, now time.Time, compose NoticeMail, a *Account,
	entries []NotificationEntry, digest bool) (bool, error) {
	if len(entries) == 0 {
		return false, nil
	}
	m, err := compose(a, entries, digest)
	if err != nil {
		what := "notification mail"
		if digest {
			what = "digest"
		}
		return false, fmt.Errorf("%w: compose %s: %w", ErrInvalid, what, err)
	}
	return true, s.enqueueMail(ctx, tx, now, []NewMail{m})
}

// claimMailable claims notifications of accountID with claim, an UPDATE
// that turns them done and returns their ids (what names them, for the
// error), then reads the member and the claimed entries they may be mailed
// ([mailableEntries]). The account is nil when nothing was claimed, when
// compose is nil (mail is off: the claim only marks them done) or when
// the member takes no mail.
func claimMailable(ctx context.Context, tx bun.Tx, accountID ID, compose NoticeMail, what, claim string,
	args ...any) (*Account, map[string][]NotificationEntry, error) {
	var claimed []ID
	if err := tx.NewRaw(claim, args...).Scan(ctx, &claimed); err != nil {
		return nil, nil, fmt.Errorf("claim %s: %w", what, err)
	}
	if len(claimed) == 0 || compose == nil {
		return nil, nil, nil
	}
	return mailableEntries(ctx, tx, accountID, claimed)
}

// mailableEntries reads, inside tx, the member and those of the claimed
// notifications still unread, grouped by how the member now wants their
// kind delivered; a member who cannot be mailed is nil. A notification
// about a post the member has seen in its thread counts as read.
func mailableEntries(ctx context.Context, tx bun.Tx, accountID ID, claimed []ID) (*Account, map[string][]NotificationEntry, error) {
	a, err := selectOne[Account](ctx, tx, "account "+accountID.String(), "id = ?", accountID)
	if err != nil {
		return nil, nil, err
	}
	if !a.mailable() {
		return nil, nil, nil
	}
	var entries []NotificationEntry
	if err := entryQuery(tx, &entries).Where("n.id IN (?) AND n.read_at IS NULL", bun.List(claimed)).
		OrderExpr("n.id ASC").Limit(noticeBatch).Scan(ctx); err != nil {
		return nil, nil, fmt.Errorf("notifications to mail: %w", err)
	}
	fixEntries(entries)
	prefs, err := notificationPrefs(ctx, tx, accountID)
	if err != nil {
		return nil, nil, err
	}
	var threads []ID
	for _, e := range entries {
		if e.Post != nil {
			threads = append(threads, e.Post.ThreadID)
		}
	}
	seen, err := readPositions(ctx, tx, accountID, threads)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string][]NotificationEntry)
	for _, e := range entries {
		if e.Post != nil && e.Post.Position <= seen[e.Post.ThreadID] {
			continue
		}
		out[prefs[e.Kind]] = append(out[prefs[e.Kind]], e)
	}
	return a, out, nil
}
