package storage

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
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

// walCheckpointPages is the size of the WAL, in 4 KiB pages not yet
// copied back, at which the checkpointer copies it: 32 MB. SQLite's
// 1,000 pages (4 MB) is a few seconds of ingest, in which the same queue,
// index and counter pages are written again and again; eight times as
// many write them back once where it wrote them eight times.
const walCheckpointPages = 8000

// walFallbackPages is the writer's own automatic checkpoint
// (wal_autocheckpoint), for when the checkpointer has not kept up.
const walFallbackPages = 4 * walCheckpointPages

// checkpointPoll is how often the checkpointer reads how much of the WAL
// is waiting: a read of 100 bytes of the shared-memory index. At an ingest
// of 12,000 WAL pages a second it lets at most a fifth of
// walCheckpointPages more build up.
const checkpointPoll = 100 * time.Millisecond

// checkpointer runs PASSIVE checkpoints on its own connection when the WAL
// holds walCheckpointPages pages not yet copied back.
type checkpointer struct {
	db   *sql.DB
	shm  string // the WAL's shared-memory index, "skein.db-shm"
	stop chan struct{}
	done chan struct{}
}

// startCheckpointer opens the checkpointer's connection on dsn and starts
// it on the database at path.
func startCheckpointer(path, dsn string) (*checkpointer, error) {
	db, err := sql.Open(sqliteshim.ShimName, dsn)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint connection: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	c := &checkpointer{db: db, shm: path + "-shm", stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointPoll)
	defer t.Stop()
	warned := false
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		waiting, err := walWaiting(c.shm)
		if err != nil {
			// No index to read (not yet made, or removed at the last
			// close): the writer's fallback checkpoint still holds.
			continue
		}
		if waiting < walCheckpointPages {
			continue
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

// walWaiting is how many frames of the WAL are not yet copied back into
// the database file, read from the wal-index header in the -shm file
// (SQLite's WAL format: the header's mxFrame at byte 16 and the checkpoint
// information's nBackfill at byte 96, both 32-bit in the host's byte
// order). A read that races a commit may see a torn value; the next poll
// reads it again, and the figure only decides when to checkpoint.
func walWaiting(shm string) (uint32, error) {
	f, err := os.Open(shm)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var hdr [100]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return 0, err
	}
	mxFrame := binary.NativeEndian.Uint32(hdr[16:])
	backfilled := binary.NativeEndian.Uint32(hdr[96:])
	if backfilled >= mxFrame {
		return 0, nil
	}
	return mxFrame - backfilled, nil
}
