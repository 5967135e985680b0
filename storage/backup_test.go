package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// A backup taken while members keep posting opens as a database with
// every post committed before it started, consistent counters included.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	s := storagetest.Open(t, "sqlite")
	fx := storagetest.Seed(t, s)
	storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 50)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Mod.ID, Source: "more", HTML: "<p>more</p>"}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	dir := t.TempDir()
	backup := filepath.Join(dir, "backup.db")
	err := s.Backup(ctx, backup)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, backup); err == nil {
		t.Fatal("backup overwrote an existing file")
	}

	// Restore: the copy becomes the database of a fresh data directory.
	restoreDir := t.TempDir()
	data, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restoreDir, "skein.db"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	restored := storagetest.OpenWith(t, storage.Options{DataDir: restoreDir})
	if n, err := restored.PendingMigrations(ctx); err != nil || n != 0 {
		t.Fatalf("restored database has %d pending migrations (%v)", n, err)
	}
	th, err := restored.ThreadByID(ctx, fx.Thread.ID)
	if err != nil {
		t.Fatal(err)
	}
	if th.PostCount < 53 {
		t.Fatalf("restored thread has %d posts, want at least 53", th.PostCount)
	}
	posts, err := restored.PostsInRange(ctx, th.ID, 1, th.PostCount+10)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(posts)) != th.PostCount {
		t.Fatalf("restored thread counts %d posts but holds %d", th.PostCount, len(posts))
	}
	if _, err := restored.MemberByHandle(ctx, "alice"); err != nil {
		t.Fatalf("restored members: %v", err)
	}
}
