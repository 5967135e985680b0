package storage

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable reports whether err is the database refusing work for the
// moment rather than anything wrong with what was asked: SQLite busy or
// locked past its busy timeout, the disk full, the file read-only or
// failing, PostgreSQL out of resources, shutting down, unreachable, or
// aborting a transaction to be retried. A caller answers 503 and keeps
// the input, so the sender (a remote server, or a member with their
// text) can send it again; whatever the transaction wrote was rolled
// back.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	// modernc.org/sqlite's errors carry the extended result code; the
	// primary code is its low byte.
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() & 0xff {
		case 5, // SQLITE_BUSY
			6,  // SQLITE_LOCKED
			7,  // SQLITE_NOMEM
			8,  // SQLITE_READONLY
			10, // SQLITE_IOERR
			13, // SQLITE_FULL
			14: // SQLITE_CANTOPEN
			return true
		}
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case strings.HasPrefix(pg.Code, "08"), // connection exception
			strings.HasPrefix(pg.Code, "53"),  // insufficient resources: disk full, out of memory, too many connections
			strings.HasPrefix(pg.Code, "57P"), // admin shutdown, crash shutdown, cannot connect now
			pg.Code == "40001",                // serialization failure
			pg.Code == "40P01",                // deadlock detected
			pg.Code == "55P03",                // lock not available
			pg.Code == "57014",                // statement timeout
			pg.Code == "25006":                // read-only transaction (a standby)
			return true
		}
	}
	var connect *pgconn.ConnectError
	return errors.As(err, &connect)
}
