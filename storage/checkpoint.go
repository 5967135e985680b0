package storage

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun/driver/sqliteshim"
)

// The WAL is copied back into the database file (a checkpoint) by a
// connection of its own, beside the writer, instead of by the writer
// after the commit that filled it. SQLite's automatic checkpoint runs in
// the committing connection: with one write connection that is the
// ingest's one writer, which then stops storing posts while it copies
// and fsyncs thousands of pages (6% of the node's CPU under an ingest
// load, all of it on the one goroutine that bounds the rate). A PASSIVE
// checkpoint on another connection copies the same pages while the writer
// goes on appending to the WAL; SQLite's locks keep the two apart.
//
// The writer keeps an automatic checkpoint, at walFallbackPages. A
// PASSIVE checkpoint beside a busy writer seldom copies the very last
// frame (the writer has added more by the time it ends), and SQLite starts
// the WAL file over only after a checkpoint that copied everything; so
// under a steady load the WAL grows until the writer's own checkpoint
// fires, finds all but the last frames copied already, copies those, and
// the next write starts the file over: the WAL cycles at about
// walFallbackPages (128 MB) and the writer copies only the remainder.
// Should this goroutine stop, the writer's checkpoint still bounds the
// WAL.

// checkpointEvery is how often the checkpointer copies what the WAL
// holds. Under an ingest the WAL takes 7,000-12,000 pages a second, so a
// pass copies about as much as SQLite's automatic checkpoint would at
// 8,000 pages, and each page changed many times in that second is written
// back once; a quiet node's pass finds nothing to copy and writes nothing.
// The WAL's size is not watched: reading it from the -shm file would mean
// opening that file, and closing any descriptor of a file drops every
// POSIX lock the process holds on it, SQLite's included.
const checkpointEvery = time.Second

// walFallbackPages is the writer's own automatic checkpoint
// (wal_autocheckpoint), for when the checkpointer has not kept up: 128 MB.
const walFallbackPages = 32000

// checkpointer runs a PASSIVE checkpoint on its own connection every
// checkpointEvery.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
}

// startCheckpointer opens the checkpointer's connection on dsn and starts
// it.
func startCheckpointer(dsn string) (*checkpointer, error) {
	db, err := sql.Open(sqliteshim.ShimName, dsn)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint connection: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	warned := false
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if _, err := c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)"); err != nil && !warned {
			slog.Warn("checkpoint the WAL; the writer checkpoints instead", "err", err)
			warned = true
		}
	}
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.db.Close()
}
