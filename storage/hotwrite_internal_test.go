package storage

import (
	"context"
	"errors"
	"testing"

	"github.com/uptrace/bun"
)

// openSQLiteForTest is a migrated SQLite store in a directory of its own.
func openSQLiteForTest(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// countThread runs the hot thread count of thread 1 in tx under ctx.
func countThread(ctx context.Context, h *hotWrites, tx bun.Tx) error {
	rows, err := h.stmt(ctx, tx, sqlThreadCount).QueryContext(ctx, 1)
	if err != nil {
		return err
	}
	return rows.Close()
}

// A statement whose binding to the transaction failed is not kept in the
// slot: the call that failed reports it, and the next one in the same
// transaction binds again and runs.
func TestHotWriteFailedBindIsNotKept(t *testing.T) {
	s := openSQLiteForTest(t)
	ctx := context.Background()
	h, err := s.hotWrites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a context that ended", func(t *testing.T) {
		err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			ended, cancel := context.WithCancel(ctx)
			cancel()
			if err := countThread(ended, h, tx); !errors.Is(err, context.Canceled) {
				t.Errorf("under a cancelled context: %v, want context.Canceled", err)
			}
			return countThread(ctx, h, tx)
		})
		if err != nil {
			t.Fatalf("the next call in the transaction: %v", err)
		}
	})
	t.Run("a prepare that failed", func(t *testing.T) {
		// With the store's statement closed, binding prepares it anew on
		// the transaction's connection, as on a connection it was never
		// prepared on; the table renamed away makes that prepare fail.
		if err := h.stmts[sqlThreadCount].Close(); err != nil {
			t.Fatal(err)
		}
		err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "ALTER TABLE threads RENAME TO threads_away"); err != nil {
				return err
			}
			if err := countThread(ctx, h, tx); err == nil {
				t.Error("a statement on a table renamed away ran")
			}
			if _, err := tx.ExecContext(ctx, "ALTER TABLE threads_away RENAME TO threads"); err != nil {
				return err
			}
			return countThread(ctx, h, tx)
		})
		if err != nil {
			t.Fatalf("the next call in the transaction: %v", err)
		}
	})
}
