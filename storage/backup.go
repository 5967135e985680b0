package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/uptrace/bun/dialect"
)

// ErrBackupUnsupported means the database backs itself up with its own
// tools (PostgreSQL: pg_dump).
var ErrBackupUnsupported = errors.New("backup: use pg_dump for PostgreSQL")

// Backup writes a consistent copy of a SQLite database to path while the
// node keeps running. VACUUM INTO reads one snapshot (WAL readers do not
// block the writer), so the copy is a database as of one instant, compact
// and ready to open. The file must not exist yet.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.Dialect() != dialect.SQLite {
		return ErrBackupUnsupported
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("backup path: %w", err)
	}
	if _, err := os.Stat(abs); err == nil {
		return fmt.Errorf("backup: %s already exists", abs)
	}
	// The read pool, not the write handle: a backup of a large database
	// must not hold up posting.
	if _, err := s.r.ExecContext(ctx, "VACUUM INTO ?", abs); err != nil {
		os.Remove(abs)
		return fmt.Errorf("backup to %s: %w", abs, err)
	}
	return nil
}
