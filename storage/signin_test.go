package storage_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// Two processes on one database enforce one limit: attempts from one
// address at one account, sent to both at once, get exactly the free
// failures through between them, not twice as many.
func TestSignInThrottleIsShared(t *testing.T) {
	storagetest.ForEachDialectShared(t, func(t *testing.T, s *storage.Store, opts storage.Options) {
		ctx := context.Background()
		other := storagetest.OpenWith(t, opts)
		lim := storage.SignInLimits{FreePerAccount: 3, FreePerAddress: 100}
		now := time.Now()
		var through atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			store := s
			if i%2 == 1 {
				store = other
			}
			wg.Go(func() {
				wait, err := store.BeginSignIn(ctx, lim, "203.0.113.9", "alice", now)
				if err != nil {
					t.Error(err)
				}
				if wait == 0 {
					through.Add(1)
				}
			})
		}
		wg.Wait()
		if n := through.Load(); n != 3 {
			t.Fatalf("%d attempts went through, want the 3 free ones", n)
		}
		// Another address, and the right password from it, are not held up.
		if wait, _ := other.BeginSignIn(ctx, lim, "192.0.2.1", "alice", now); wait != 0 {
			t.Fatalf("another address waits %v", wait)
		}

		// Per address, over all accounts: the free failures, then a wait.
		lim = storage.SignInLimits{FreePerAccount: 100, FreePerAddress: 4}
		for i := range 4 {
			if wait, _ := s.BeginSignIn(ctx, lim, "198.51.100.4", "u"+strconv.Itoa(i), now); wait != 0 {
				t.Fatalf("attempt %d waits %v", i, wait)
			}
		}
		if wait, _ := other.BeginSignIn(ctx, lim, "198.51.100.4", "someone-else", now); wait != 5*time.Second {
			t.Fatalf("the address's fifth account: wait %v, want 5s", wait)
		}
		// A success does not count against the address: its delay goes.
		if err := s.SignInSucceeded(ctx, lim, "198.51.100.4", "u3"); err != nil {
			t.Fatal(err)
		}
		if wait, _ := s.BeginSignIn(ctx, lim, "198.51.100.4", "u9", now); wait != 0 {
			t.Fatalf("after a success the address waits %v", wait)
		}
		// Failures are forgotten after a day.
		if wait, _ := s.BeginSignIn(ctx, lim, "198.51.100.4", "u10", now.Add(25*time.Hour)); wait != 0 {
			t.Fatalf("a day later the address waits %v", wait)
		}
	})
}

// Guessing one account from one address is slowed more with every
// failure past the free ones (5 s, 10 s, 20 s, ... up to the cap), and is
// never turned into a lockout: the owner, from their own address, signs
// in at once however long the guesser has been at it.
func TestSignInDelayGrows(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		lim := storage.SignInLimits{FreePerAccount: 2, FreePerAddress: 1000, MaxDelay: 40 * time.Second}
		now := time.Now()
		guess := func() time.Duration {
			t.Helper()
			wait, err := s.BeginSignIn(ctx, lim, "203.0.113.66", "alice", now)
			if err != nil {
				t.Fatal(err)
			}
			return wait
		}
		for i := range 2 {
			if wait := guess(); wait != 0 {
				t.Fatalf("free failure %d waits %v", i, wait)
			}
		}
		for _, want := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 40 * time.Second} {
			if wait := guess(); wait != want {
				t.Fatalf("next guess waits %v, want %v", wait, want)
			}
			// Guesses within the wait are refused and not counted.
			now = now.Add(want - time.Millisecond)
			if wait := guess(); wait != time.Millisecond {
				t.Fatalf("a guess just before the wait ends waits %v", wait)
			}
			now = now.Add(time.Millisecond)
			if wait := guess(); wait != 0 {
				t.Fatalf("the guess after the wait of %v was held up %v", want, wait)
			}
		}
		// The owner, from home, meanwhile.
		if wait, err := s.BeginSignIn(ctx, lim, "192.0.2.10", "alice", now); err != nil || wait != 0 {
			t.Fatalf("the owner waits %v (%v)", wait, err)
		}
		if err := s.SignInSucceeded(ctx, lim, "192.0.2.10", "alice"); err != nil {
			t.Fatal(err)
		}
	})
}
