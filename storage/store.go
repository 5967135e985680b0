// Package storage owns Skein's database: the model (members, remote actors,
// forums, threads, posts, likes, follows, keys, the outbox) and the
// invariants that tie them together, on SQLite or PostgreSQL through bun.
// Every write that federates records an outbox event in its own
// transaction, so nothing a member does is lost between the forum and the
// fediverse.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/skein-forum/skein/migrations"
)

// Errors callers branch on. Wrapped errors keep them reachable with errors.Is.
var (
	ErrNotFound  = errors.New("not found")
	ErrNameTaken = errors.New("name already taken")
	ErrLocked    = errors.New("thread is locked")
	ErrInvalid   = errors.New("invalid input")
	// ErrReserved is a name no member or forum may take (a path, a role
	// word); it is also an ErrNameTaken, for callers that need not tell
	// the two apart.
	ErrReserved error = reservedError{}
)

type reservedError struct{}

func (reservedError) Error() string        { return "that name is reserved" }
func (reservedError) Is(target error) bool { return target == ErrNameTaken }

// Store is the database. On SQLite it keeps one connection for writes and a
// pool for reads: SQLite allows one writer at a time, and a single write
// handle turns lock contention into an orderly queue instead of
// SQLITE_BUSY errors. On PostgreSQL both handles are the same pool.
type Store struct {
	w      *bun.DB
	r      *bun.DB
	ids    *IDGenerator
	policy *domainPolicy
	hot    hotReads  // prepared read statements, see hotread.go
	hotw   hotWrites // prepared write statements, see hotwrite.go
}

// SQLiteFile is the name of the SQLite database in the data directory.
const SQLiteFile = "skein.db"

// Options selects and tunes the database.
type Options struct {
	// DatabaseURL is a postgres:// URL; empty means SQLite in DataDir.
	DatabaseURL string
	// DataDir holds skein.db when SQLite is used.
	DataDir string
	// Federation is FederationOpen (the default) or FederationAllowlist:
	// talk only to the hosts on the allow list (DomainPolicy).
	Federation string
}

// Open connects to the database. It does not migrate; call Migrate.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Federation != "" && opts.Federation != FederationOpen && opts.Federation != FederationAllowlist {
		return nil, fmt.Errorf("federation mode %q: want %q or %q", opts.Federation, FederationOpen, FederationAllowlist)
	}
	if strings.HasPrefix(opts.DatabaseURL, "postgres://") || strings.HasPrefix(opts.DatabaseURL, "postgresql://") {
		s, err := openPostgres(ctx, opts.DatabaseURL)
		if err != nil {
			return nil, err
		}
		s.policy.allowlist = opts.Federation == FederationAllowlist
		return s, nil
	}
	if opts.DatabaseURL != "" {
		return nil, fmt.Errorf("database url %q: only postgres:// URLs are supported (leave it empty for SQLite)", redact(opts.DatabaseURL))
	}
	s, err := openSQLite(ctx, opts.DataDir)
	if err != nil {
		return nil, err
	}
	s.policy.allowlist = opts.Federation == FederationAllowlist
	return s, nil
}

func openSQLite(ctx context.Context, dir string) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("open sqlite: no data directory")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, SQLiteFile)
	// WAL lets readers run beside the writer; NORMAL sync is durable across
	// process crashes (not power loss of the last transaction), the usual
	// trade for a server; immediate transactions take the write lock at
	// BEGIN so read-then-write transactions never fail half-way.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	wsql, err := sql.Open(sqliteshim.ShimName, dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	wsql.SetMaxOpenConns(1)
	wsql.SetMaxIdleConns(1)
	wsql.SetConnMaxLifetime(0)
	rsql, err := sql.Open(sqliteshim.ShimName, dsn)
	if err != nil {
		wsql.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	rsql.SetMaxOpenConns(n)
	rsql.SetMaxIdleConns(n)
	rsql.SetConnMaxLifetime(0)
	s := &Store{
		w:      bun.NewDB(wsql, sqlitedialect.New()),
		r:      bun.NewDB(rsql, sqlitedialect.New()),
		ids:    NewIDGenerator(),
		policy: newDomainPolicy(),
	}
	if err := s.w.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}

func openPostgres(ctx context.Context, url string) (*Store, error) {
	sqldb, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	sqldb.SetMaxOpenConns(max(8, runtime.GOMAXPROCS(0)*4))
	db := bun.NewDB(sqldb, pgdialect.New())
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres %s: %w", redact(url), err)
	}
	return &Store{w: db, r: db, ids: NewIDGenerator(), policy: newDomainPolicy()}, nil
}

// redact hides a password in a database URL before it reaches a log line.
func redact(url string) string {
	at := strings.LastIndex(url, "@")
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return url
	}
	userinfo := url[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return url[:scheme+3] + userinfo[:i] + ":***" + url[at:]
	}
	return url
}

// Close releases both handles.
func (s *Store) Close() error {
	s.hot.close()
	s.hotw.close()
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// Migrate applies pending migrations and returns the names it applied.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	return migrations.Up(ctx, s.w)
}

// DB is the write handle, for migrations tooling and tests.
func (s *Store) DB() *bun.DB { return s.w }

// ReadDB is the read handle.
func (s *Store) ReadDB() *bun.DB { return s.r }

// Dialect names the database in use: "sqlite" or "pg".
func (s *Store) Dialect() dialect.Name { return s.w.Dialect().Name() }

// NewID returns a fresh time-ordered id.
func (s *Store) NewID() ID { return s.ids.Next() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.r.PingContext(ctx) }

// tx runs fn in a write transaction.
func (s *Store) tx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return s.w.RunInTx(ctx, nil, fn)
}

// notFound maps sql.ErrNoRows to ErrNotFound with context.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// HasSchema reports whether the database was ever migrated: whether it
// holds a Skein node, empty or not.
func (s *Store) HasSchema(ctx context.Context) (bool, error) {
	return migrations.Initialized(ctx, s.w)
}

// PendingMigrations counts migrations not yet applied.
func (s *Store) PendingMigrations(ctx context.Context) (int, error) {
	return migrations.Pending(ctx, s.w)
}
