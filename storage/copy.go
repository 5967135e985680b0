package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Copying a whole node from one database to another (`skein db copy`):
// SQLite to PostgreSQL when one machine is no longer enough, and back.
//
// The copy is generic: it lists the tables of the target's schema (both
// databases are migrated by the same binary first, so they have the same
// tables and columns), orders them so every row's foreign keys exist
// before it, and copies every column of every row, converting only what
// the two databases spell differently (booleans, times). A table a new
// migration adds is copied without any change here. Three kinds of table
// are not copied: the migrations' own bookkeeping (each database has its
// own), the id node leases (they belong to the processes running on a
// database), and derived tables rebuilt from what was copied (the search
// index, whose shape differs between the databases).
//
// The source is read in one snapshot (a read transaction) and the target
// written in one transaction, so the copy is all or nothing; afterwards
// every table's rows are counted on both sides and must agree. Changes
// made to the source after its snapshot are not copied: stop the node
// first.

// ErrTargetNotEmpty refuses to copy into a database that holds a node.
var ErrTargetNotEmpty = errors.New("the target database is not empty")

// Tables a copy leaves alone: migration bookkeeping and per-process
// leases. The search index is rebuilt instead (rebuildSearch).
var (
	copySkipped = []string{"bun_migrations", "bun_migration_locks", "id_nodes"}
	copyDerived = []string{"post_search"}
)

// CopiedTable is one table a copy wrote, and how many rows.
type CopiedTable struct {
	Name string
	Rows int64
}

// Copy copies every row of from into to, which must be empty (a fresh
// database, or one only migrated). Both stores must be migrated.
// progress, when set, is called after each table.
func Copy(ctx context.Context, from, to *Store, progress func(CopiedTable)) ([]CopiedTable, error) {
	if err := sameMigrations(ctx, from, to); err != nil {
		return nil, err
	}
	tables, err := to.copyTables(ctx)
	if err != nil {
		return nil, err
	}
	srcTables, err := from.copyTables(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(sortedCopy(tables), sortedCopy(srcTables)) {
		return nil, fmt.Errorf("copy: the two databases have different tables (%v and %v)", srcTables, tables)
	}
	seeded, err := seededRows(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		n, err := countRows(ctx, to.w, t)
		if err != nil {
			return nil, err
		}
		if n != seeded[t] {
			return nil, fmt.Errorf("%w: table %s has %d rows; copy only into a new, empty database", ErrTargetNotEmpty, t, n)
		}
	}

	src, err := from.r.BeginTx(ctx, snapshotTx(from))
	if err != nil {
		return nil, fmt.Errorf("copy: read snapshot: %w", err)
	}
	defer src.Rollback()
	var done []CopiedTable
	err = to.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if to.Dialect() == dialect.SQLite {
			// Rows arrive table by table in foreign-key order already;
			// this also lets a table refer to itself in any row order.
			if _, err := tx.ExecContext(ctx, "PRAGMA defer_foreign_keys = ON"); err != nil {
				return err
			}
		}
		for _, t := range tables {
			n, err := copyTable(ctx, src.Tx, tx, to, t, seeded[t] > 0)
			if err != nil {
				return err
			}
			done = append(done, CopiedTable{Name: t, Rows: n})
			if progress != nil {
				progress(done[len(done)-1])
			}
		}
		return to.rebuildSearch(ctx, tx)
	})
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	// Counted again on both sides, outside the copy's own bookkeeping.
	for _, c := range done {
		want, err := countRows(ctx, src, c.Name)
		if err != nil {
			return nil, err
		}
		got, err := countRows(ctx, to.r, c.Name)
		if err != nil {
			return nil, err
		}
		if got != want || c.Rows != want {
			return nil, fmt.Errorf("copy: table %s has %d rows in the source and %d in the target", c.Name, want, got)
		}
	}
	to.policy.invalidate()
	return done, nil
}

func snapshotTx(s *Store) *sql.TxOptions {
	if s.Dialect() == dialect.PG {
		return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	return nil // a SQLite read transaction sees one snapshot of the WAL
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

func sameMigrations(ctx context.Context, a, b *Store) error {
	names := func(s *Store) ([]string, error) {
		var out []string
		err := s.r.NewRaw("SELECT name FROM bun_migrations ORDER BY name").Scan(ctx, &out)
		return out, err
	}
	na, err := names(a)
	if err != nil {
		return fmt.Errorf("copy: source migrations: %w", err)
	}
	nb, err := names(b)
	if err != nil {
		return fmt.Errorf("copy: target migrations: %w", err)
	}
	if !slices.Equal(na, nb) {
		return fmt.Errorf("copy: the databases are at different migrations; migrate both with this binary first")
	}
	return nil
}

// seededRows counts the rows each table has right after the migrations
// (a few tables start with a row), in a scratch SQLite database: a target
// holding only those is empty.
func seededRows(ctx context.Context) (map[string]int64, error) {
	dir, err := os.MkdirTemp("", "skein-copy-reference")
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	defer os.RemoveAll(dir)
	ref, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		return nil, fmt.Errorf("copy: reference database: %w", err)
	}
	defer ref.Close()
	if _, err := ref.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("copy: reference database: %w", err)
	}
	tables, err := ref.copyTables(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(tables))
	for _, t := range tables {
		if out[t], err = countRows(ctx, ref.r, t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func countRows(ctx context.Context, db queryer, table string) (int64, error) {
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteIdent(table)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	return n, nil
}

func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// copyTables lists the tables a copy writes, parents before the tables
// whose foreign keys point at them.
func (s *Store) copyTables(ctx context.Context) ([]string, error) {
	var tables []string
	var edges []struct {
		Child  string `bun:"child"`
		Parent string `bun:"parent"`
	}
	var err error
	if s.Dialect() == dialect.PG {
		err = s.r.NewRaw("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'").Scan(ctx, &tables)
		if err == nil {
			err = s.r.NewRaw(`SELECT cl.relname AS child, pcl.relname AS parent FROM pg_constraint AS c
				JOIN pg_class AS cl ON cl.oid = c.conrelid JOIN pg_class AS pcl ON pcl.oid = c.confrelid
				JOIN pg_namespace AS n ON n.oid = cl.relnamespace
				WHERE c.contype = 'f' AND n.nspname = current_schema()`).Scan(ctx, &edges)
		}
	} else {
		var rows []struct {
			Name string `bun:"name"`
			SQL  string `bun:"sql"`
		}
		err = s.r.NewRaw("SELECT name, COALESCE(sql, '') AS sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").Scan(ctx, &rows)
		var virtual []string
		for _, r := range rows {
			if strings.HasPrefix(strings.ToUpper(r.SQL), "CREATE VIRTUAL TABLE") {
				virtual = append(virtual, r.Name)
			}
		}
		for _, r := range rows {
			shadow := slices.ContainsFunc(virtual, func(v string) bool { return strings.HasPrefix(r.Name, v+"_") })
			if !shadow {
				tables = append(tables, r.Name)
			}
		}
		if err == nil {
			err = s.r.NewRaw(`SELECT m.name AS child, f."table" AS parent FROM sqlite_master AS m
				JOIN pragma_foreign_key_list(m.name) AS f WHERE m.type = 'table'`).Scan(ctx, &edges)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	tables = slices.DeleteFunc(tables, func(t string) bool {
		return slices.Contains(copySkipped, t) || slices.Contains(copyDerived, t)
	})
	sort.Strings(tables)
	// Kahn's algorithm, alphabetical among equals so the order is stable.
	parents := make(map[string]map[string]bool)
	for _, e := range edges {
		if e.Child == e.Parent || !slices.Contains(tables, e.Child) || !slices.Contains(tables, e.Parent) {
			continue
		}
		if parents[e.Child] == nil {
			parents[e.Child] = make(map[string]bool)
		}
		parents[e.Child][e.Parent] = true
	}
	var order []string
	placed := make(map[string]bool)
	for len(order) < len(tables) {
		progressed := false
		for _, t := range tables {
			if placed[t] {
				continue
			}
			ready := true
			for p := range parents[t] {
				if !placed[p] {
					ready = false
				}
			}
			if ready {
				order, placed[t], progressed = append(order, t), true, true
			}
		}
		if !progressed {
			return nil, fmt.Errorf("list tables: their foreign keys form a cycle")
		}
	}
	return order, nil
}

type copyColumn struct {
	Name string `bun:"name"`
	Type string `bun:"type"`
}

// columns lists the columns a copy writes into table (generated columns
// are the database's to fill).
func (s *Store) copyColumns(ctx context.Context, tx bun.Tx, table string) ([]copyColumn, error) {
	var cols []copyColumn
	var err error
	if s.Dialect() == dialect.PG {
		err = tx.NewRaw(`SELECT column_name AS name, data_type AS type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? AND is_generated = 'NEVER' ORDER BY ordinal_position`, table).Scan(ctx, &cols)
	} else {
		err = tx.NewRaw("SELECT name, type FROM pragma_table_info(?) ORDER BY cid", table).Scan(ctx, &cols)
	}
	if err != nil || len(cols) == 0 {
		return nil, fmt.Errorf("columns of %s: %v", table, err)
	}
	return cols, nil
}

// copyTable streams table's rows from the source snapshot into the
// target in multi-row INSERTs. A table the migrations seeded is emptied
// first: the source has its own rows.
func copyTable(ctx context.Context, src *sql.Tx, tx bun.Tx, to *Store, table string, seeded bool) (int64, error) {
	cols, err := to.copyColumns(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	if seeded {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+quoteIdent(table)); err != nil {
			return 0, fmt.Errorf("empty %s: %w", table, err)
		}
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteIdent(c.Name)
	}
	list := strings.Join(names, ", ")
	rows, err := src.QueryContext(ctx, "SELECT "+list+" FROM "+quoteIdent(table))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	pg := to.Dialect() == dialect.PG
	perBatch := max(1, min(500, 30000/len(cols)))
	var args []any
	var n, inBatch int64
	flush := func() error {
		if inBatch == 0 {
			return nil
		}
		var b strings.Builder
		b.WriteString("INSERT INTO " + quoteIdent(table) + " (" + list + ") VALUES ")
		p := 0
		for r := range inBatch {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := range cols {
				if c > 0 {
					b.WriteString(", ")
				}
				p++
				if pg {
					b.WriteString("$" + strconv.Itoa(p))
				} else {
					b.WriteByte('?')
				}
			}
			b.WriteByte(')')
		}
		if _, err := tx.Tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("write %s: %w", table, err)
		}
		args, inBatch = args[:0], 0
		return nil
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, fmt.Errorf("read %s: %w", table, err)
		}
		for i, v := range vals {
			args = append(args, copyValue(v, cols[i].Type, pg))
		}
		n++
		inBatch++
		if inBatch == int64(perBatch) {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", table, err)
	}
	return n, flush()
}

// copyValue converts what the two databases spell differently: SQLite
// keeps booleans as 0/1 and times as bun's text; PostgreSQL has types
// for both.
func copyValue(v any, targetType string, targetPG bool) any {
	switch x := v.(type) {
	case int64:
		if targetPG && targetType == "boolean" {
			return x != 0
		}
	case time.Time:
		if !targetPG {
			return x.UTC().Format(sqliteTimeFormat)
		}
	case []byte:
		if targetPG && targetType != "bytea" {
			return string(x)
		}
	}
	return v
}

// sqliteTimeFormat is how bun writes a time into SQLite.
const sqliteTimeFormat = "2006-01-02 15:04:05.999999-07:00"

// rebuildSearch indexes every live post copied, as CreatePost would have:
// those of live threads in listed forums.
func (s *Store) rebuildSearch(ctx context.Context, tx bun.Tx) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM post_search"); err != nil {
		return fmt.Errorf("rebuild search: %w", err)
	}
	return s.indexPosts(ctx, tx, "t.forum_id NOT IN (SELECT id FROM forums WHERE hidden)")
}
