// Package migrations holds Skein's schema as embedded SQL files and applies
// them with bun/migrate. One set of files serves SQLite and PostgreSQL; a
// migration is marked applied only after it succeeded, and on PostgreSQL an
// advisory lock keeps two processes that start at once from racing.
package migrations

import (
	"context"
	"embed"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

//go:embed sql/*.sql
var files embed.FS

// advisoryLockKey is an arbitrary constant shared by every Skein process
// migrating the same PostgreSQL database.
const advisoryLockKey = 0x736b65696e // "skein"

func newMigrator(db *bun.DB) (*migrate.Migrator, error) {
	ms := migrate.NewMigrations()
	if err := ms.Discover(files); err != nil {
		return nil, fmt.Errorf("discover migrations: %w", err)
	}
	// SQL files are Go templates: {{if eq .Dialect "pg"}} picks the
	// statements for one database where the two cannot share SQL.
	data := map[string]string{"Dialect": db.Dialect().Name().String()}
	return migrate.NewMigrator(db, ms, migrate.WithMarkAppliedOnSuccess(true), migrate.WithTemplateData(data)), nil
}

// Up applies every migration not yet applied and returns their names.
func Up(ctx context.Context, db *bun.DB) ([]string, error) {
	return step(ctx, db, "migrate", (*migrate.Migrator).Migrate)
}

// Down rolls back the last group of applied migrations.
func Down(ctx context.Context, db *bun.DB) ([]string, error) {
	return step(ctx, db, "rollback", (*migrate.Migrator).Rollback)
}

// step runs one move of the migrator (Migrate or Rollback) under the
// migration lock and returns the names of the migrations it moved.
func step(ctx context.Context, db *bun.DB, what string,
	move func(*migrate.Migrator, context.Context, ...migrate.MigrationOption) (*migrate.MigrationGroup, error)) ([]string, error) {
	m, err := newMigrator(db)
	if err != nil {
		return nil, err
	}
	var names []string
	err = withLock(ctx, db, func() error {
		if err := m.Init(ctx); err != nil {
			return fmt.Errorf("init migration tables: %w", err)
		}
		group, err := move(m, ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		for _, mig := range group.Migrations {
			names = append(names, mig.Name+"_"+mig.Comment)
		}
		return nil
	})
	return names, err
}

// Pending reports how many migrations are not applied yet; /readyz and
// tests use it.
func Pending(ctx context.Context, db *bun.DB) (int, error) {
	m, err := newMigrator(db)
	if err != nil {
		return 0, err
	}
	if err := m.Init(ctx); err != nil {
		return 0, fmt.Errorf("init migration tables: %w", err)
	}
	ms, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return 0, fmt.Errorf("migration status: %w", err)
	}
	return len(ms.Unapplied()), nil
}

// withLock runs fn while holding a PostgreSQL session advisory lock, so a
// second process waits instead of applying the same migration twice.
// bun/migrate's own Lock leaves a stale row after a crash; an advisory lock
// dies with its connection. SQLite needs nothing: one process owns a file.
func withLock(ctx context.Context, db *bun.DB, fn func() error) error {
	if db.Dialect().Name() != dialect.PG {
		return fn()
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migration lock connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", advisoryLockKey); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		// A fresh context: the unlock must run even if ctx is done.
		_, _ = conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(?)", advisoryLockKey)
	}()
	return fn()
}
