// Package storage owns Skein's database: the model (members, remote actors,
// forums, threads, posts, likes, follows, keys, the outbox) and the
// invariants that tie them together, on SQLite or PostgreSQL through bun.
// Every write that federates records an outbox event in its own
// transaction, so nothing a member does is lost between the forum and the
// fediverse.
package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/skein-forum/skein/migrations"
)

// Store is the database. On SQLite it keeps two handles on the one file:
// a write handle of exactly one connection, and a read handle whose pool
// Options.Pool sizes. SQLite allows one writer at a time, and a single
// write handle turns lock contention into an orderly queue instead of
// SQLITE_BUSY errors; WAL lets the readers run beside it. On PostgreSQL
// both handles are the same pool, sized by Options.Pool, and every
// process sharing the database has its own (docs/operations.md sizes
// them for N processes).
type Store struct {
	w       *bun.DB
	r       *bun.DB
	ids     *IDGenerator
	lease   *idLease // the ids' node number, see [Store.leaseIDNode]
	policy  *domainPolicy
	hot     hotReads    // prepared read statements, see [hotReads]
	hotw    hotWrites   // prepared write statements, see [hotWrites]
	common  commonTerms // search terms too common to rank, see [Store.searchSQLite]
	results searchCache // recent searches' results, see [Store.searchSQLite]

	// hidden remembers which forums are hidden (ID to bool), see
	// [Store.forumHidden].
	hidden sync.Map
	// ckpt copies the WAL back into the database file on SQLite (nil on
	// PostgreSQL), see [checkpointer].
	ckpt *checkpointer
	// indexedAt is when a post was last indexed (Unix nanoseconds), see
	// [Store.MergeSearchIndex].
	indexedAt atomic.Int64
	// lastTime is the last time [Store.timeArg] wrote as SQLite text.
	lastTime atomic.Pointer[timeText]
}

// Options selects and tunes the database.
type Options struct {
	// DatabaseURL is a postgres:// URL; empty means SQLite in DataDir.
	DatabaseURL string
	// DataDir holds skein.db when SQLite is used.
	DataDir string
	// Federation is FederationOpen (the default) or FederationAllowlist:
	// talk only to the hosts on the allow list (DomainPolicy).
	Federation string
	// Pool sizes the connection pool; the zero value is the defaults.
	Pool Pool
	// AllowEmptyDatabase lets a PostgreSQL store open an empty database
	// although DataDir holds a SQLite node (see ErrNodeLeftBehind).
	AllowEmptyDatabase bool
	// SearchCache is how many searches' ranked results a SQLite store
	// keeps until its search index changes: 0 means DefaultSearchCache,
	// negative none. See [Store.Search].
	SearchCache int
}

// Pool sizes a connection pool: on PostgreSQL the one pool of the
// process, on SQLite the read handle's (the write handle always has one
// connection). Zero fields take the defaults.
type Pool struct {
	// MaxOpen bounds open connections. Default: DefaultMaxOpen on
	// PostgreSQL, max(4, 2×GOMAXPROCS) SQLite readers.
	MaxOpen int
	// MaxIdle bounds idle connections kept for reuse. Default: MaxOpen,
	// so a busy process keeps its connections instead of closing and
	// reopening them between bursts (each PostgreSQL connection is a
	// server process to start).
	MaxIdle int
	// MaxLifetime recycles a connection after this long (a PostgreSQL
	// failover or a pooler's rebalancing is picked up). Default 30
	// minutes; negative: never.
	MaxLifetime time.Duration
}

// DefaultMaxOpen is the PostgreSQL pool's default size per process:
// enough for the request handlers and workers of a 2-4 core machine, and
// ten processes of it fit PostgreSQL's default max_connections (100).
const DefaultMaxOpen = 8

func (p Pool) apply(db *sql.DB, defaultOpen int) {
	open := p.MaxOpen
	if open <= 0 {
		open = defaultOpen
	}
	idle := p.MaxIdle
	if idle <= 0 || idle > open {
		idle = open
	}
	life := p.MaxLifetime
	switch {
	case life == 0:
		life = 30 * time.Minute
	case life < 0:
		life = 0
	}
	db.SetMaxOpenConns(open)
	db.SetMaxIdleConns(idle)
	db.SetConnMaxLifetime(life)
}

// Open connects to the database. It does not migrate; call Migrate.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Federation != "" && opts.Federation != FederationOpen && opts.Federation != FederationAllowlist {
		return nil, fmt.Errorf("federation mode %q: want %q or %q", opts.Federation, FederationOpen, FederationAllowlist)
	}
	if strings.HasPrefix(opts.DatabaseURL, "postgres://") || strings.HasPrefix(opts.DatabaseURL, "postgresql://") {
		s, err := openPostgres(ctx, opts.DatabaseURL, opts.Pool)
		if err != nil {
			return nil, err
		}
		if !opts.AllowEmptyDatabase {
			if err := s.refuseToAbandon(ctx, opts.DataDir); err != nil {
				s.Close()
				return nil, err
			}
		}
		return s.ready(ctx, opts)
	}
	if opts.DatabaseURL != "" {
		return nil, fmt.Errorf("database url %q: only postgres:// URLs are supported (leave it empty for SQLite)", redact(opts.DatabaseURL))
	}
	s, err := openSQLite(ctx, opts.DataDir, opts.Pool)
	if err != nil {
		return nil, err
	}
	return s.ready(ctx, opts)
}

// ready finishes opening s, on either database: the federation mode, and
// the lease of a node number for ids.
func (s *Store) ready(ctx context.Context, opts Options) (*Store, error) {
	s.policy.allowlist = opts.Federation == FederationAllowlist
	s.results.limit = opts.SearchCache
	if s.results.limit == 0 {
		s.results.limit = DefaultSearchCache
	}
	if err := s.leaseIDNode(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openSQLite(ctx context.Context, dir string, pool Pool) (*Store, error) {
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
	pinAllocator()
	// The checkpointer copies the WAL back beside the writer
	// (checkpoint.go); the writer's own automatic checkpoint is the
	// fallback, at a larger WAL.
	wsql, err := sql.Open(sqliteshim.ShimName, dsn+fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", walFallbackPages))
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
	pool.apply(rsql, max(4, runtime.GOMAXPROCS(0)*2))
	s := &Store{
		w:      bun.NewDB(wsql, sqlitedialect.New()),
		r:      bun.NewDB(rsql, sqlitedialect.New()),
		ids:    NewIDGenerator(),
		lease:  newIDLease(),
		policy: newDomainPolicy(),
	}
	if err := s.w.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if s.ckpt, err = startCheckpointer(dsn); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}

func openPostgres(ctx context.Context, url string, pool Pool) (*Store, error) {
	sqldb, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	pool.apply(sqldb, DefaultMaxOpen)
	db := bun.NewDB(sqldb, pgdialect.New())
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres %s: %w", redact(url), err)
	}
	return &Store{w: db, r: db, ids: NewIDGenerator(), lease: newIDLease(), policy: newDomainPolicy()}, nil
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
	var err error
	if s.ckpt != nil {
		err = s.ckpt.close()
	}
	s.releaseIDNode()
	s.hot.close()
	s.hotw.close()
	err = errors.Join(err, s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// Migrate applies pending migrations and returns the names it applied.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	applied, err := migrations.Up(ctx, s.w)
	if err != nil {
		return applied, err
	}
	return applied, s.leaseIDNode(ctx)
}

// selectOne reads the one T that where matches, or fails with
// ErrNotFound naming what.
func selectOne[T any](ctx context.Context, db bun.IDB, what, where string, args ...any) (*T, error) {
	v := new(T)
	if err := db.NewSelect().Model(v).Where(where, args...).Scan(ctx); err != nil {
		return nil, notFound(err, what)
	}
	return v, nil
}

// execCount runs a write on the write handle and returns how many rows
// it changed; what says what it did, for the error.
func (s *Store) execCount(ctx context.Context, what, query string, args ...any) (int, error) {
	res, err := s.w.NewRaw(query, args...).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
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

// Ready checks what serving needs: the database answers and the
// statements every page reads with are prepared (they are prepared again
// here if an earlier try failed). A readiness probe calls it.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	if _, err := s.hotReads(ctx); err != nil {
		return err
	}
	return nil
}

// tx runs fn in a write transaction.
//
// On SQLite the statements inside run with a context that is never
// cancelled: the driver (modernc.org/sqlite) starts a goroutine for each
// statement run with a cancellable context, to interrupt it, and a batch
// of posts runs a few statements a post (about 2% of the node's CPU
// under an ingest load went to those goroutines). Cancelling ctx still
// ends the transaction: database/sql rolls it back once the running
// statement returns, and Commit refuses a cancelled context; waiting for
// the write connection (BeginTx) still gives up with ctx.
func (s *Store) tx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	if s.Dialect() == dialect.PG {
		return s.w.RunInTx(ctx, nil, fn)
	}
	return s.w.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return fn(context.WithoutCancel(ctx), tx)
	})
}

// txAs is [Store.tx] with the error wrapped with what the change is.
func (s *Store) txAs(ctx context.Context, what string, fn func(ctx context.Context, tx bun.Tx) error) error {
	if err := s.tx(ctx, fn); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// txValue is [Store.tx] for a change that makes a value: fn's value once
// the transaction commits; otherwise the zero value and the error, wrapped
// with what.
func txValue[T any](ctx context.Context, s *Store, what string, fn func(ctx context.Context, tx bun.Tx) (T, error)) (T, error) {
	var v T
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		v, err = fn(ctx, tx)
		return err
	})
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// notFound maps sql.ErrNoRows to ErrNotFound with context.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// PendingMigrations counts migrations not yet applied.
func (s *Store) PendingMigrations(ctx context.Context) (int, error) {
	return migrations.Pending(ctx, s.w)
}

// LeaseOwner names a worker for the leases it takes on a queue: the
// host, the process and a random part, so two workers never share a name
// even in one process; kind ("inbox", "", ...) tells the reader of the
// table which queue's worker it was.
func LeaseOwner(kind string) string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	if kind != "" {
		kind += "-"
	}
	return fmt.Sprintf("%s-%d-%s%s", host, os.Getpid(), kind, hex.EncodeToString(b[:]))
}
