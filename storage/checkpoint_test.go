package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// openCheckpointed opens a migrated SQLite store in a new directory and
// returns it with the path of its database file.
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
	return s, filepath.Join(dir, SQLiteFile)
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

// The checkpointer copies the WAL back while the writer's own automatic
// checkpoint, at walFallbackPages, has not come due: the database file
// grows by what was written (until a checkpoint, new pages live in the
// WAL alone).
func TestCheckpointerCopiesTheWALBack(t *testing.T) {
	s, path := openCheckpointed(t)
	const mib = 40 // 10,240 pages: well short of the fallback
	if walFallbackPages*4096/1048576 <= 2*mib {
		t.Fatalf("the fallback (%d pages) is too close for this test", walFallbackPages)
	}
	size := func() int64 {
		fi, err := os.Stat(path) // a stat: no descriptor of SQLite's files opened and closed
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	writeMiB(t, s, mib)
	deadline := time.Now().Add(20 * time.Second)
	for size()-before < mib*1048576 {
		if time.Now().After(deadline) {
			t.Fatalf("after %d MiB written the database file grew by %d bytes", mib, size()-before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
