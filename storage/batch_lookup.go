package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"
)

// The look-ups a batch of posts makes (posts stored before, tombstones,
// the posts replied to, the accounts to notify, who watches or muted the
// threads or forums), each one statement for the whole batch. bun writes an IN
// list's values into the SQL text, so SQLite parsed each of them afresh
// at every batch; these take the whole list as one parameter instead (a
// JSON array that SQLite walks with json_each, an array on PostgreSQL),
// so one prepared statement ([hotWrites]) serves lists of every length.
// The keys are ids, or IRIs that came in JSON and are valid UTF-8, so
// the JSON text carries them unchanged.

// batchLookups are the look-up statements of the dialect, prepared with
// the hot writes.
type batchLookups struct {
	threads, postsByAPID, tombstones, replyTargets, notifyAccounts, watchers, threadMutes string
	queuedActivities, remoteFollowed                                                      string
}

// newBatchLookups writes the look-ups; thread is the Thread model's table.
func newBatchLookups(pg bool, thread *schema.Table) batchLookups {
	in := listIn(pg)
	return batchLookups{
		threads:        "SELECT " + columns(thread, "t") + " FROM threads AS t WHERE t.id " + in,
		postsByAPID:    "SELECT id FROM posts WHERE ap_id " + in,
		tombstones:     "SELECT object_id, actor_id FROM inbox_tombstones WHERE object_id " + in,
		replyTargets:   "SELECT id, thread_id, author_id FROM posts WHERE id " + in,
		notifyAccounts: "SELECT id, handle, domain, suspended, silenced, approval_pending, deleted_at FROM accounts WHERE id " + in,
		// Members only: remote followers of a thread or forum hear of
		// it by federation.
		watchers: `SELECT f.follower_id, f.target_id FROM follows AS f JOIN accounts AS a ON a.id = f.follower_id
			WHERE f.target_kind = ? AND f.target_id ` + in + ` AND f.accepted = ? AND a.domain = '' ORDER BY f.id`,
		threadMutes: "SELECT account_id, thread_id FROM thread_mutes WHERE thread_id " + in,
		// activity_id <> '' lets SQLite take the partial unique index
		// (inbox_items_activity), which a list alone does not imply.
		queuedActivities: "SELECT activity_id FROM inbox_items WHERE activity_id <> '' AND activity_id " + in,
		remoteFollowed:   sqlRemoteFollowed(pg),
	}
}

func (l batchLookups) all() []string {
	return []string{l.threads, l.postsByAPID, l.tombstones, l.replyTargets, l.notifyAccounts, l.watchers, l.threadMutes,
		l.queuedActivities, l.remoteFollowed}
}

// listIn is the condition "is one of the list parameter's values".
func listIn(pg bool) string {
	if pg {
		return "= ANY(?)"
	}
	return "IN (SELECT value FROM json_each(?))"
}

// idList is ids as the one parameter of a batch look-up.
func (h *hotWrites) idList(ids []ID) any { return idListArg(h.pg, ids) }

// idListArg is ids as a list parameter (see listIn).
func idListArg(pg bool, ids []ID) any {
	if pg {
		out := make([]int64, len(ids))
		for i, id := range ids {
			out[i] = int64(id)
		}
		return out
	}
	b := make([]byte, 0, 2+len(ids)*20)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return string(append(b, ']'))
}

// textList is strings as the one parameter of a batch look-up.
func (h *hotWrites) textList(keys []string) (any, error) {
	if h.pg {
		return keys, nil
	}
	b, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// lookup runs the batch look-up query in tx with args and hands each row
// to scan.
func (h *hotWrites) lookup(ctx context.Context, tx bun.Tx, query string, scan func(*sql.Rows) error, args ...any) error {
	rows, err := h.stmt(ctx, tx, query).QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// lookupText is lookup with keys as its one parameter (textList).
func (h *hotWrites) lookupText(ctx context.Context, tx bun.Tx, query string, keys []string, scan func(*sql.Rows) error) error {
	list, err := h.textList(keys)
	if err != nil {
		return err
	}
	return h.lookup(ctx, tx, query, scan, list)
}

// threadsByID reads the threads of ids, by id; ids not found are absent.
func threadsByID(ctx context.Context, tx bun.Tx, hw *hotWrites, ids []ID) (map[ID]*Thread, error) {
	out := make(map[ID]*Thread, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rv := newRowValues(len(hw.thread.Fields))
	err := hw.lookup(ctx, tx, hw.lists.threads, func(r *sql.Rows) error {
		if err := rv.scan(r); err != nil {
			return err
		}
		t := new(Thread)
		if err := scanFields(hw.thread, t, rv.vals); err != nil {
			return err
		}
		out[t.ID] = t
		return nil
	}, hw.idList(ids))
	return out, wrapIf(err, "look up threads")
}

// storedPosts returns the posts stored under apids, by APID.
func (s *Store) storedPosts(ctx context.Context, tx bun.Tx, hw *hotWrites, apids []string) (map[string]*Post, error) {
	out := make(map[string]*Post)
	if len(apids) == 0 {
		return out, nil
	}
	var ids []ID
	err := hw.lookupText(ctx, tx, hw.lists.postsByAPID, apids, func(r *sql.Rows) error {
		var id ID
		ids = append(ids, id)
		return r.Scan(&ids[len(ids)-1])
	})
	if err != nil || len(ids) == 0 {
		return out, wrapIf(err, "look up post ids")
	}
	// Repeats are rare: only they are read whole.
	byID, err := rowsIn(ctx, tx, "look up repeated posts", "id", ids, postKey, nil)
	if err != nil {
		return nil, err
	}
	for _, p := range byID {
		out[*p.APID] = p
	}
	return out, nil
}

// queuedActivities returns the activity ids among ids that the inbox
// queue holds, done or not.
func queuedActivities(ctx context.Context, tx bun.Tx, hw *hotWrites, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []string
	err := hw.lookupText(ctx, tx, hw.lists.queuedActivities, ids, func(r *sql.Rows) error {
		var id string
		if err := r.Scan(&id); err != nil {
			return err
		}
		out = append(out, id)
		return nil
	})
	return out, wrapIf(err, "look up inbox activities")
}

// tombstonedPosts returns the APIDs among apids that the given authors
// withdrew (author by APID).
func tombstonedPosts(ctx context.Context, tx bun.Tx, hw *hotWrites, apids []string) (map[string][]ID, error) {
	out := map[string][]ID{}
	if len(apids) == 0 {
		return out, nil
	}
	err := hw.lookupText(ctx, tx, hw.lists.tombstones, apids, func(r *sql.Rows) error {
		var object string
		var actor ID
		if err := r.Scan(&object, &actor); err != nil {
			return err
		}
		out[object] = append(out[object], actor)
		return nil
	})
	return out, wrapIf(err, "look up tombstones")
}

// replyTargets maps the posts ids name (replied to or quoted) to their
// threads and authors.
func replyTargets(ctx context.Context, tx bun.Tx, hw *hotWrites, ids []ID) (thread, author map[ID]ID, err error) {
	thread, author = make(map[ID]ID), make(map[ID]ID)
	if len(ids) == 0 {
		return thread, author, nil
	}
	err = hw.lookup(ctx, tx, hw.lists.replyTargets, func(r *sql.Rows) error {
		var id, t, a ID
		if err := r.Scan(&id, &t, &a); err != nil {
			return err
		}
		thread[id], author[id] = t, a
		return nil
	}, hw.idList(ids))
	return thread, author, wrapIf(err, "check quoted posts")
}

// notifyAccountsOf reads the accounts of ids inside tx through the
// prepared look-up.
func notifyAccountsOf(ctx context.Context, tx bun.Tx, hw *hotWrites, ids []ID) (map[ID]*notifyAccount, error) {
	out := make(map[ID]*notifyAccount, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err := hw.lookup(ctx, tx, hw.lists.notifyAccounts, func(r *sql.Rows) error {
		a := new(notifyAccount)
		var deleted any // text on SQLite (see [Store.timeArg]), a time on PostgreSQL
		if err := r.Scan(&a.ID, &a.Handle, &a.Domain, &a.Suspended, &a.Silenced, &a.ApprovalPending, &deleted); err != nil {
			return err
		}
		if deleted != nil {
			a.DeletedAt = deletedAt(deleted)
		}
		out[a.ID] = a
		return nil
	}, hw.idList(ids))
	return out, wrapIf(err, "accounts to notify")
}

// remoteFollowedOf is [Store.FollowedRemotely] inside tx: the targets
// among ids of kind with an accepted remote follower.
func remoteFollowedOf(ctx context.Context, tx bun.Tx, hw *hotWrites, kind string, ids []ID) (map[ID]bool, error) {
	out := make(map[ID]bool)
	if len(ids) == 0 {
		return out, nil
	}
	err := hw.lookup(ctx, tx, hw.lists.remoteFollowed, func(r *sql.Rows) error {
		var id ID
		if err := r.Scan(&id); err != nil {
			return err
		}
		out[id] = true
		return nil
	}, kind, hw.idList(ids), true)
	return out, wrapIf(err, "remotely followed "+kind+"s")
}

// deletedAt is the time of a deleted_at column read as it comes: a
// deletion whose time does not parse is still a deletion.
func deletedAt(v any) *time.Time {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case string:
		t, _ = time.Parse(sqliteTimeFormat, x)
	case []byte:
		t, _ = time.Parse(sqliteTimeFormat, string(x))
	}
	return &t
}

// wrapIf wraps a non-nil err with what failed.
func wrapIf(err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
