package storage_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// tokenMail makes a mail carrying token and keeps the token for the
// test, as the mail composer would put it in a link.
func tokenMail(to string, got *string) storage.MailFunc {
	return func(token string) (storage.NewMail, error) {
		*got = token
		return storage.NewMail{To: to, Subject: "link", Text: "t " + token, HTML: "<p>h</p>", Kind: storage.MailResetPass}, nil
	}
}

func TestResetTokenIsSingleUseAndEndsSessions(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		sess, err := s.CreateSession(ctx, fx.Alice.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var first, second string
		if err := s.IssueToken(ctx, fx.Alice.ID, storage.TokenResetPassword, "", time.Hour, tokenMail("a@example.test", &first)); err != nil {
			t.Fatal(err)
		}
		if err := s.IssueToken(ctx, fx.Alice.ID, storage.TokenResetPassword, "", time.Hour, tokenMail("a@example.test", &second)); err != nil {
			t.Fatal(err)
		}
		if q, _ := s.QueuedMail(ctx, 10); len(q) != 2 {
			t.Fatalf("queue holds %d mails, want one per token", len(q))
		}
		// Only the newest link counts.
		if _, err := s.ResetPassword(ctx, first, "hash"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("superseded token: %v, want not found", err)
		}
		if _, _, err := s.CheckToken(ctx, storage.TokenResetPassword, second); err != nil {
			t.Fatalf("check: %v", err)
		}
		hash, _ := storage.HashPassword("a brand new password")
		m, err := s.ResetPassword(ctx, second, hash)
		if err != nil || m.ID != fx.Alice.ID {
			t.Fatalf("reset: %v %v", m, err)
		}
		if _, err := s.SessionMember(ctx, sess); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("old session survived the reset: %v", err)
		}
		a, _ := s.AccountByID(ctx, fx.Alice.ID)
		if storage.CheckPassword(a.PasswordHash, "a brand new password") != nil {
			t.Error("password not changed")
		}
		if _, err := s.ResetPassword(ctx, second, hash); !errors.Is(err, storage.ErrTokenUsed) {
			t.Errorf("second use: %v, want ErrTokenUsed", err)
		}
		// A token is for its purpose only.
		if _, _, err := s.CheckToken(ctx, storage.TokenVerifyEmail, second); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("reset token used to verify: %v", err)
		}

		var short string
		if err := s.IssueToken(ctx, fx.Bob.ID, storage.TokenResetPassword, "", time.Millisecond, tokenMail("b@example.test", &short)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		if _, err := s.ResetPassword(ctx, short, hash); !errors.Is(err, storage.ErrTokenExpired) {
			t.Errorf("expired token: %v, want ErrTokenExpired", err)
		}
		if n, err := s.SweepAccountTokens(ctx, time.Now().Add(2*time.Hour)); err != nil || n != 2 {
			t.Errorf("sweep removed %d tokens (%v), want the used and the expired one", n, err)
		}
	})
}

func TestVerifyEmailOnOneAccountOnly(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		var alice, bob string
		if err := s.IssueToken(ctx, fx.Alice.ID, storage.TokenVerifyEmail, "Shared@Example.test", time.Hour, tokenMail("Shared@Example.test", &alice)); err != nil {
			t.Fatal(err)
		}
		if err := s.IssueToken(ctx, fx.Bob.ID, storage.TokenVerifyEmail, "shared@example.TEST", time.Hour, tokenMail("shared@example.TEST", &bob)); err != nil {
			t.Fatal(err)
		}
		a, err := s.VerifyEmail(ctx, alice, nil)
		if err != nil || a.Email != "Shared@Example.test" || a.EmailVerifiedAt == nil {
			t.Fatalf("verify: %+v %v", a, err)
		}
		if _, err := s.VerifyEmail(ctx, bob, nil); !errors.Is(err, storage.ErrAddressTaken) {
			t.Errorf("same address in another case on another account: %v, want ErrAddressTaken", err)
		}
		if m, err := s.MemberByVerifiedEmail(ctx, "SHARED@example.test"); err != nil || m.ID != fx.Alice.ID {
			t.Errorf("lookup by address: %v %v", m, err)
		}

		// Changing a verified address tells the old one.
		var change string
		if err := s.IssueToken(ctx, fx.Alice.ID, storage.TokenVerifyEmail, "alice@new.test", time.Hour, tokenMail("alice@new.test", &change)); err != nil {
			t.Fatal(err)
		}
		before, _ := s.QueuedMail(ctx, 100)
		a, err = s.VerifyEmail(ctx, change, func(a *storage.Account, old string) (storage.NewMail, error) {
			return storage.NewMail{To: old, Subject: "changed", Text: "t", HTML: "<p>h</p>", Kind: storage.MailEmailChanged}, nil
		})
		if err != nil || a.Email != "alice@new.test" {
			t.Fatalf("change: %v %v", a, err)
		}
		after, _ := s.QueuedMail(ctx, 100)
		if len(after) != len(before)+1 || after[len(after)-1].To != "Shared@Example.test" {
			t.Errorf("no notice to the old address: %+v", after)
		}
		// Now the old address is free for Bob.
		var again string
		if err := s.IssueToken(ctx, fx.Bob.ID, storage.TokenVerifyEmail, "shared@example.test", time.Hour, tokenMail("shared@example.test", &again)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifyEmail(ctx, again, nil); err != nil {
			t.Errorf("freed address: %v", err)
		}
	})
}

func TestHitCountsPerWindowAcrossStores(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		now := time.Now()
		for i := 1; i <= 3; i++ {
			n, err := s.Hit(ctx, "reset-ip:192.0.2.1", time.Minute, now.Add(time.Duration(i)*time.Second))
			if err != nil || n != i {
				t.Fatalf("hit %d: %d, %v", i, n, err)
			}
		}
		if n, _ := s.Hit(ctx, "reset-ip:192.0.2.2", time.Minute, now); n != 1 {
			t.Errorf("another key shares the count: %d", n)
		}
		if n, _ := s.Hit(ctx, "reset-ip:192.0.2.1", time.Minute, now.Add(2*time.Minute)); n != 1 {
			t.Errorf("a new window starts at %d, want 1", n)
		}
		if k, err := s.SweepRateLimits(ctx, now.Add(time.Minute)); err != nil || k != 1 {
			t.Errorf("sweep: %d %v", k, err)
		}
	})
}

func TestSettingsAndLinkKey(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		if _, ok, err := s.Setting(ctx, storage.SettingSiteName); ok || err != nil {
			t.Fatalf("unset setting: %v %v", ok, err)
		}
		for _, v := range []string{"First", "Second"} {
			if err := s.SetSetting(ctx, storage.SettingSiteName, v); err != nil {
				t.Fatal(err)
			}
		}
		if v, ok, _ := s.Setting(ctx, storage.SettingSiteName); !ok || v != "Second" {
			t.Errorf("setting %q %v", v, ok)
		}
		k1, err := s.LinkKey(ctx)
		if err != nil || len(k1) != 32 {
			t.Fatalf("link key: %v", err)
		}
		k2, _ := s.LinkKey(ctx)
		if !bytes.Equal(k1, k2) {
			t.Error("the link key changed between calls")
		}
	})
}
