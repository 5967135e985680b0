package storage

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/schema"
)

// Hot writes: the statements the busy write paths (inbox intake, batched
// post creation) run many times per transaction, prepared once on the
// write handle and bound with ? parameters. bun writes every value into
// the SQL text, so SQLite parses a 2 KB activity body or post as a string
// literal on every insert; under an ingest load that parsing was the
// largest single cost of the write path (docs/benchmarks-history.md).

type hotWrites struct {
	mu    sync.Mutex
	ready bool
	stmts map[string]*sql.Stmt

	// in is the SQLite write transaction the statements were last
	// bound to and its bound statements: database/sql makes a new Stmt
	// at every Tx.StmtContext and keeps each until the transaction ends,
	// and a batch of 64 posts bound about 400. One SQLite transaction
	// writes at a time, so one slot serves every statement of a batch.
	// PostgreSQL's transactions run side by side and bind at every call,
	// outside the slot and its lock (see stmt). A binding that failed
	// stays in the slot until its transaction ends, which that failure
	// ends anyway: its Exec reports it and the transaction rolls back.
	inMu  sync.Mutex
	in    *sql.Tx
	bound map[string]*sql.Stmt

	post, event, inbox, notification     *schema.Table
	thread                               *schema.Table // read by a batch of posts (batchLookups)
	insertPost, insertEvent, insertInbox string
	insertNotification                   string // repeats collapse (ON CONFLICT DO NOTHING)
	index                                string // the search-index insert of the dialect
	lists                                batchLookups
	pg                                   bool
}

// The hot write statements. Each is prepared on the write handle before
// the first transaction that uses it begins: the handle has a single
// connection on SQLite, which a transaction holds.
const (
	// No RETURNING: SQLite runs it as a trigger, which makes the update
	// keep a statement journal, and modernc's allocator maps and unmaps
	// 64 KiB for each one (a fifth of the cost of storing a batch of
	// replies over many threads). The count is read back instead.
	sqlBumpThread  = "UPDATE threads SET post_count = post_count + ?, last_post_id = ?, last_post_at = ?, version = version + 1 WHERE id = ?"
	sqlThreadCount = "SELECT post_count FROM threads WHERE id = ?"
	sqlCountForum  = "UPDATE forums SET post_count = post_count + ?, last_post_id = ?, last_post_at = ?, version = version + 1 WHERE id = ?"
	sqlCountAuthor = "UPDATE accounts SET post_count = post_count + ? WHERE id = ?"
	sqlCountUnread = "UPDATE accounts SET unread_notifications = unread_notifications + ? WHERE id = ?"
	sqlIndexSQLite = "INSERT INTO post_search (rowid, title, body) VALUES (?, ?, ?)"
	// The inbox queue's lease and its end, one row at a time on SQLite
	// (see ClaimInbox).
	sqlLeaseInbox = "UPDATE inbox_items SET lease_owner = ?, lease_until = ?, next_attempt_at = ?, attempts = attempts + 1 WHERE id = ?"
	sqlDoneInbox  = "UPDATE inbox_items SET done_at = ?, lease_until = NULL, lease_owner = '', last_error = '' WHERE id = ? AND lease_owner = ?"
	// An inbox item's body, apart from its queue row.
	sqlInsertInboxBody = "INSERT INTO inbox_bodies (item_id, body) VALUES (?, ?)"
	sqlIndexPG         = "INSERT INTO post_search (post_id, title, body) VALUES (?, ?, ?) ON CONFLICT (post_id) DO NOTHING"
)

// hotWrites prepares the hot write statements the first time; call it
// outside any transaction.
func (s *Store) hotWrites(ctx context.Context) (*hotWrites, error) {
	h := &s.hotw
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ready {
		return h, nil
	}
	h.post = s.w.Table(reflect.TypeFor[Post]())
	h.event = s.w.Table(reflect.TypeFor[OutboxEvent]())
	h.inbox = s.w.Table(reflect.TypeFor[InboxItem]())
	h.notification = s.w.Table(reflect.TypeFor[Notification]())
	h.insertPost, h.insertEvent = insertSQL(h.post), insertSQL(h.event)
	h.insertNotification = insertSQL(h.notification) + " ON CONFLICT DO NOTHING"
	// Another process may have stored the same activity meanwhile (PostgreSQL).
	h.insertInbox = insertSQL(h.inbox) + " ON CONFLICT DO NOTHING"
	h.index = sqlIndexSQLite
	h.pg = s.Dialect() == dialect.PG
	if h.pg {
		h.index = sqlIndexPG
	}
	h.thread = s.w.Table(reflect.TypeFor[Thread]())
	h.lists = newBatchLookups(h.pg, h.thread)
	if h.stmts == nil {
		h.stmts = make(map[string]*sql.Stmt)
	}
	for _, q := range append([]string{sqlBumpThread, sqlThreadCount, sqlCountForum, sqlCountAuthor, sqlCountUnread, h.index, sqlLeaseInbox, sqlDoneInbox, sqlInsertInboxBody,
		h.insertPost, h.insertEvent, h.insertInbox, h.insertNotification}, h.lists.all()...) {
		if h.stmts[q] != nil {
			continue
		}
		pq := q
		if s.Dialect() == dialect.PG {
			pq = dollarParams(q)
		}
		st, err := s.w.DB.PrepareContext(context.WithoutCancel(ctx), pq)
		if err != nil {
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		h.stmts[q] = st
	}
	h.ready = true
	return h, nil
}

// stmt is the prepared statement of query inside tx.
func (h *hotWrites) stmt(ctx context.Context, tx bun.Tx, query string) *sql.Stmt {
	st, ok := h.stmts[query]
	if !ok {
		panic("storage: hot write statement not prepared: " + query)
	}
	if h.pg {
		// PostgreSQL's write transactions run side by side: one slot
		// would have them evict each other under a shared lock.
		return tx.StmtContext(ctx, st)
	}
	h.inMu.Lock()
	defer h.inMu.Unlock()
	if h.in != tx.Tx {
		// A transaction that ended is never current again: the slot
		// holds it, so its address is not reused for another.
		h.in = tx.Tx
		clear(h.bound)
	}
	if b := h.bound[query]; b != nil {
		return b
	}
	b := tx.StmtContext(ctx, st)
	if h.bound == nil {
		h.bound = make(map[string]*sql.Stmt)
	}
	h.bound[query] = b
	return b
}

// exec runs a hot write statement inside tx.
func (h *hotWrites) exec(ctx context.Context, tx bun.Tx, query string, args ...any) error {
	_, err := h.stmt(ctx, tx, query).ExecContext(ctx, args...)
	return err
}

func (h *hotWrites) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, st := range h.stmts {
		st.Close()
	}
}

// insertSQL is "INSERT INTO table (every column) VALUES (?, ...)" for a
// bun model, columns in field order (see rowArgs).
func insertSQL(t *schema.Table) string {
	var cols, marks strings.Builder
	for i, f := range t.Fields {
		if i > 0 {
			cols.WriteString(", ")
			marks.WriteString(", ")
		}
		cols.WriteString(string(f.SQLName))
		marks.WriteString("?")
	}
	return "INSERT INTO " + string(t.SQLName) + " (" + cols.String() + ") VALUES (" + marks.String() + ")"
}

// rowArgs lists the column values of the model strct points to, in field
// order, as bun would write them: nil pointers as NULL, times in bun's
// text form on SQLite (times are stored and compared as text there).
func (s *Store) rowArgs(t *schema.Table, strct any) ([]any, error) {
	v := reflect.ValueOf(strct).Elem()
	out := make([]any, len(t.Fields))
	for i, f := range t.Fields {
		fv := v.FieldByIndex(f.Index)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		}
		switch x := fv.Interface().(type) {
		case time.Time:
			out[i] = s.timeArg(x)
			continue
		}
		switch fv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			out[i] = fv.Int()
		case reflect.String:
			if strings.IndexByte(fv.String(), 0) >= 0 {
				return nil, fmt.Errorf("%s.%s: %w", t.Name, f.Name, invalid(f.Name, "text contains NUL"))
			}
			out[i] = fv.String()
		case reflect.Bool:
			out[i] = fv.Bool()
		default:
			return nil, fmt.Errorf("%s.%s: no hot-write conversion for %s", t.Name, f.Name, fv.Type())
		}
	}
	return out, nil
}
