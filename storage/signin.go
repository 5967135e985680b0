package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Sign-in throttling. Guessing is slowed, never turned into a lockout:
//
//   - per client address and account: a few failures are free, then each
//     further one makes that address wait before it may try that account
//     again, twice as long each time (5 s, 10 s, 20 s, ... up to MaxDelay).
//     The owner signing in from their own address is not affected by
//     what another address does; their own success clears the count.
//   - per client address, over all accounts: more failures are free
//     (many people may share an address), then the same growing delay.
//     A successful sign-in does not count.
//
// There is no limit per account alone: one that refuses even the right
// password lets anyone keep anyone locked out by guessing wrong on
// purpose. A guesser with many addresses is slowed by each address's
// delay and by the cost of argon2id.
//
// Counts live in the database, so every process sharing it enforces one
// limit, and an attempt is counted before its password is checked, in a
// transaction that locks the counts: concurrent attempts cannot slip
// past a delay between check and count.

// SignInLimits tunes the throttle; the zero value takes the defaults.
type SignInLimits struct {
	FreePerAccount int           // failures per address and account before delays (default 5)
	FreePerAddress int           // failures per address before delays (default 30)
	FirstDelay     time.Duration // the first wait (default 5 seconds); each next one doubles
	MaxDelay       time.Duration // longest wait imposed (default 15 minutes)
	Forget         time.Duration // failures older than this are forgotten (default 24 hours)
}

func (l SignInLimits) withDefaults() SignInLimits {
	if l.FreePerAccount <= 0 {
		l.FreePerAccount = 5
	}
	if l.FreePerAddress <= 0 {
		l.FreePerAddress = 30
	}
	if l.FirstDelay <= 0 {
		l.FirstDelay = 5 * time.Second
	}
	if l.MaxDelay <= 0 {
		l.MaxDelay = 15 * time.Minute
	}
	if l.Forget <= 0 {
		l.Forget = 24 * time.Hour
	}
	return l
}

// delay is the wait after the nth failure beyond the free ones (n >= 1).
func (l SignInLimits) delay(n int) time.Duration {
	d := l.FirstDelay
	for i := 1; i < n && d < l.MaxDelay; i++ {
		d *= 2
	}
	return min(d, l.MaxDelay)
}

type signInThrottle struct {
	bun.BaseModel `bun:"table:signin_throttle"`

	Key          string `bun:"key,pk"`
	Failures     int    `bun:"failures"`
	BlockedUntil int64  `bun:"blocked_until"`
	LastAt       int64  `bun:"last_at"`
}

func throttleKeys(addr, handle string) (perAddress, perAccount string) {
	h := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])
	}
	return h("addr\x00" + addr), h("acct\x00" + addr + "\x00" + handle)
}

// BeginSignIn counts a sign-in attempt from addr for handle before its
// password is checked. It returns 0 when the attempt may go ahead, or how
// long the address must wait first (nothing is counted then). Call
// SignInSucceeded when the password was right.
func (s *Store) BeginSignIn(ctx context.Context, lim SignInLimits, addr, handle string, now time.Time) (time.Duration, error) {
	lim = lim.withDefaults()
	addrKey, acctKey := throttleKeys(addr, handle)
	nowMS := now.UnixMilli()
	var wait time.Duration
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		rows, err := s.lockThrottle(ctx, tx, addrKey, acctKey)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.BlockedUntil > nowMS {
				wait = max(wait, time.Duration(r.BlockedUntil-nowMS)*time.Millisecond)
			}
		}
		if wait > 0 {
			return nil
		}
		for _, r := range rows {
			free := lim.FreePerAccount
			if r.Key == addrKey {
				free = lim.FreePerAddress
			}
			if r.LastAt < nowMS-lim.Forget.Milliseconds() {
				r.Failures = 0
			}
			r.Failures++
			r.LastAt = nowMS
			// After the free failures, the next attempt waits.
			if over := r.Failures - free + 1; over > 0 {
				r.BlockedUntil = nowMS + lim.delay(over).Milliseconds()
			}
			if _, err := tx.NewUpdate().Model(r).Column("failures", "blocked_until", "last_at").WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("count sign-in attempt: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sign-in throttle: %w", err)
	}
	if rand.IntN(200) == 0 { // now and then, forget the long quiet
		_, _ = s.w.NewDelete().Model((*signInThrottle)(nil)).
			Where("last_at < ? AND blocked_until < ?", nowMS-lim.Forget.Milliseconds(), nowMS).Exec(ctx)
	}
	return wait, nil
}

// lockThrottle makes sure both rows exist and returns them locked for
// the rest of the transaction (PostgreSQL row locks; SQLite's write
// transaction holds the whole database already).
func (s *Store) lockThrottle(ctx context.Context, tx bun.Tx, keys ...string) ([]*signInThrottle, error) {
	rows := make([]*signInThrottle, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, &signInThrottle{Key: k})
	}
	if _, err := tx.NewInsert().Model(&rows).On("CONFLICT (key) DO NOTHING").Exec(ctx); err != nil {
		return nil, fmt.Errorf("sign-in throttle: %w", err)
	}
	rows = rows[:0]
	q := tx.NewSelect().Model(&rows).Where("key IN (?)", bun.List(keys)).OrderExpr("key")
	if s.Dialect() == dialect.PG {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("sign-in throttle: %w", err)
	}
	return rows, nil
}

// SignInSucceeded records that the attempt BeginSignIn counted had the
// right password: the address's count for that account is cleared, and
// the attempt no longer counts against the address.
func (s *Store) SignInSucceeded(ctx context.Context, lim SignInLimits, addr, handle string) error {
	lim = lim.withDefaults()
	addrKey, acctKey := throttleKeys(addr, handle)
	return s.txAs(ctx, "sign-in succeeded", func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*signInThrottle)(nil)).Where("key = ?", acctKey).Exec(ctx); err != nil {
			return err
		}
		// Both SET expressions read the row as it was: the delay this
		// attempt set goes if, uncounted, the address is within its
		// free failures again.
		_, err := tx.NewUpdate().Model((*signInThrottle)(nil)).Set("failures = failures - 1").
			Set("blocked_until = CASE WHEN failures <= ? THEN 0 ELSE blocked_until END", lim.FreePerAddress).
			Where("key = ? AND failures > 0", addrKey).Exec(ctx)
		return err
	})
}
