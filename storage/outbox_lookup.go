package storage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Reads and small writes of the outbox processor (federation/outbox*.go)
// and of members following remote actors: who a change must reach, and
// what an earlier activity was called.

// FollowerInbox is where one remote follower takes deliveries, or, from
// [Store.RemoteFollowerTargets], several behind one shared inbox.
type FollowerInbox struct {
	FollowID    ID     `bun:"follow_id"`
	AccountID   ID     `bun:"account_id"`
	Domain      string `bun:"domain"`
	Inbox       string `bun:"inbox"`
	SharedInbox string `bun:"shared_inbox"`
	Software    string `bun:"software"`
	// Followers is how many followers the row stands for: more than one
	// only for a shared inbox from [Store.RemoteFollowerTargets].
	Followers int `bun:"-"`
}

// RemoteFollowerTargets returns where a fan-out to the accepted remote
// followers of a target delivers, one row per place: the followers of a
// host that share an inbox and run the same software come back as one
// row (Followers counts them; AccountID is 0 when they are several), a
// follower without a shared inbox as a row of its own. Rows come in the
// order of their first follow, so the jobs are those, in that order, that
// one row per follower would make; a fan-out to 10,000 followers on
// 1,000 hosts reads 1,000 rows instead of 10,000. Suspended actors and
// local followers (who read the forum here) are left out.
func (s *Store) RemoteFollowerTargets(ctx context.Context, kind string, targetID ID) ([]FollowerInbox, error) {
	h, err := s.hotReads(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := h.followerTargets.QueryContext(ctx, kind, targetID, true, false)
	if err != nil {
		return nil, fmt.Errorf("remote followers of %s %s: %w", kind, targetID, err)
	}
	defer rows.Close()
	var out []FollowerInbox
	for rows.Next() {
		var f FollowerInbox
		if err := rows.Scan(&f.FollowID, &f.AccountID, &f.Domain, &f.Inbox, &f.SharedInbox, &f.Software, &f.Followers); err != nil {
			return nil, fmt.Errorf("remote followers of %s %s: %w", kind, targetID, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("remote followers of %s %s: %w", kind, targetID, err)
	}
	return out, nil
}

// sqlRemoteFollowerTargets groups a target's remote followers by host,
// software and shared inbox; a follower without a shared inbox is a
// group of its own (its id in the key). The inbox of a group of several
// is only a hint of where the host is (its NodeInfo is asked there).
const sqlRemoteFollowerTargets = `SELECT MIN(f.id), CASE WHEN COUNT(*) = 1 THEN MIN(a.id) ELSE 0 END,
		a.domain, MIN(a.inbox), a.shared_inbox, a.software, COUNT(*)
	FROM follows AS f JOIN accounts AS a ON a.id = f.follower_id
	WHERE f.target_kind = ? AND f.target_id = ? AND f.accepted = ? AND a.domain <> '' AND a.suspended = ?
	GROUP BY a.domain, a.software, a.shared_inbox, CASE WHEN a.shared_inbox = '' THEN a.id ELSE 0 END
	ORDER BY MIN(f.id)`

// RemoteAccountByAcct finds a known remote actor by handle and host, as a
// mention names it; it never fetches anything.
func (s *Store) RemoteAccountByAcct(ctx context.Context, handle, domain string) (*Account, error) {
	a := new(Account)
	err := s.r.NewSelect().Model(a).Where("handle = ? AND domain = ?", handle, strings.ToLower(domain)).Limit(1).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "actor "+handle+"@"+domain)
	}
	return a, nil
}

// SetDomainSoftware records the server software (NodeInfo's
// software.name) of every known actor on a host.
func (s *Store) SetDomainSoftware(ctx context.Context, domain, software string) error {
	_, err := s.w.NewUpdate().Model((*Account)(nil)).Set("software = ?", software).
		Where("domain = ?", strings.ToLower(domain)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set software of %s: %w", domain, err)
	}
	return nil
}

// LastLikeEvent returns the id of the latest like.create event of
// account on post older than before, or 0: the event a like.delete
// undoes, whose id names the Like activity.
func (s *Store) LastLikeEvent(ctx context.Context, accountID, postID, before ID) (ID, error) {
	var ids []ID
	err := s.r.NewRaw(`SELECT id FROM outbox_events WHERE kind = ? AND account_id = ? AND post_id = ? AND id < ?
		ORDER BY id DESC LIMIT 1`, EventLikeCreate, accountID, postID, before).Scan(ctx, &ids)
	if err != nil {
		return 0, fmt.Errorf("last like event: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	return ids[0], nil
}

// FollowedRemote is a remote actor a member follows, with the state of
// the follow and the newest mirror thread it owns (0 when none yet).
type FollowedRemote struct {
	Account  `bun:",extend"`
	Accepted bool `bun:"accepted"`
	MirrorID ID   `bun:"mirror_id"`
}

// RemoteFollowing lists the remote actors a member follows, newest
// follow first.
func (s *Store) RemoteFollowing(ctx context.Context, followerID ID, limit int) ([]FollowedRemote, error) {
	var out []FollowedRemote
	err := s.r.NewSelect().Model(&out).
		ColumnExpr("account.*").
		ColumnExpr("f.accepted").
		ColumnExpr("COALESCE((SELECT MAX(t.id) FROM threads AS t WHERE t.remote_actor_id = account.id AND t.deleted_at IS NULL), 0) AS mirror_id").
		Join("JOIN follows AS f ON f.target_id = account.id AND f.target_kind = ?", FollowAccount).
		Where("f.follower_id = ? AND account.domain <> ''", followerID).
		OrderExpr("f.id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("remote following: %w", err)
	}
	return out, nil
}

// ReleaseAllDeliveries returns every leased job to the queue, due now.
// On SQLite one process owns the queue, so at start-up any lease left is
// from a process that died (kill -9, power loss): without this its jobs
// would wait for their leases to run out. Never call it where several
// processes share the queue (PostgreSQL).
func (s *Store) ReleaseAllDeliveries(ctx context.Context, now time.Time) (int, error) {
	return s.execCount(ctx, "release orphaned deliveries", `UPDATE deliveries SET lease_until = NULL, lease_owner = '', next_attempt_at = ?
		WHERE lease_until IS NOT NULL`, now.UTC())
}

// DomainSoftware returns the server software recorded for a host (by
// SetDomainSoftware), or "" when none is known.
func (s *Store) DomainSoftware(ctx context.Context, domain string) (string, error) {
	sw, err := s.DomainsSoftware(ctx, []string{domain})
	return sw[domain], err
}

// DomainsSoftware returns the server software recorded for each of
// domains that has one (by SetDomainSoftware), keyed by domain.
func (s *Store) DomainsSoftware(ctx context.Context, domains []string) (map[string]string, error) {
	out := make(map[string]string, len(domains))
	if len(domains) == 0 {
		return out, nil
	}
	var rows []struct {
		Domain   string `bun:"domain"`
		Software string `bun:"software"`
	}
	err := s.r.NewRaw(sqlDomainsSoftware, bun.List(domains)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("software of %d hosts: %w", len(domains), err)
	}
	for _, r := range rows {
		out[r.Domain] = r.Software
	}
	return out, nil
}

// sqlDomainsSoftware reads hosts' software from accounts_domain_software
// alone: a fan-out's first delivery to a thousand hosts looks them all up
// at once (the delivery metrics' labels), and through accounts_domain
// that read every account row of every host, ten thousand rows for ten
// thousand followers, on a page cache the delivery worker's writes keep
// emptying.
const sqlDomainsSoftware = "SELECT DISTINCT domain, software FROM accounts WHERE domain IN (?) AND software <> ''"

// ThreadsByID loads threads by id, keyed by id; ids not found are absent.
func (s *Store) ThreadsByID(ctx context.Context, ids []ID) (map[ID]*Thread, error) {
	return rowsIn(ctx, s.r, "threads by id", "thread.id", ids, threadKey, nil)
}

// FollowedRemotely tells which of the targets of one kind have at least
// one accepted remote follower: a pass over many events asks once, and
// reads [Store.RemoteFollowerTargets] only for those.
func (s *Store) FollowedRemotely(ctx context.Context, kind string, ids []ID) (map[ID]bool, error) {
	out := make(map[ID]bool)
	if len(ids) == 0 {
		return out, nil
	}
	h, err := s.hotReads(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := h.remoteFollowed.QueryContext(ctx, kind, idListArg(s.Dialect() == dialect.PG, ids), true)
	if err != nil {
		return nil, fmt.Errorf("remotely followed %ss: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id ID
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("remotely followed %ss: %w", kind, err)
		}
		out[id] = true
	}
	return out, wrapIf(rows.Err(), "remotely followed "+kind+"s")
}

// sqlRemoteFollowed is the targets among a list (see listIn) of one kind
// with an accepted remote follower: the outbox's read
// (FollowedRemotely) and the posts' transaction's (unannounced).
func sqlRemoteFollowed(pg bool) string {
	return `SELECT DISTINCT f.target_id FROM follows AS f JOIN accounts AS a ON a.id = f.follower_id
		WHERE f.target_kind = ? AND f.target_id ` + listIn(pg) + ` AND f.accepted = ? AND a.domain <> ''`
}

// PostsByIDWithoutText is [Store.PostsByID] without the posts' Markdown
// and HTML (left empty): what the outbox needs of a remote post, whose
// text it never sends, at a fraction of the bytes read.
func (s *Store) PostsByIDWithoutText(ctx context.Context, ids []ID) (map[ID]*Post, error) {
	return rowsIn(ctx, s.r, "posts by id", "post.id", ids, postKey, func(q *bun.SelectQuery) *bun.SelectQuery {
		return withAuthor(q.ExcludeColumn("source", "html"))
	})
}
