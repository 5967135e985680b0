package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// A composer form carries a one-time token. The transaction that stores
// the post records the token with the post, so sending the same form
// again (a double click, the back button, a retried request) finds the
// post instead of making a second one. A form that could not be posted
// keeps its fields under its token for a while, so the member gets their
// text back, even when their session had ended and they had to sign in
// first.
const (
	// KeptFormTTL is how long the fields of a form that could not be
	// posted are kept.
	KeptFormTTL = 2 * time.Hour
	// UsedFormTTL is how long a used token is remembered, which is how
	// long a resubmitted form still finds its post.
	UsedFormTTL = 48 * time.Hour
	// maxKeptFields bounds the fields kept for one form.
	maxKeptFields = 16*MaxBodyLen + 64<<10
)

// NewFormToken makes a token for a composer form: 128 random bits.
func NewFormToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// validFormToken keeps junk out of the table: tokens are what
// NewFormToken makes.
func validFormToken(t string) bool { return len(t) >= 16 && len(t) <= 64 }

// formBodyHash identifies what a form posted, so a token sent again with
// other text makes a new post rather than landing on the old one.
func formBodyHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// claimFormToken takes token for a post about to be stored in tx by
// accountID, with text hashed to bodyHash. It returns the id of the post
// the same form already made from the same text, or 0 when the caller
// goes ahead (and records its post with recordFormPost). On PostgreSQL
// the upsert locks the token's row, so a second submit running at the
// same moment waits for the first to commit and then finds its post.
func claimFormToken(ctx context.Context, tx bun.IDB, token string, accountID ID, bodyHash string, now time.Time) (ID, error) {
	if !validFormToken(token) {
		return 0, nil
	}
	h := hashToken(token)
	res, err := tx.NewRaw(`INSERT INTO form_tokens (token_hash, account_id, body_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (token_hash) DO UPDATE SET account_id = EXCLUDED.account_id, body_hash = EXCLUDED.body_hash,
			fields = '', message = '', expires_at = EXCLUDED.expires_at
		WHERE form_tokens.post_id IS NULL AND form_tokens.account_id IN (0, EXCLUDED.account_id)`,
		h, accountID, bodyHash, now, now.Add(UsedFormTTL)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("claim form token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return 0, nil
	}
	var row struct {
		AccountID ID     `bun:"account_id"`
		PostID    *ID    `bun:"post_id"`
		BodyHash  string `bun:"body_hash"`
	}
	err = tx.NewRaw("SELECT account_id, post_id, body_hash FROM form_tokens WHERE token_hash = ?", h).Scan(ctx, &row)
	if err != nil {
		return 0, fmt.Errorf("read form token: %w", err)
	}
	if row.PostID != nil && row.AccountID == accountID && row.BodyHash == bodyHash {
		return *row.PostID, nil
	}
	// Used for other text (an old page sent again with new words), or
	// somebody else's: a new post, which this token cannot guard.
	return 0, nil
}

// recordFormPost notes in tx that token made post postID.
func recordFormPost(ctx context.Context, tx bun.IDB, token string, accountID, postID ID) error {
	if !validFormToken(token) {
		return nil
	}
	_, err := tx.NewRaw("UPDATE form_tokens SET post_id = ? WHERE token_hash = ? AND account_id = ? AND post_id IS NULL",
		postID, hashToken(token), accountID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("record form token: %w", err)
	}
	return nil
}

// KeptForm is a form that could not be posted, kept under its token.
type KeptForm struct {
	// Action is the site path the form posts to.
	Action string
	// Fields are the form's fields, URL-encoded as the browser sent them
	// (files aside: their uploads are named in the fields).
	Fields string
	// Message says why it was not posted.
	Message string
	// PostID is set when the form was posted after all: the page to go
	// to is that post's.
	PostID *ID
}

// KeepForm keeps the fields of a form that could not be posted under its
// token for KeptFormTTL. accountID is 0 when the browser that sent it
// was not signed in (its session had ended); the first member to open
// it then takes it. A token that already made a post keeps nothing.
func (s *Store) KeepForm(ctx context.Context, token string, accountID ID, kf KeptForm) error {
	if !validFormToken(token) {
		return invalid("", "a form without a valid token")
	}
	if len(kf.Fields) > maxKeptFields || len(kf.Action) > 500 || len(kf.Message) > 2000 {
		return invalid("", "the form is too large to keep")
	}
	now := time.Now().UTC()
	_, err := s.w.NewRaw(`INSERT INTO form_tokens (token_hash, account_id, action, fields, message, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (token_hash) DO UPDATE SET action = EXCLUDED.action, fields = EXCLUDED.fields,
			message = EXCLUDED.message, expires_at = EXCLUDED.expires_at,
			account_id = CASE WHEN form_tokens.account_id = 0 THEN EXCLUDED.account_id ELSE form_tokens.account_id END
		WHERE form_tokens.post_id IS NULL AND form_tokens.account_id IN (0, EXCLUDED.account_id)`,
		hashToken(token), accountID, kf.Action, kf.Fields, kf.Message, now, now.Add(KeptFormTTL)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("keep form: %w", err)
	}
	return nil
}

// KeptFormFor returns the form kept under token for member accountID,
// who takes it if a signed-out browser left it. Another member's form,
// an expired one or an unknown token is ErrNotFound.
func (s *Store) KeptFormFor(ctx context.Context, token string, accountID ID) (*KeptForm, error) {
	if !validFormToken(token) {
		return nil, fmt.Errorf("kept form: %w", ErrNotFound)
	}
	h := hashToken(token)
	var row struct {
		AccountID ID        `bun:"account_id"`
		Action    string    `bun:"action"`
		Fields    string    `bun:"fields"`
		Message   string    `bun:"message"`
		PostID    *ID       `bun:"post_id"`
		ExpiresAt time.Time `bun:"expires_at"`
	}
	err := s.w.NewRaw("SELECT account_id, action, fields, message, post_id, expires_at FROM form_tokens WHERE token_hash = ?", h).
		Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (row.ExpiresAt.Before(time.Now()) ||
		row.AccountID != 0 && row.AccountID != accountID) {
		return nil, fmt.Errorf("kept form: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("kept form: %w", err)
	}
	if row.AccountID == 0 {
		res, err := s.w.NewRaw("UPDATE form_tokens SET account_id = ? WHERE token_hash = ? AND account_id = 0", accountID, h).Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("take kept form: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, fmt.Errorf("kept form: %w", ErrNotFound) // another member took it first
		}
	}
	return &KeptForm{Action: row.Action, Fields: row.Fields, Message: row.Message, PostID: row.PostID}, nil
}

// DeleteExpiredFormTokens forgets tokens past their time and returns how
// many.
func (s *Store) DeleteExpiredFormTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.NewRaw("DELETE FROM form_tokens WHERE expires_at < ?", now.UTC()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired form tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
