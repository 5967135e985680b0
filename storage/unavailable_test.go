package storage_test

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/skein-forum/skein/storage"
)

type sqliteErr int

func (e sqliteErr) Error() string { return fmt.Sprintf("sqlite %d", int(e)) }
func (e sqliteErr) Code() int     { return int(e) }

// Unavailable tells a database that refuses work for now from a request
// that is wrong: the first is answered 503, the second never.
func TestUnavailable(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("create post: %w", err) }
	for _, c := range []struct {
		err  error
		want bool
	}{
		{wrap(sqliteErr(5)), true},         // SQLITE_BUSY
		{wrap(sqliteErr(5 | 2<<8)), true},  // SQLITE_BUSY_SNAPSHOT
		{wrap(sqliteErr(13)), true},        // SQLITE_FULL
		{wrap(sqliteErr(8)), true},         // SQLITE_READONLY
		{wrap(sqliteErr(10 | 3<<8)), true}, // SQLITE_IOERR_WRITE
		{wrap(sqliteErr(19)), false},       // SQLITE_CONSTRAINT
		{wrap(sqliteErr(1)), false},        // SQLITE_ERROR
		{wrap(&pgconn.PgError{Code: "53100"}), true},
		{wrap(&pgconn.PgError{Code: "57P01"}), true},
		{wrap(&pgconn.PgError{Code: "40001"}), true},
		{wrap(&pgconn.PgError{Code: "23505"}), false},
		{wrap(&pgconn.PgError{Code: "22021"}), false},
		{wrap(driver.ErrBadConn), true},
		{wrap(storage.ErrInvalid), false},
		{wrap(storage.ErrNotFound), false},
		{errors.New("remote answered 500"), false},
		{nil, false},
	} {
		if got := storage.Unavailable(c.err); got != c.want {
			t.Errorf("Unavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
