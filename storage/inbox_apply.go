package storage

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// What the inbox needs beyond the queue itself ([Store.ClaimInbox]): storing
// an accepted activity once, and the few writes a remote actor's
// activities make that no web form does.

// NewInboxItem is a verified inbox POST, or a job of the node's own, to
// store.
type NewInboxItem struct {
	Kind       string // InboxActivity when empty
	ActorID    string
	KeyID      string
	ActivityID string // '' when the activity has none: never deduplicated
	Body       []byte
}

// AcceptInbox stores a verified inbox POST, due at once, unless an item
// with the same activity id is already stored: remote servers retry, and
// one activity may be posted to several members' inboxes. It reports
// whether the item was stored.
func (s *Store) AcceptInbox(ctx context.Context, actorID, keyID, activityID string, body []byte) (bool, error) {
	stored, err := s.AcceptInboxBatch(ctx, []NewInboxItem{{ActorID: actorID, KeyID: keyID, ActivityID: activityID, Body: body}})
	if err != nil {
		return false, err
	}
	return stored[0], nil
}

// AcceptInboxBatch is AcceptInbox for several POSTs in one transaction:
// on SQLite a commit costs far more than a row, so a busy inbox groups
// the POSTs that arrive together. stored[i] reports whether items[i] was
// stored (false for a repeat of an earlier item or of a stored one).
func (s *Store) AcceptInboxBatch(ctx context.Context, items []NewInboxItem) (stored []bool, err error) {
	ids, err := s.AcceptInboxItems(ctx, items)
	if err != nil {
		return nil, err
	}
	stored = make([]bool, len(ids))
	for i, id := range ids {
		stored[i] = id != 0
	}
	return stored, nil
}

// AcceptInboxItems is AcceptInboxBatch returning the id each item was
// stored under, 0 for an item not stored.
func (s *Store) AcceptInboxItems(ctx context.Context, items []NewInboxItem) (ids []ID, err error) {
	hw, err := s.hotWrites(ctx)
	if err != nil {
		return nil, fmt.Errorf("accept %d inbox items: %w", len(items), err)
	}
	if s.Dialect() != dialect.PG {
		pinPageCache() // federation traffic: the read connections' caches churn from here on
	}
	now := time.Now().UTC()
	ids = make([]ID, len(items))
	err = s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		seen := make(map[string]bool, len(items))
		for i, it := range items {
			if it.ActivityID != "" && seen[it.ActivityID] {
				continue
			}
			seen[it.ActivityID] = true
			id, err := s.insertInboxItem(ctx, tx, hw, it, now)
			if err != nil {
				return err
			}
			ids[i] = id
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("accept %d inbox items: %w", len(items), err)
	}
	return ids, nil
}

// insertInboxItem stores one item in tx, due at now, and returns its id;
// 0 when an item with the same activity id is stored already: a retry,
// or the same activity to another inbox.
func (s *Store) insertInboxItem(ctx context.Context, tx bun.Tx, hw *hotWrites, it NewInboxItem, now time.Time) (ID, error) {
	// A prepared insert: the body is bound, not parsed as SQL text
	// ([hotWrites]). A repeat of a stored activity is left out by the
	// insert itself (ON CONFLICT DO NOTHING on the unique activity id),
	// which reads the same index entry a look-up beforehand would.
	row := InboxItem{ID: s.NewID(), ReceivedAt: now, Kind: kindOr(it.Kind), ActorID: it.ActorID, KeyID: it.KeyID,
		ActivityID: it.ActivityID, NextAttemptAt: now}
	args, err := s.rowArgs(hw.inbox, &row)
	if err != nil {
		return 0, err
	}
	res, err := hw.stmt(ctx, tx, hw.insertInbox).ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return 0, err
	}
	// The body apart, written once: claims and finishes rewrite the
	// short queue row alone.
	body, err := inboxBodyText(it.Body)
	if err != nil {
		return 0, err
	}
	if _, err := hw.stmt(ctx, tx, sqlInsertInboxBody).ExecContext(ctx, row.ID, body); err != nil {
		return 0, err
	}
	return row.ID, nil
}

// CreateInboxPosts is [Store.CreatePosts] for posts that inbox activities
// bring. activities, when not nil, has one entry per post: the id of the
// activity that brings nps[i], applied as it arrived instead of through
// the queue, or empty for a post the queue's worker stores. One commit
// then does what accepting, claiming, storing and finishing did in four.
//
// The activity itself is not stored: its post's APID (unique) keeps a
// replay from storing the post twice (PostResult.Created is false), and
// forwarding reads an author's Update and Delete from the queue, never a
// Create ([Store.RecentInboxItems]). Leaving its row and body out saves
// about a third of the pages the commit writes a post.
//
// An activity whose id the queue has (accepted, or applied or refused
// there: a reply to a thread locked then, which left no post) is a
// repeat: its post is not created (PostResult.Err is
// [ErrRepeatActivity]), as the queue drops a repeat when it is accepted.
// So is a second activity with the same id in nps. That takes a read of
// the queue's unique index, no write. An activity whose post is refused
// (its PostResult.Err) leaves nothing: the caller queues it.
func (s *Store) CreateInboxPosts(ctx context.Context, nps []NewPost, activities []string) ([]PostResult, error) {
	s.pinForFederation()
	seen := func(ctx context.Context, tx bun.Tx, hw *hotWrites, res []PostResult) error {
		ids := make([]string, 0, len(activities))
		first := make(map[string]int, len(activities))
		for i, act := range activities {
			if act == "" || res[i].Err != nil {
				continue
			}
			if _, ok := first[act]; ok {
				res[i].Err = fmt.Errorf("create post from %s: %w", act, ErrRepeatActivity)
				continue
			}
			first[act] = i
			ids = append(ids, act)
		}
		queued, err := queuedActivities(ctx, tx, hw, ids)
		if err != nil {
			return err
		}
		for _, id := range queued {
			i := first[id]
			res[i].Err = fmt.Errorf("create post from %s: %w", id, ErrRepeatActivity)
		}
		return nil
	}
	return s.createPosts(ctx, nps, seen)
}

// inboxBodyText is an activity's body as its column holds it. PostgreSQL
// refuses a NUL in text, so such a body is refused on both databases
// alike (JSON escapes a NUL; a raw one is garbage).
func inboxBodyText(body []byte) (string, error) {
	if bytes.IndexByte(body, 0) >= 0 {
		return "", fmt.Errorf("inbox_bodies.body: %w", invalid("body", "text contains NUL"))
	}
	return string(body), nil
}

// FollowByAPID finds a follow by the id of its Follow activity, for an
// Undo, Accept or Reject that names the Follow only by id.
func (s *Store) FollowByAPID(ctx context.Context, apID string) (*Follow, error) {
	f := new(Follow)
	if err := s.r.NewSelect().Model(f).Where("ap_id = ?", apID).Limit(1).Scan(ctx); err != nil {
		return nil, notFound(err, "follow "+apID)
	}
	return f, nil
}

// RemoveFollowsBy deletes every follow an account made, for a remote
// actor that was deleted; it returns how many there were.
func (s *Store) RemoveFollowsBy(ctx context.Context, followerID ID) (int, error) {
	res, err := s.w.NewDelete().Model((*Follow)(nil)).Where("follower_id = ?", followerID).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("remove follows of %s: %w", followerID, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// deleteByAuthorPage is how many posts DeletePostsByAuthor deletes per
// read: each is its own transaction (DeletePost), so a remote actor with
// many posts never holds the write lock for long.
const deleteByAuthorPage = 100

// DeletePostsByAuthor soft-deletes every live post of an account, as
// DeletePost does one by one (a thread's first post takes its thread
// along). It returns how many it deleted.
func (s *Store) DeletePostsByAuthor(ctx context.Context, authorID ID) (int, error) {
	n := 0
	for {
		var ids []ID
		err := s.w.NewSelect().Model((*Post)(nil)).Column("id").
			Where("author_id = ? AND deleted_at IS NULL", authorID).
			OrderExpr("id ASC").Limit(deleteByAuthorPage).Scan(ctx, &ids)
		if err != nil {
			return n, fmt.Errorf("posts of %s: %w", authorID, err)
		}
		for _, id := range ids {
			if err := s.DeletePost(ctx, id); err != nil {
				return n, err
			}
			n++
		}
		if len(ids) < deleteByAuthorPage {
			return n, nil
		}
	}
}
