package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/uptrace/bun/driver/sqliteshim"
)

// ErrNodeLeftBehind refuses to open an empty PostgreSQL database while
// the data directory holds a SQLite node: an admin who adds
// --database-url to a running forum's command line would otherwise start
// an empty forum under the same public URL, with new keys, while the
// real one sits unused on disk. Options.AllowEmptyDatabase overrides it.
var ErrNodeLeftBehind = errors.New("the data directory holds a SQLite node but the database is empty")

// SQLiteFile is the database file of a SQLite node in its data directory.
const SQLiteFile = "skein.db"

// refuseToAbandon returns ErrNodeLeftBehind (with what to do) when dir
// holds a migrated SQLite node and this PostgreSQL database has no
// migrations applied.
func (s *Store) refuseToAbandon(ctx context.Context, dir string) error {
	if dir == "" {
		return nil
	}
	members, ok := sqliteNodeIn(ctx, dir)
	if !ok {
		return nil
	}
	empty, err := s.isEmpty(ctx)
	if err != nil || !empty {
		return err
	}
	return fmt.Errorf("%w: %s has a forum with %d member(s), and this PostgreSQL database has none. "+
		"Starting would open an empty forum under the same public URL. Copy the node over first with "+
		"`skein db copy --from %s --to DATABASE_URL` (docs/operations.md), or pass --allow-empty-database "+
		"to start a new forum on PostgreSQL anyway", ErrNodeLeftBehind, filepath.Join(dir, SQLiteFile), members, dir)
}

// sqliteNodeIn reports whether dir holds a SQLite database with
// migrations applied, and how many members it has. It opens the file
// read-only and never creates it.
func sqliteNodeIn(ctx context.Context, dir string) (members int64, ok bool) {
	path := filepath.Join(dir, SQLiteFile)
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		return 0, false
	}
	db, err := sql.Open(sqliteshim.ShimName, "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, false
	}
	defer db.Close()
	var applied int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM bun_migrations").Scan(&applied); err != nil || applied == 0 {
		return 0, false
	}
	_ = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM accounts WHERE domain = ''").Scan(&members)
	return members, true
}

// isEmpty reports whether no migration was ever applied to the database.
func (s *Store) isEmpty(ctx context.Context) (bool, error) {
	var exists bool
	if err := s.w.QueryRowContext(ctx, "SELECT to_regclass('bun_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return false, fmt.Errorf("inspect database: %w", err)
	}
	if !exists {
		return true, nil
	}
	var applied int64
	if err := s.w.QueryRowContext(ctx, "SELECT COUNT(*) FROM bun_migrations").Scan(&applied); err != nil {
		return false, fmt.Errorf("inspect database: %w", err)
	}
	return applied == 0, nil
}
