package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// composeCount is a NoticeMail that counts what it was given.
type composeCount struct {
	mu      sync.Mutex
	mails   int
	entries int
}

func (c *composeCount) compose(a *storage.Account, entries []storage.NotificationEntry, digest bool) (storage.NewMail, error) {
	c.mu.Lock()
	c.mails++
	c.entries += len(entries)
	c.mu.Unlock()
	return storage.NewMail{AccountID: a.ID, To: a.Email, Subject: "news", Text: "news", HTML: "<p>news</p>",
		Kind: storage.MailNotification}, nil
}

// confirmAddress gives a fixture member a confirmed address.
func confirmAddress(t *testing.T, s *storage.Store, a *storage.Account, addr string) {
	t.Helper()
	if _, err := s.DB().NewRaw("UPDATE accounts SET email = ?, email_verified_at = ? WHERE id = ?",
		addr, time.Now().UTC(), a.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Each notification is looked at once, however many workers look at the
// same member at once; an unconfirmed address gets nothing; what goes to
// the digest schedules it.
func TestMailNotices(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		later := time.Now().Add(time.Hour)
		// Alice has the seed's reply, unconfirmed: nothing is mailed, and
		// the notification is looked at for good.
		var c composeCount
		if queued, err := s.MailNotices(ctx, fx.Alice.ID, later, later, c.compose); err != nil || queued {
			t.Fatalf("unconfirmed address: queued %v, %v", queued, err)
		}
		if _, err := s.MailNotices(ctx, fx.Bob.ID, later, later, c.compose); err != nil { // the seed's quote
			t.Fatal(err)
		}
		confirmAddress(t, s, fx.Alice, "alice@example.test")
		if queued, _ := s.MailNotices(ctx, fx.Alice.ID, later, later, c.compose); queued || c.mails != 0 {
			t.Fatal("a notification was looked at twice")
		}

		// Three replies to Alice, eight workers at once: one mail of three.
		storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 3)
		if ids, err := s.NoticeRecipients(ctx, later, 10); err != nil || len(ids) != 1 || ids[0] != fx.Alice.ID {
			t.Fatalf("recipients %v, %v", ids, err)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := s.MailNotices(ctx, fx.Alice.ID, later, later, c.compose); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if c.mails != 1 || c.entries != 3 {
			t.Fatalf("%d mails of %d notifications, want 1 of 3", c.mails, c.entries)
		}
		if q, _ := s.QueuedMail(ctx, 10); len(q) != 1 || q[0].To != "alice@example.test" {
			t.Fatalf("queue: %+v", q)
		}

		// Replies to the digest: kept, and the digest scheduled at her hour.
		if err := s.SetNotificationPref(ctx, fx.Alice.ID, storage.NotifyReply, storage.DeliverDigest); err != nil {
			t.Fatal(err)
		}
		storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 2)
		if queued, _ := s.MailNotices(ctx, fx.Alice.ID, later, later, c.compose); queued {
			t.Fatal("a digest kind was mailed at once")
		}
		alice, _ := s.AccountByID(ctx, fx.Alice.ID)
		if alice.DigestDueAt == nil || !alice.DigestDueAt.Equal(storage.NextDigest(time.UTC, storage.DefaultDigestHour, later)) {
			t.Fatalf("digest due %v", alice.DigestDueAt)
		}
		if ids, _ := s.DueDigests(ctx, alice.DigestDueAt.Add(-time.Second), 10); len(ids) != 0 {
			t.Fatalf("digest due early: %v", ids)
		}
		due := *alice.DigestDueAt
		for range 4 {
			wg.Go(func() {
				if _, err := s.MailDigest(ctx, fx.Alice.ID, due, c.compose); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if c.mails != 2 || c.entries != 5 {
			t.Fatalf("after the digest: %d mails of %d notifications, want 2 of 5", c.mails, c.entries)
		}
		if ids, _ := s.DueDigests(ctx, due.Add(72*time.Hour), 10); len(ids) != 0 {
			t.Fatalf("a digest is due again with nothing new: %v", ids)
		}

		// A mail that cannot be made fails with ErrInvalid and changes
		// nothing; looked at again without mail, it is dropped.
		storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 1)
		if err := s.SetNotificationPref(ctx, fx.Alice.ID, storage.NotifyReply, storage.DeliverMail); err != nil {
			t.Fatal(err)
		}
		bad := func(*storage.Account, []storage.NotificationEntry, bool) (storage.NewMail, error) {
			return storage.NewMail{To: "not an address"}, nil
		}
		if _, err := s.MailNotices(ctx, fx.Alice.ID, later, later, bad); !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("a bad mail: %v", err)
		}
		if ids, _ := s.NoticeRecipients(ctx, later, 10); len(ids) != 1 {
			t.Fatalf("a failed step took the notifications: %v", ids)
		}
		if _, err := s.MailNotices(ctx, fx.Alice.ID, later, later, nil); err != nil {
			t.Fatal(err)
		}

		// Mail off (no composer): notifications are looked at and left.
		storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 1)
		if queued, err := s.MailNotices(ctx, fx.Alice.ID, later, later, nil); err != nil || queued {
			t.Fatalf("mail off: queued %v, %v", queued, err)
		}
		if ids, _ := s.NoticeRecipients(ctx, later, 10); len(ids) != 0 {
			t.Fatalf("with mail off, notifications wait: %v", ids)
		}
	})
}
