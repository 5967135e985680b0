package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// Thread is a conversation in a forum: an ordered list of posts, a
// followable Group actor and an OrderedCollection in ActivityPub.
type Thread struct {
	bun.BaseModel `bun:"table:threads,alias:thread"`

	ID          ID         `bun:"id,pk"`
	ForumID     ID         `bun:"forum_id"`
	AuthorID    ID         `bun:"author_id"`
	Title       string     `bun:"title"`
	FirstPostID *ID        `bun:"first_post_id"`
	PostCount   int64      `bun:"post_count"`
	LastPostID  ID         `bun:"last_post_id"`
	LastPostAt  time.Time  `bun:"last_post_at"`
	Pinned      bool       `bun:"pinned"`
	Locked      bool       `bun:"locked"`
	CreatedAt   time.Time  `bun:"created_at"`
	DeletedAt   *time.Time `bun:"deleted_at"`
	// APID is set on mirrors of remote threads (see [Store.MirrorThread]); local
	// threads have none, their id is built from the base URL.
	APID          *string `bun:"ap_id"`
	RemoteActorID *ID     `bun:"remote_actor_id"`
	// Version counts the changes a thread page shows (posts, edits,
	// deletions, likes, pin and lock); the guest page cache keys by it.
	Version int64 `bun:"version"`

	Author *Account `bun:"rel:belongs-to,join:author_id=id"`
}

// IsMirror reports whether the thread mirrors one on another server.
func (t *Thread) IsMirror() bool { return t.APID != nil }

// Handle is the thread's fediverse name: "t." and its id. Member handles
// and forum slugs cannot contain '.', so it never collides with them.
func (t *Thread) Handle() string { return ThreadHandle(t.ID) }

// ThreadHandle is the fediverse name of thread id.
func ThreadHandle(id ID) string { return "t." + id.String() }

// ParseThreadHandle reads "t.<id>".
func ParseThreadHandle(name string) (ID, bool) {
	rest, ok := strings.CutPrefix(name, "t.")
	if !ok {
		return 0, false
	}
	id, err := ParseID(rest)
	return id, err == nil
}

// Limits on what members type; remote input is held to the same.
const (
	MaxTitleLen = 200   // characters
	MaxBodyLen  = 65536 // characters of Markdown source
)

// ValidateTitle checks a thread title.
func ValidateTitle(title string) (string, error) {
	title = strings.TrimSpace(title)
	switch {
	case title == "":
		return "", invalid("title", "the title is empty")
	case utf8.RuneCountInString(title) > MaxTitleLen:
		return "", invalid("title", "the title is %s characters long; the limit is %s",
			grouped(utf8.RuneCountInString(title)), grouped(MaxTitleLen))
	case !utf8.ValidString(title):
		return "", invalid("title", "the title is not valid text")
	}
	return title, nil
}

// NewThread is a thread with its opening post.
type NewThread struct {
	ForumID  ID
	AuthorID ID
	Title    string
	Source   string // Markdown as typed
	HTML     string // rendered and sanitized by the caller
	// Summary, Sensitive and Mentions are the opening post's, as in
	// NewPost.
	Summary   string
	Sensitive bool
	Mentions  []ID
	// Media and FormToken are as in NewPost, for the opening post.
	Media     []AttachMedia
	FormToken string
}

// CreateThread writes a thread, its first post, the counters and an
// outbox event in one transaction.
func (s *Store) CreateThread(ctx context.Context, nt NewThread) (*Thread, *Post, error) {
	title, err := ValidateTitle(nt.Title)
	if err != nil {
		return nil, nil, err
	}
	if err := validateBody(nt.Source, nt.HTML); err != nil {
		return nil, nil, err
	}
	if err := validateAttachments(nt.Media); err != nil {
		return nil, nil, err
	}
	hw, err := s.hotWrites(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("create thread: %w", err)
	}
	now := time.Now().UTC()
	t := &Thread{
		ID:         s.NewID(),
		ForumID:    nt.ForumID,
		AuthorID:   nt.AuthorID,
		Title:      title,
		LastPostAt: now,
		CreatedAt:  now,
	}
	var p *Post
	var again *Thread // the thread this form made before
	err = s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		again, p = nil, nil
		if nt.FormToken != "" {
			prior, err := claimFormToken(ctx, tx, nt.FormToken, nt.AuthorID, formBodyHash(title, nt.Source), now)
			if err != nil {
				return err
			}
			if prior != 0 {
				p, again = new(Post), new(Thread)
				if err := tx.NewSelect().Model(p).Where("id = ?", prior).Scan(ctx); err != nil {
					return fmt.Errorf("post of a form sent again: %w", err)
				}
				if err := tx.NewSelect().Model(again).Where("id = ?", p.ThreadID).Scan(ctx); err != nil {
					return fmt.Errorf("thread of a form sent again: %w", err)
				}
				return nil
			}
		}
		if _, err := tx.NewInsert().Model(t).Returning("NULL").Exec(ctx); err != nil {
			return fmt.Errorf("insert thread: %w", err)
		}
		var err error
		np := NewPost{ThreadID: t.ID, AuthorID: nt.AuthorID, Source: nt.Source, HTML: nt.HTML, Media: nt.Media, FormToken: nt.FormToken,
			Summary: nt.Summary, Sensitive: nt.Sensitive, Mentions: nt.Mentions}
		p, err = s.insertPost(ctx, tx, hw, t, np, now)
		if err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(t).Set("first_post_id = ?", p.ID).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("set first post: %w", err)
		}
		if _, err := tx.NewUpdate().Model((*Forum)(nil)).Set("thread_count = thread_count + 1").Set("version = version + 1").
			Where("id = ?", t.ForumID).Exec(ctx); err != nil {
			return fmt.Errorf("count thread: %w", err)
		}
		return addEvent(ctx, tx, &OutboxEvent{ID: s.NewID(), Kind: EventThreadCreate, AccountID: p.AuthorID,
			PostID: p.ID, ThreadID: t.ID, ForumID: t.ForumID})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("create thread: %w", err)
	}
	if again != nil {
		return again, p, nil
	}
	t.FirstPostID = &p.ID
	t.PostCount = 1
	t.LastPostID = p.ID
	return t, p, nil
}

// ThreadByID finds a thread, deleted or not, with its author.
func (s *Store) ThreadByID(ctx context.Context, id ID) (*Thread, error) {
	h, err := s.hotReads(ctx)
	if err != nil {
		return nil, err
	}
	t, err := h.queryThread(ctx, h.threadByID, true, nil, id)
	if err != nil {
		return nil, notFound(err, "thread "+id.String())
	}
	return t, nil
}

// listedAuthor keeps threads of suspended or silenced authors, and of
// authors on blocked domains (or their subdomains), out of forum lists.
// The threads stay readable at their own address.
const listedAuthor = `NOT author.suspended AND NOT author.silenced AND NOT EXISTS (SELECT 1 FROM domain_blocks AS b
	WHERE author.domain = b.host OR author.domain LIKE '%.' || b.host)`

// ListPinnedThreads returns a forum's pinned threads, latest activity first.
func (s *Store) ListPinnedThreads(ctx context.Context, forumID ID) ([]Thread, error) {
	var out []Thread
	err := s.r.NewSelect().Model(&out).Relation("Author").
		Where("thread.forum_id = ? AND thread.pinned = ? AND thread.deleted_at IS NULL", forumID, true).
		Where(listedAuthor).
		OrderExpr("thread.last_post_id DESC").Limit(50).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list pinned threads: %w", err)
	}
	return out, nil
}

// ListThreads pages a forum's unpinned threads by latest activity, newest
// first. before is the LastPostID of the previous page's last thread (0
// for the first page): a keyset, so page 1,000 costs what page 1 does.
func (s *Store) ListThreads(ctx context.Context, forumID ID, before ID, limit int) ([]Thread, error) {
	var out []Thread
	q := s.r.NewSelect().Model(&out).Relation("Author").
		Where("thread.forum_id = ? AND thread.pinned = ? AND thread.deleted_at IS NULL", forumID, false).
		Where(listedAuthor)
	if err := scanNewest(ctx, q, "thread.last_post_id", before, limit); err != nil {
		return nil, fmt.Errorf("list threads: %w", err)
	}
	return out, nil
}

// ListThreadsByID pages every live thread of a forum oldest first by id:
// the order of the forum's ActivityPub collection, which must not shift
// when a thread gets a reply.
func (s *Store) ListThreadsByID(ctx context.Context, forumID ID, after ID, limit int) ([]Thread, error) {
	return s.threadsByID(ctx, forumID, "thread.id > ?", after, "thread.id ASC", limit)
}

// threadsByID pages the live threads of a forum by id, beyond cursor as
// the condition cmp says, in order.
func (s *Store) threadsByID(ctx context.Context, forumID ID, cmp string, cursor ID, order string, limit int) ([]Thread, error) {
	var out []Thread
	err := s.r.NewSelect().Model(&out).Relation("Author").
		Where("thread.forum_id = ? AND thread.deleted_at IS NULL", forumID).Where(cmp, cursor).
		OrderExpr(order).Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list threads: %w", err)
	}
	return out, nil
}

// SetThreadPinned pins or unpins a thread.
func (s *Store) SetThreadPinned(ctx context.Context, id ID, pinned bool) error {
	return s.setThreadFlag(ctx, id, "pinned", pinned)
}

// SetThreadLocked locks or unlocks a thread; a locked thread takes no
// replies, local or remote.
func (s *Store) SetThreadLocked(ctx context.Context, id ID, locked bool) error {
	return s.setThreadFlag(ctx, id, "locked", locked)
}

func (s *Store) setThreadFlag(ctx context.Context, id ID, column string, v bool) error {
	return s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return setThreadFlagTx(ctx, tx, id, column, v)
	})
}

// setThreadFlagTx sets pinned or locked and bumps the versions of the
// thread's pages and its forum's list.
func setThreadFlagTx(ctx context.Context, tx bun.Tx, id ID, column string, v bool) error {
	var forumID ID
	err := tx.NewRaw("UPDATE threads SET ? = ?, version = version + 1 WHERE id = ? RETURNING forum_id",
		bun.Ident(column), v, id).Scan(ctx, &forumID)
	if err != nil {
		return notFound(err, "set thread "+column)
	}
	return bumpForum(ctx, tx, forumID)
}

// DeleteThread hides a thread and its posts from every list, keeping the
// rows so links answer "gone" rather than "never existed".
func (s *Store) DeleteThread(ctx context.Context, id ID) error {
	return s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return s.deleteThread(ctx, tx, id)
	})
}

func (s *Store) deleteThread(ctx context.Context, tx bun.Tx, id ID) error {
	t, err := selectOne[Thread](ctx, tx, "thread "+id.String(), "id = ?", id)
	if err != nil {
		return err
	}
	if t.DeletedAt != nil {
		return nil
	}
	now := time.Now().UTC()
	if _, err := tx.NewUpdate().Model(t).Set("deleted_at = ?", now).Set("version = version + 1").WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("delete thread: %w", err)
	}
	// The thread's posts stay behind it, but their images go.
	if err := trashPostMedia(ctx, tx, "thread_id = ?", t.ID); err != nil {
		return err
	}
	if _, err := tx.NewRaw("UPDATE posts SET media_count = 0 WHERE thread_id = ? AND media_count > 0", t.ID).Exec(ctx); err != nil {
		return fmt.Errorf("uncount attachments: %w", err)
	}
	if _, err := tx.NewUpdate().Model((*Forum)(nil)).
		Set("thread_count = thread_count - 1").Set("post_count = post_count - ?", t.PostCount).Set("version = version + 1").
		Where("id = ?", t.ForumID).Exec(ctx); err != nil {
		return fmt.Errorf("uncount thread: %w", err)
	}
	if err := forgetNotifications(ctx, tx, "n.post_id IN (SELECT p.id FROM posts AS p WHERE p.thread_id = ?)", t.ID); err != nil {
		return err
	}
	if err := s.unindexThread(ctx, tx, t.ID); err != nil {
		return err
	}
	return addEvent(ctx, tx, &OutboxEvent{ID: s.NewID(), Kind: EventThreadDelete, AccountID: t.AuthorID,
		PostID: derefID(t.FirstPostID), ThreadID: t.ID, ForumID: t.ForumID})
}

// ThreadVersion reads a thread's version: one primary-key lookup through
// a prepared statement, what a guest's cached page and a cached
// collection page are checked against.
func (s *Store) ThreadVersion(ctx context.Context, id ID) (int64, error) {
	h, err := s.hotReads(ctx)
	if err != nil {
		return 0, err
	}
	var v int64
	if err := h.threadVersion.QueryRowContext(ctx, id).Scan(&v); err != nil {
		return 0, notFound(err, "thread "+id.String())
	}
	return v, nil
}

// bumpThread records a change to what thread id's pages show.
func bumpThread(ctx context.Context, tx bun.Tx, id ID) error {
	if _, err := tx.NewRaw("UPDATE threads SET version = version + 1 WHERE id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("bump thread version: %w", err)
	}
	return nil
}

// bumpForum records a change to what forum id's thread list shows.
func bumpForum(ctx context.Context, tx bun.Tx, id ID) error {
	if _, err := tx.NewRaw("UPDATE forums SET version = version + 1 WHERE id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("bump forum version: %w", err)
	}
	return nil
}

func derefID(p *ID) ID {
	if p == nil {
		return 0
	}
	return *p
}

// CountThreads counts live threads on the node.
func (s *Store) CountThreads(ctx context.Context) (int64, error) {
	n, err := s.r.NewSelect().Model((*Thread)(nil)).Where("deleted_at IS NULL").Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count threads: %w", err)
	}
	return n, nil
}

// ListThreadsByIDBefore is ListThreadsByID walking backwards: the live
// threads of a forum with ids below before, the nearest limit of them,
// returned oldest first.
func (s *Store) ListThreadsByIDBefore(ctx context.Context, forumID ID, before ID, limit int) ([]Thread, error) {
	out, err := s.threadsByID(ctx, forumID, "thread.id < ?", before, "thread.id DESC", limit)
	slices.Reverse(out)
	return out, err
}
