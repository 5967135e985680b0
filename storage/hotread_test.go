package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// A read statement that could not be prepared (here: its table was
// missing for a while) is prepared again once the database is fit, and
// Ready reports the failure while it lasts instead of claiming health.
func TestHotReadsRecoverFromAFailedPrepare(t *testing.T) {
	storagetest.ForEachDialectShared(t, testHotReadsRecover)
}

func testHotReadsRecover(t *testing.T, s *storage.Store, opts storage.Options) {
	ctx := context.Background()
	fx := storagetest.Seed(t, s)
	token, err := s.CreateSession(ctx, fx.Alice.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s2 := storagetest.OpenWith(t, opts) // another process
	if _, err := s.DB().ExecContext(ctx, "ALTER TABLE sessions RENAME TO sessions_away"); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.SessionMember(ctx, token); err == nil {
		t.Fatal("a session was read without its table")
	}
	if err := s2.Ready(ctx); err == nil {
		t.Fatal("Ready while the read statements cannot be prepared")
	}
	if _, err := s.DB().ExecContext(ctx, "ALTER TABLE sessions_away RENAME TO sessions"); err != nil {
		t.Fatal(err)
	}
	// The retry is spaced by a second; within a few it must succeed.
	deadline := time.Now().Add(5 * time.Second)
	for s2.Ready(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("still not ready after the table came back: %v", s2.Ready(ctx))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if a, err := s2.SessionMember(ctx, token); err != nil || a.ID != fx.Alice.ID {
		t.Fatalf("session after recovery: %v, %v", a, err)
	}
}
