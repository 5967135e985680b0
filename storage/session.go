package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Session is a signed-in browser. Only the SHA-256 of the token is stored,
// so a copy of the database does not let anyone sign in.
type Session struct {
	bun.BaseModel `bun:"table:sessions"`

	TokenHash string    `bun:"token_hash,pk"`
	AccountID ID        `bun:"account_id"`
	CreatedAt time.Time `bun:"created_at"`
	ExpiresAt time.Time `bun:"expires_at"`
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateSession starts a session for a member and returns its secret token.
func (s *Store) CreateSession(ctx context.Context, accountID ID, ttl time.Duration) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("session token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := time.Now().UTC()
	sess := &Session{TokenHash: hashToken(token), AccountID: accountID, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if _, err := s.w.NewInsert().Model(sess).Returning("NULL").Exec(ctx); err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

// SessionMember returns the member a live session token belongs to.
// Suspended or deleted members, and registrations waiting for approval,
// have no session.
func (s *Store) SessionMember(ctx context.Context, token string) (*Account, error) {
	if token == "" || len(token) > 100 {
		return nil, fmt.Errorf("session: %w", ErrNotFound)
	}
	h, err := s.hotReads(ctx)
	if err != nil {
		return nil, err
	}
	a, err := h.queryAccount(ctx, h.sessionMember, hashToken(token), s.timeArg(time.Now()), false, false)
	if err != nil {
		return nil, notFound(err, "session")
	}
	return a, nil
}

// DeleteSession signs a browser out.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	_, err := s.w.NewDelete().Model((*Session)(nil)).Where("token_hash = ?", hashToken(token)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions past their expiry.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res, err := s.w.NewDelete().Model((*Session)(nil)).Where("expires_at <= ?", time.Now().UTC()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
