package storage

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// openCheckpointed opens a migrated SQLite store in a new directory and
// returns it with the path of its WAL index.
func openCheckpointed(t *testing.T) (*Store, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "CREATE TABLE ckpt_probe (b BLOB)"); err != nil {
		t.Fatal(err)
	}
	return s, filepath.Join(dir, SQLiteFile) + "-shm"
}

// writeMiB commits n blobs of a MiB each, one transaction a blob.
func writeMiB(t *testing.T, s *Store, n int) {
	t.Helper()
	for range n {
		if _, err := s.w.ExecContext(context.Background(), "INSERT INTO ckpt_probe (b) VALUES (randomblob(1048576))"); err != nil {
			t.Fatal(err)
		}
	}
}

// walWaiting reads the same figure from the WAL index as SQLite's own
// checkpoint reports.
func TestWALWaitingReadsTheIndex(t *testing.T) {
	s, shm := openCheckpointed(t)
	if err := s.ckpt.close(); err != nil { // this test checkpoints by hand
		t.Fatal(err)
	}
	s.ckpt = nil
	ctx := context.Background()
	checkpoint := func() (log, done int) {
		var busy int
		if err := s.w.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err != nil {
			t.Fatal(err)
		}
		return log, done
	}
	checkpoint() // all copied back: the next write starts the WAL again
	writeMiB(t, s, 2)
	waiting, err := walWaiting(shm)
	if err != nil {
		t.Fatal(err)
	}
	log, done := checkpoint()
	if log < 2*1048576/4096 || int(waiting) != log {
		t.Fatalf("before the checkpoint walWaiting = %d, the checkpoint found %d frames in the WAL", waiting, log)
	}
	after, err := walWaiting(shm)
	if err != nil {
		t.Fatal(err)
	}
	if int(after) != log-done {
		t.Fatalf("after a checkpoint of %d of %d frames walWaiting = %d", done, log, after)
	}
}

// A WAL past walCheckpointPages is copied back by the checkpointer, while
// the writer's own automatic checkpoint would wait for walFallbackPages.
func TestCheckpointerCopiesTheWALBack(t *testing.T) {
	s, shm := openCheckpointed(t)
	mib := walCheckpointPages*4096/1048576 + 8 // past the threshold, well short of the fallback
	if walFallbackPages*4096/1048576 <= mib {
		t.Fatalf("the fallback (%d pages) is too close to the threshold for this test", walFallbackPages)
	}
	writeMiB(t, s, mib)
	deadline := time.Now().Add(20 * time.Second)
	for {
		waiting, err := walWaiting(shm)
		if err != nil {
			t.Fatal(err)
		}
		if waiting < walCheckpointPages {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d MiB written the WAL still holds %d pages not copied back", mib, waiting)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
