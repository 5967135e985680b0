package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/schema"
)

// Hot reads are the queries every thread page, collection page and actor
// document runs, as statements prepared once per connection. bun writes
// each query as text with its values inlined, so SQLite parses and plans
// it again on every call: under a read load that parsing was the largest
// single cost of the collection page (about a quarter of its CPU, see
// docs/benchmarks-history.md). These take ? parameters instead, and
// database/sql keeps each one prepared on every connection of the read
// pool.
//
// Columns and scanning come from bun's metadata of the models, so a
// column added to Post, Thread or Account is read here as everywhere
// else, and values are converted exactly as bun converts them.
//
// A failed preparation (the database was down, a migration not yet
// applied) is not kept: the next call tries again, at most once per
// hotReadRetry, and [Store.Ready] reports the failure meanwhile.
type hotReads struct {
	ready atomic.Bool // every statement is prepared; read without the lock
	mu    sync.Mutex
	err   error     // the last failure, until a try succeeds
	tried time.Time // when err happened

	post, account, thread, event *schema.Table

	postsInRange    *sql.Stmt
	postByID        *sql.Stmt
	threadByID      *sql.Stmt
	threadWithForum *sql.Stmt
	memberByHandle  *sql.Stmt
	sessionMember   *sql.Stmt
	threadVersion   *sql.Stmt
	accountByAPID   *sql.Stmt
	postByAPID      *sql.Stmt
	followerTargets *sql.Stmt
	likedOnPage     *sql.Stmt
	livePostThread  *sql.Stmt
	threadReader    *sql.Stmt
	pendingEvents   *sql.Stmt // the outbox worker's, per pass
	remoteFollowed  *sql.Stmt
	// SQLite's search, see [Store.searchSQLite].
	searchVersion, searchRanked, searchNth, searchNewestFrom, searchFrom, searchCountTo, searchByID *sql.Stmt
	searchHit                                                                                       *searchHitFields
}

// hotReadRetry spaces tries after a failed preparation, so a database
// that is down is not asked to prepare ten statements per request.
const hotReadRetry = time.Second

func (s *Store) hotReads(ctx context.Context) (*hotReads, error) {
	h := &s.hot
	if h.ready.Load() {
		return h, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ready.Load() {
		return h, nil
	}
	if h.err != nil && time.Since(h.tried) < hotReadRetry {
		return nil, h.err
	}
	if err := h.prepare(ctx, s); err != nil {
		h.close()
		h.err, h.tried = fmt.Errorf("prepare read statements: %w", err), time.Now()
		return nil, h.err
	}
	h.err = nil
	h.ready.Store(true)
	return h, nil
}

func (h *hotReads) prepare(ctx context.Context, s *Store) error {
	h.post = s.r.Table(reflect.TypeFor[Post]())
	h.account = s.r.Table(reflect.TypeFor[Account]())
	h.thread = s.r.Table(reflect.TypeFor[Thread]())
	h.event = s.r.Table(reflect.TypeFor[OutboxEvent]())
	pg := s.r.Dialect().Name() == dialect.PG
	prep := func(dst **sql.Stmt, query string) error {
		if pg {
			query = dollarParams(query)
		}
		// Prepared without the request's context: the statement outlives
		// it, and database/sql prepares it again on other connections.
		st, err := s.r.DB.PrepareContext(context.WithoutCancel(ctx), query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", query, err)
		}
		*dst = st
		return nil
	}
	postCols, accountCols, threadCols := columns(h.post, "p"), columns(h.account, "a"), columns(h.thread, "t")
	if !pg {
		var err error
		if h.searchHit, err = newSearchHitFields(h.post, h.account); err != nil {
			return err
		}
		err = errors.Join(
			prep(&h.searchVersion, searchIndexVersion),
			prep(&h.searchRanked, searchRanked),
			prep(&h.searchNth, searchNth),
			prep(&h.searchNewestFrom, searchNewestFrom),
			prep(&h.searchFrom, searchFrom),
			prep(&h.searchCountTo, searchCountTo),
			prep(&h.searchByID, "SELECT "+searchHitColumns()+searchPostsByID))
		if err != nil {
			return err
		}
	}
	return errors.Join(
		prep(&h.postsInRange, "SELECT "+postCols+", "+accountCols+" FROM posts AS p LEFT JOIN accounts AS a ON a.id = p.author_id "+
			"WHERE p.thread_id = ? AND p.position BETWEEN ? AND ? ORDER BY p.position"),
		prep(&h.postByID, "SELECT "+postCols+", "+accountCols+" FROM posts AS p LEFT JOIN accounts AS a ON a.id = p.author_id WHERE p.id = ?"),
		prep(&h.threadByID, "SELECT "+threadCols+", "+accountCols+" FROM threads AS t LEFT JOIN accounts AS a ON a.id = t.author_id WHERE t.id = ?"),
		prep(&h.threadWithForum, "SELECT "+threadCols+", f.slug, f.title FROM threads AS t JOIN forums AS f ON f.id = t.forum_id WHERE t.id = ?"),
		prep(&h.memberByHandle, "SELECT "+accountCols+" FROM accounts AS a WHERE a.handle = ? AND a.domain = '' LIMIT 1"),
		prep(&h.sessionMember, "SELECT "+accountCols+" FROM accounts AS a JOIN sessions AS s ON s.account_id = a.id "+
			"WHERE s.token_hash = ? AND s.expires_at > ? AND a.suspended = ? AND a.approval_pending = ? AND a.deleted_at IS NULL LIMIT 1"),
		prep(&h.threadVersion, "SELECT version FROM threads WHERE id = ?"),
		// The inbox worker's lookups, once or twice per activity.
		prep(&h.accountByAPID, "SELECT "+accountCols+" FROM accounts AS a WHERE a.ap_id = ?"),
		// The outbox worker's, per event of a post.
		prep(&h.followerTargets, sqlRemoteFollowerTargets),
		prep(&h.postByAPID, "SELECT "+postCols+", "+accountCols+" FROM posts AS p LEFT JOIN accounts AS a ON a.id = p.author_id WHERE p.ap_id = ?"),
		prep(&h.livePostThread, "SELECT thread_id FROM posts WHERE id = ? AND deleted_at IS NULL"),
		prep(&h.pendingEvents, "SELECT "+columns(h.event, "e")+" FROM outbox_events AS e WHERE e.processed_at IS NULL ORDER BY e.id LIMIT ?"),
		prep(&h.remoteFollowed, sqlRemoteFollowed(pg)),
		prep(&h.threadReader, `SELECT
			COALESCE((SELECT last_position FROM thread_reads WHERE account_id = ? AND thread_id = ?), 0),
			(SELECT COUNT(*) FROM follows WHERE follower_id = ? AND target_kind = ? AND target_id = ?),
			(SELECT COUNT(*) FROM thread_mutes WHERE account_id = ? AND thread_id = ?)`),
		// What a member liked of a page of posts, which every thread page
		// shows them.
		prep(&h.likedOnPage, "SELECT p.id FROM posts AS p JOIN likes AS l ON l.post_id = p.id AND l.account_id = ? "+
			"WHERE p.thread_id = ? AND p.position BETWEEN ? AND ?"),
	)
}

func (h *hotReads) close() {
	for _, st := range []**sql.Stmt{&h.postsInRange, &h.postByID, &h.threadByID, &h.threadWithForum, &h.memberByHandle,
		&h.sessionMember, &h.threadVersion, &h.accountByAPID, &h.postByAPID, &h.followerTargets, &h.likedOnPage, &h.livePostThread, &h.threadReader, &h.pendingEvents, &h.remoteFollowed,
		&h.searchVersion, &h.searchRanked, &h.searchNth, &h.searchNewestFrom, &h.searchFrom, &h.searchCountTo, &h.searchByID} {
		if *st != nil {
			(*st).Close()
			*st = nil
		}
	}
}

// timeArg is a time as a query parameter: on SQLite the text bun writes
// (times are stored as text and compared as text), else the time itself.
//
// The text of the last time is kept: a batch of posts writes the same
// moment several times a row (the post's and its event's creation, the
// activity's arrival and end), and formatting it was about 2% of storing
// the batch.
func (s *Store) timeArg(t time.Time) any {
	if s.r.Dialect().Name() != dialect.SQLite {
		return t.UTC()
	}
	if last := s.lastTime.Load(); last != nil && last.t.Equal(t) {
		return last.text
	}
	text := t.UTC().Format(sqliteTimeFormat)
	s.lastTime.Store(&timeText{t: t, text: text})
	return text
}

// timeText is a time and its text on SQLite.
type timeText struct {
	t    time.Time
	text string
}

// columns lists a table's columns under alias, in field order.
func columns(t *schema.Table, alias string) string {
	var b strings.Builder
	for i, f := range t.Fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(alias + "." + string(f.SQLName))
	}
	return b.String()
}

// dollarParams turns ? placeholders into PostgreSQL's $1, $2, ...; the
// hot queries have no ? inside string literals.
func dollarParams(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// rowValues scans one row into generic values, for scanFields.
type rowValues struct {
	vals []any
	ptrs []any
}

func newRowValues(n int) *rowValues {
	r := &rowValues{vals: make([]any, n), ptrs: make([]any, n)}
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return r
}

func (r *rowValues) scan(rows *sql.Rows) error {
	clear(r.vals)
	return rows.Scan(r.ptrs...)
}

// scanFields fills the fields of the struct dst points to from vals, the
// way bun does.
func scanFields(t *schema.Table, dst any, vals []any) error {
	if err := scanSomeFields(t.Fields, dst, vals); err != nil {
		return fmt.Errorf("%s: %w", t.Name, err)
	}
	return nil
}

// scanAuthor reads the account columns at vals; a LEFT JOIN without a
// match gives nil.
func (h *hotReads) scanAuthor(vals []any) (*Account, error) {
	if vals[0] == nil {
		return nil, nil
	}
	a := new(Account)
	if err := scanFields(h.account, a, vals); err != nil {
		return nil, err
	}
	return a, nil
}

// queryPosts runs a statement whose rows are post columns then author
// columns.
func (h *hotReads) queryPosts(ctx context.Context, st *sql.Stmt, args ...any) ([]Post, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	np := len(h.post.Fields)
	rv := newRowValues(np + len(h.account.Fields))
	var out []Post
	for rows.Next() {
		if err := rv.scan(rows); err != nil {
			return nil, err
		}
		out = append(out, Post{})
		p := &out[len(out)-1]
		if err := scanFields(h.post, p, rv.vals[:np]); err != nil {
			return nil, err
		}
		if p.Author, err = h.scanAuthor(rv.vals[np:]); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// queryThread runs a statement whose one row is thread columns, extra
// columns, then author columns when withAuthor.
func (h *hotReads) queryThread(ctx context.Context, st *sql.Stmt, withAuthor bool, extra []any, args ...any) (*Thread, error) {
	nt := len(h.thread.Fields)
	n := nt + len(extra)
	if withAuthor {
		n += len(h.account.Fields)
	}
	rv, err := queryOne(ctx, st, n, args...)
	if err != nil {
		return nil, err
	}
	t := new(Thread)
	if err := scanFields(h.thread, t, rv.vals[:nt]); err != nil {
		return nil, err
	}
	for i := range extra {
		if s, ok := rv.vals[nt+i].(string); ok {
			*(extra[i].(*string)) = s
		} else if b, ok := rv.vals[nt+i].([]byte); ok {
			*(extra[i].(*string)) = string(b)
		}
	}
	if withAuthor {
		if t.Author, err = h.scanAuthor(rv.vals[nt+len(extra):]); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// queryAccount runs a statement whose one row is account columns.
func (h *hotReads) queryAccount(ctx context.Context, st *sql.Stmt, args ...any) (*Account, error) {
	rv, err := queryOne(ctx, st, len(h.account.Fields), args...)
	if err != nil {
		return nil, err
	}
	a := new(Account)
	if err := scanFields(h.account, a, rv.vals); err != nil {
		return nil, err
	}
	return a, nil
}

// queryOne runs a statement that returns at most one row of n columns
// and reads it; sql.ErrNoRows when there is none.
func queryOne(ctx context.Context, st *sql.Stmt, n int, args ...any) (*rowValues, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, sql.ErrNoRows
	}
	rv := newRowValues(n)
	if err := rv.scan(rows); err != nil {
		return nil, err
	}
	return rv, rows.Err()
}
