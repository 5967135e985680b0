package storage_test

import (
	"context"
	"testing"

	"github.com/skein-forum/skein/storage"
)

// walPages runs write with the write connection's automatic checkpoints
// off and returns how many pages the WAL took in meanwhile: the pages
// its commits wrote, each page once per commit that changed it. SQLite
// only; the WAL is checkpointed before and after.
func walPages(tb testing.TB, s *storage.Store, write func()) int {
	tb.Helper()
	ctx := context.Background()
	db := s.DB()
	var auto int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil {
		tb.Fatal(err)
	}
	checkpoint := func(mode string) (frames int) {
		var busy, moved int
		if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &moved); err != nil {
			tb.Fatal(err)
		}
		if busy != 0 {
			tb.Fatalf("checkpoint %s: busy", mode)
		}
		return frames
	}
	checkpoint("TRUNCATE")
	if _, err := db.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		if _, err := db.ExecContext(ctx, "PRAGMA wal_autocheckpoint = ?", auto); err != nil {
			tb.Fatal(err)
		}
	}()
	write()
	frames := checkpoint("PASSIVE") // TRUNCATE reports the emptied log
	checkpoint("TRUNCATE")
	return frames
}
