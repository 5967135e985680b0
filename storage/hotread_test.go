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

// A time written again is written as before, whatever its zone, and the
// text kept for the last one never stands for another (far-off remote
// dates included).
func TestTimeArgKeepsTheLastText(t *testing.T) {
	s := storagetest.Open(t, "sqlite")
	paris := time.FixedZone("CET", 3600)
	now := time.Date(2026, 12, 6, 22, 15, 1, 123456000, time.UTC)
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{now, "2026-12-06 22:15:01.123456+00:00"},
		{now.In(paris), "2026-12-06 22:15:01.123456+00:00"},
		{now.Add(time.Microsecond), "2026-12-06 22:15:01.123457+00:00"},
		{now, "2026-12-06 22:15:01.123456+00:00"},
		{time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), "1000-01-01 00:00:00+00:00"},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), "3000-01-01 00:00:00+00:00"},
		{time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), "1000-01-01 00:00:00+00:00"},
	} {
		if got := s.TimeArg(c.at); got != c.want {
			t.Errorf("TimeArg(%v) = %v, want %s", c.at, got, c.want)
		}
	}
}
