package storage

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Account tokens are the secrets in links sent by mail: verify an
// address, reset a password. Only the SHA-256 of a token is stored, as for
// sessions; the token itself exists in the mail (and in the mail queue
// until the mail is sent). A token works once and for a limited time.

// Token purposes.
const (
	TokenVerifyEmail   = "verify_email"
	TokenResetPassword = "reset_password"
)

// Token errors, beside ErrNotFound for a token never issued (or swept
// after it expired).
var (
	ErrTokenUsed    = errors.New("this link was used already")
	ErrTokenExpired = errors.New("this link has expired")
	// ErrAddressTaken: the address is verified on another account.
	ErrAddressTaken = errors.New("that address belongs to another account")
)

// AccountToken is an issued token.
type AccountToken struct {
	bun.BaseModel `bun:"table:account_tokens,alias:tok"`

	TokenHash string     `bun:"token_hash,pk"`
	AccountID ID         `bun:"account_id"`
	Purpose   string     `bun:"purpose"`
	Email     string     `bun:"email"` // the address a verification token verifies
	CreatedAt time.Time  `bun:"created_at"`
	ExpiresAt time.Time  `bun:"expires_at"`
	UsedAt    *time.Time `bun:"used_at"`
}

// MailFunc makes the mail that carries a token's link; it runs inside the
// transaction that issues the token, so the two are stored together.
type MailFunc func(token string) (NewMail, error)

func newToken() (token, hash string, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", "", fmt.Errorf("token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(raw)
	return token, hashToken(token), nil
}

// issueToken stores a new token of purpose for the account inside tx and
// queues the mail that carries it. Earlier unused tokens of the same
// purpose stop working: only the newest link counts.
func (s *Store) issueToken(ctx context.Context, tx bun.IDB, now time.Time, accountID ID, purpose, email string, ttl time.Duration, mail MailFunc) error {
	token, hash, err := newToken()
	if err != nil {
		return err
	}
	if _, err := tx.NewDelete().Model((*AccountToken)(nil)).
		Where("account_id = ? AND purpose = ? AND used_at IS NULL", accountID, purpose).Exec(ctx); err != nil {
		return fmt.Errorf("retire earlier tokens: %w", err)
	}
	t := &AccountToken{TokenHash: hash, AccountID: accountID, Purpose: purpose, Email: email,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if _, err := tx.NewInsert().Model(t).Returning("NULL").Exec(ctx); err != nil {
		return fmt.Errorf("store token: %w", err)
	}
	m, err := mail(token)
	if err != nil {
		return fmt.Errorf("compose %s mail: %w", purpose, err)
	}
	return s.enqueueMail(ctx, tx, now, []NewMail{m})
}

// IssueToken issues a token of purpose to a member and queues the mail
// made from it, in one transaction. For TokenVerifyEmail, email is the
// address the link verifies.
func (s *Store) IssueToken(ctx context.Context, accountID ID, purpose, email string, ttl time.Duration, mail MailFunc) error {
	if purpose != TokenVerifyEmail && purpose != TokenResetPassword {
		return invalid("purpose", "token purpose %q", purpose)
	}
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return s.issueToken(ctx, tx, time.Now().UTC(), accountID, purpose, email, ttl, mail)
	})
	if err != nil {
		return fmt.Errorf("issue %s token: %w", purpose, err)
	}
	return nil
}

// CheckToken returns a token of purpose and its member without using it,
// for the page that shows what the link will do. It fails with
// ErrNotFound, ErrTokenUsed or ErrTokenExpired.
func (s *Store) CheckToken(ctx context.Context, purpose, token string) (*AccountToken, *Account, error) {
	t, a, err := checkToken(ctx, s.r, purpose, token, time.Now())
	if err != nil {
		return nil, nil, fmt.Errorf("check token: %w", err)
	}
	return t, a, nil
}

func checkToken(ctx context.Context, db bun.IDB, purpose, token string, now time.Time) (*AccountToken, *Account, error) {
	if token == "" || len(token) > 100 {
		return nil, nil, ErrNotFound
	}
	t := new(AccountToken)
	err := db.NewSelect().Model(t).Where("token_hash = ? AND purpose = ?", hashToken(token), purpose).Scan(ctx)
	if err != nil {
		return nil, nil, notFound(err, "token")
	}
	switch {
	case t.UsedAt != nil:
		return nil, nil, ErrTokenUsed
	case !now.Before(t.ExpiresAt):
		return nil, nil, ErrTokenExpired
	}
	a := new(Account)
	err = db.NewSelect().Model(a).Where("id = ? AND domain = '' AND deleted_at IS NULL", t.AccountID).Scan(ctx)
	if err != nil {
		return nil, nil, notFound(err, "token's member")
	}
	return t, a, nil
}

// useToken checks a token inside tx and marks it used; only one of two
// uses at once can succeed (the update is conditional on used_at).
func useToken(ctx context.Context, tx bun.Tx, purpose, token string, now time.Time) (*AccountToken, *Account, error) {
	t, a, err := checkToken(ctx, tx, purpose, token, now)
	if err != nil {
		return nil, nil, err
	}
	res, err := tx.NewUpdate().Model((*AccountToken)(nil)).Set("used_at = ?", now).
		Where("token_hash = ? AND used_at IS NULL", t.TokenHash).Exec(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("use token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, nil, ErrTokenUsed
	}
	return t, a, nil
}

// ResetPassword uses a reset token: the member's password becomes hash,
// every session of theirs ends and their other reset links stop working,
// in one transaction. It returns the member, for the caller to start the
// one new session.
func (s *Store) ResetPassword(ctx context.Context, token, hash string) (*Account, error) {
	return txValue(ctx, s, "reset password", func(ctx context.Context, tx bun.Tx) (*Account, error) {
		now := time.Now().UTC()
		_, a, err := useToken(ctx, tx, TokenResetPassword, token, now)
		if err != nil {
			return nil, err
		}
		if _, err := tx.NewDelete().Model((*AccountToken)(nil)).
			Where("account_id = ? AND purpose = ? AND used_at IS NULL", a.ID, TokenResetPassword).Exec(ctx); err != nil {
			return nil, fmt.Errorf("retire other reset tokens: %w", err)
		}
		if err := setPassword(ctx, tx, a.ID, hash, ""); err != nil {
			return nil, err
		}
		a.PasswordHash = hash
		return a, nil
	})
}

// VerifyEmail uses a verification token: its address becomes the
// member's verified address. When it replaces another verified address,
// notice makes the mail that tells the old address, queued in the same
// transaction. An address verified on another account (compared without
// case) is refused with ErrAddressTaken and the token stays unused.
func (s *Store) VerifyEmail(ctx context.Context, token string, notice func(a *Account, old string) (NewMail, error)) (*Account, error) {
	return txValue(ctx, s, "verify address", func(ctx context.Context, tx bun.Tx) (*Account, error) {
		now := time.Now().UTC()
		t, a, err := checkToken(ctx, tx, TokenVerifyEmail, token, now)
		if err != nil {
			return nil, err
		}
		taken, err := tx.NewSelect().Model((*Account)(nil)).
			Where("lower(email) = ? AND email_verified_at IS NOT NULL AND email <> '' AND id <> ?", strings.ToLower(t.Email), a.ID).Exists(ctx)
		if err != nil {
			return nil, fmt.Errorf("check address: %w", err)
		}
		if taken {
			return nil, ErrAddressTaken
		}
		if _, _, err := useToken(ctx, tx, TokenVerifyEmail, token, now); err != nil {
			return nil, err
		}
		_, err = tx.NewUpdate().Model((*Account)(nil)).Set("email = ?", t.Email).Set("email_verified_at = ?", now).
			Where("id = ?", a.ID).Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("set verified address: %w", err)
		}
		old, wasVerified := a.Email, a.EmailVerifiedAt != nil
		a.Email, a.EmailVerifiedAt = t.Email, &now
		if wasVerified && old != "" && !strings.EqualFold(old, t.Email) && notice != nil {
			m, err := notice(a, old)
			if err != nil {
				return nil, fmt.Errorf("compose change notice: %w", err)
			}
			return a, s.enqueueMail(ctx, tx, now, []NewMail{m})
		}
		return a, nil
	})
}

// MemberByVerifiedEmail finds the member whose verified address is email,
// compared without case.
func (s *Store) MemberByVerifiedEmail(ctx context.Context, email string) (*Account, error) {
	a := new(Account)
	err := s.r.NewSelect().Model(a).
		Where("lower(email) = ? AND email_verified_at IS NOT NULL AND email <> '' AND domain = '' AND deleted_at IS NULL",
			strings.ToLower(strings.TrimSpace(email))).Limit(1).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "member by address")
	}
	return a, nil
}

// SweepAccountTokens deletes tokens past their expiry, used or not.
func (s *Store) SweepAccountTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.NewDelete().Model((*AccountToken)(nil)).Where("expires_at <= ?", now.UTC()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("sweep account tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// PendingEmail returns the address a member asked to change to and has
// not verified yet, or "".
func (s *Store) PendingEmail(ctx context.Context, accountID ID) (string, error) {
	var out []string
	err := s.r.NewSelect().Model((*AccountToken)(nil)).Column("email").
		Where("account_id = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?", accountID, TokenVerifyEmail, time.Now().UTC()).
		OrderExpr("created_at DESC").Limit(1).Scan(ctx, &out)
	if err != nil {
		return "", fmt.Errorf("pending address: %w", err)
	}
	if len(out) == 0 {
		return "", nil
	}
	return out[0], nil
}
