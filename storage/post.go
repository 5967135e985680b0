package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// PostsPerPage is the thread page size of the web view; /p/ID uses it to
// find a post's page.
const PostsPerPage = 20

// Post is one message in a thread, by a member or a remote actor.
type Post struct {
	bun.BaseModel `bun:"table:posts,alias:post"`

	ID        ID         `bun:"id,pk"`
	ThreadID  ID         `bun:"thread_id"`
	AuthorID  ID         `bun:"author_id"`
	Position  int64      `bun:"position"`
	Source    string     `bun:"source"`
	HTML      string     `bun:"html"`
	ReplyToID *ID        `bun:"reply_to_id"`
	QuoteID   *ID        `bun:"quote_id"`
	LikeCount int64      `bun:"like_count"`
	CreatedAt time.Time  `bun:"created_at"`
	EditedAt  *time.Time `bun:"edited_at"`
	DeletedAt *time.Time `bun:"deleted_at"`
	APID      *string    `bun:"ap_id"`
	URL       string     `bun:"url"`
	// MediaCount is how many attachments the post has (see Media).
	MediaCount int `bun:"media_count"`

	Author *Account `bun:"rel:belongs-to,join:author_id=id"`
}

// Page is the web page of the thread this post is on.
func (p *Post) Page() int64 { return (p.Position-1)/PostsPerPage + 1 }

// IsDeleted reports whether the post was deleted.
func (p *Post) IsDeleted() bool { return p.DeletedAt != nil }

// NewPost is a reply. Remote posts carry their APID, URL and time.
type NewPost struct {
	ThreadID  ID
	AuthorID  ID
	Source    string
	HTML      string
	ReplyToID *ID
	QuoteID   *ID
	APID      *string
	URL       string
	CreatedAt time.Time // zero means now
	// Media are the member's uploads the post shows, in order, with
	// their alt text; RemoteMedia the attachments a remote Note carries.
	Media       []AttachMedia
	RemoteMedia []RemoteAttachment
	// FormToken is the one-time token of the form that sent a member's
	// post: the same form sent again returns the post it made (see
	// NewFormToken).
	FormToken string
}

func validateBody(source, html string) error {
	if strings.TrimSpace(source) == "" && strings.TrimSpace(html) == "" {
		return fmt.Errorf("%w: the post is empty", ErrInvalid)
	}
	if len(source) > MaxBodyLen || len(html) > 4*MaxBodyLen {
		return fmt.Errorf("%w: the post is longer than %d characters", ErrInvalid, MaxBodyLen)
	}
	if !utf8.ValidString(source) || !utf8.ValidString(html) {
		return fmt.Errorf("%w: the post is not valid text", ErrInvalid)
	}
	return nil
}

// CreatePost adds a reply to a thread: it takes the next position, bumps
// the thread, forum and author counters and records an outbox event, all
// in one transaction. A locked or deleted thread refuses with ErrLocked or
// ErrNotFound. A remote post whose APID is already stored returns the
// stored post (delivery is at-least-once, so duplicates are normal).
func (s *Store) CreatePost(ctx context.Context, np NewPost) (*Post, error) {
	res, err := s.CreatePosts(ctx, []NewPost{np})
	if err != nil {
		return nil, err
	}
	if res[0].Err != nil {
		return nil, res[0].Err
	}
	return res[0].Post, nil
}

// insertPost appends a post to thread t inside tx. The position comes
// from the thread row's counter, updated first: on PostgreSQL that row
// lock serialises concurrent replies to one thread, and SQLite has one
// writer anyway.
func (s *Store) insertPost(ctx context.Context, tx bun.Tx, t *Thread, np NewPost, now time.Time) (*Post, error) {
	created := np.CreatedAt
	if created.IsZero() || created.After(now) {
		created = now
	}
	p := &Post{
		ID:        s.NewID(),
		ThreadID:  t.ID,
		AuthorID:  np.AuthorID,
		Source:    np.Source,
		HTML:      np.HTML,
		ReplyToID: np.ReplyToID,
		QuoteID:   np.QuoteID,
		CreatedAt: created.UTC(),
		APID:      np.APID,
		URL:       np.URL,
	}
	err := tx.NewRaw("UPDATE threads SET post_count = post_count + 1, last_post_id = ?, last_post_at = ?, version = version + 1 WHERE id = ? RETURNING post_count",
		p.ID, now, t.ID).Scan(ctx, &p.Position)
	if err != nil {
		return nil, fmt.Errorf("bump thread: %w", err)
	}
	if _, err := tx.NewInsert().Model(p).Returning("NULL").Exec(ctx); err != nil {
		return nil, fmt.Errorf("insert post: %w", err)
	}
	if _, err := tx.NewUpdate().Model((*Forum)(nil)).
		Set("post_count = post_count + 1").Set("last_post_id = ?", p.ID).Set("last_post_at = ?", now).Set("version = version + 1").
		Where("id = ?", t.ForumID).Exec(ctx); err != nil {
		return nil, fmt.Errorf("count forum post: %w", err)
	}
	if _, err := tx.NewUpdate().Model((*Account)(nil)).Set("post_count = post_count + 1").
		Where("id = ?", p.AuthorID).Exec(ctx); err != nil {
		return nil, fmt.Errorf("count author post: %w", err)
	}
	title := ""
	if p.Position == 1 {
		title = t.Title
	}
	if err := s.indexPost(ctx, tx, p.ID, title, p.HTML); err != nil {
		return nil, err
	}
	return p, nil
}

// PostByID finds a post with its author.
func (s *Store) PostByID(ctx context.Context, id ID) (*Post, error) {
	h, err := s.hotReads(ctx)
	if err != nil {
		return nil, err
	}
	posts, err := h.queryPosts(ctx, h.postByID, id)
	if err == nil && len(posts) == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return nil, notFound(err, "post "+id.String())
	}
	return &posts[0], nil
}

// PostByAPID finds a remote post by its ActivityPub id.
func (s *Store) PostByAPID(ctx context.Context, apID string) (*Post, error) {
	h, err := s.hotReads(ctx)
	if err != nil {
		return nil, err
	}
	posts, err := h.queryPosts(ctx, h.postByAPID, apID)
	if err == nil && len(posts) == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return nil, notFound(err, "post "+apID)
	}
	return &posts[0], nil
}

// PostsInRange returns a thread's posts with positions from..to
// (inclusive), oldest first, with their authors. Deleted posts are
// included so positions and pages stay stable; callers show a
// placeholder.
func (s *Store) PostsInRange(ctx context.Context, threadID ID, from, to int64) ([]Post, error) {
	h, err := s.hotReads(ctx)
	if err != nil {
		return nil, err
	}
	out, err := h.queryPosts(ctx, h.postsInRange, threadID, from, to)
	if err != nil {
		return nil, fmt.Errorf("posts of thread %s: %w", threadID, err)
	}
	return out, nil
}

// ThreadPage returns page n (1-based) of a thread as the web view shows it.
func (s *Store) ThreadPage(ctx context.Context, threadID ID, page int64) ([]Post, error) {
	if page < 1 {
		page = 1
	}
	from := (page-1)*PostsPerPage + 1
	return s.PostsInRange(ctx, threadID, from, from+PostsPerPage-1)
}

// RepliesTo pages the posts that reply to or quote a post, oldest first.
func (s *Store) RepliesTo(ctx context.Context, postID ID, after ID, limit int) ([]Post, error) {
	var out []Post
	err := s.r.NewSelect().Model(&out).Relation("Author").
		Where("(post.reply_to_id = ? OR post.quote_id = ?) AND post.id > ? AND post.deleted_at IS NULL", postID, postID, after).
		OrderExpr("post.id ASC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("replies to %s: %w", postID, err)
	}
	return out, nil
}

// RecentPostsByAuthor pages an author's live posts, newest first, with
// their threads' titles.
func (s *Store) RecentPostsByAuthor(ctx context.Context, authorID ID, before ID, limit int) ([]PostInThread, error) {
	var out []PostInThread
	q := s.r.NewSelect().Model(&out).
		ColumnExpr("post.*").ColumnExpr("t.title AS thread_title").
		Join("JOIN threads AS t ON t.id = post.thread_id").
		Where("post.author_id = ? AND post.deleted_at IS NULL AND t.deleted_at IS NULL", authorID)
	if before > 0 {
		q = q.Where("post.id < ?", before)
	}
	if err := q.OrderExpr("post.id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("posts by %s: %w", authorID, err)
	}
	return out, nil
}

// PostInThread is a post with its thread's title, for lists outside the
// thread (profiles, search).
type PostInThread struct {
	Post        `bun:",extend"`
	ThreadTitle string `bun:"thread_title"`
}

// EditPost replaces a post's text and marks it edited.
func (s *Store) EditPost(ctx context.Context, id ID, source, html string) (*Post, error) {
	return s.editPost(ctx, id, source, html, nil)
}

// EditPostAndMedia is EditPost for a member's post whose attachments
// change too: afterwards the post shows exactly media, in order, with
// their alt text. Attachments left out are removed with their files;
// new ones are the author's uploads.
func (s *Store) EditPostAndMedia(ctx context.Context, id ID, source, html string, media []AttachMedia) (*Post, error) {
	if media == nil {
		media = []AttachMedia{}
	}
	return s.editPost(ctx, id, source, html, media)
}

// editPost edits a post's text and, unless media is nil, its attachments.
func (s *Store) editPost(ctx context.Context, id ID, source, html string, media []AttachMedia) (*Post, error) {
	if err := validateBody(source, html); err != nil {
		return nil, err
	}
	if err := validateAttachments(media); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	var p Post
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(&p).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "post "+id.String())
		}
		if p.DeletedAt != nil {
			return fmt.Errorf("post %s: %w", id, ErrNotFound)
		}
		p.Source, p.HTML, p.EditedAt = source, html, &now
		if _, err := tx.NewUpdate().Model(&p).Column("source", "html", "edited_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("update post: %w", err)
		}
		if media != nil {
			if err := replaceAttachments(ctx, tx, &p, media); err != nil {
				return err
			}
		}
		if err := bumpThread(ctx, tx, p.ThreadID); err != nil {
			return err
		}
		if err := s.reindexPostBody(ctx, tx, p.ID, p.HTML); err != nil {
			return err
		}
		return addEvent(ctx, tx, &OutboxEvent{ID: s.NewID(), Kind: EventPostUpdate, AccountID: p.AuthorID,
			PostID: p.ID, ThreadID: p.ThreadID})
	})
	if err != nil {
		return nil, fmt.Errorf("edit post: %w", err)
	}
	return &p, nil
}

// DeletePost soft-deletes a post: its text is cleared, its place in the
// thread stays (pages do not shift) and it answers as a Tombstone.
// Deleting a thread's first post deletes the thread. A member's post
// records post.delete (federation sends Delete); a remote actor's post
// records remote_post.delete, since only its own server can delete it
// elsewhere. Moderators use RemovePost, which also writes the audit log.
func (s *Store) DeletePost(ctx context.Context, id ID) error {
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := s.deletePost(ctx, tx, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete post: %w", err)
	}
	return nil
}

// deletePost is DeletePost inside tx; it returns the post as it was.
func (s *Store) deletePost(ctx context.Context, tx bun.Tx, id ID) (*Post, error) {
	p := new(Post)
	if err := tx.NewSelect().Model(p).Relation("Author").Where("post.id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "post "+id.String())
	}
	if p.DeletedAt != nil {
		return p, nil
	}
	now := time.Now().UTC()
	if _, err := tx.NewUpdate().Model((*Post)(nil)).Set("deleted_at = ?", now).Set("source = ''").Set("html = ''").
		Set("media_count = 0").Where("id = ?", p.ID).Exec(ctx); err != nil {
		return nil, fmt.Errorf("delete post: %w", err)
	}
	if p.MediaCount > 0 {
		if err := trashMedia(ctx, tx, "post_id = ?", p.ID); err != nil {
			return nil, err
		}
	}
	if _, err := tx.NewUpdate().Model((*Account)(nil)).Set("post_count = post_count - 1").
		Where("id = ? AND post_count > 0", p.AuthorID).Exec(ctx); err != nil {
		return nil, fmt.Errorf("uncount author post: %w", err)
	}
	if err := bumpThread(ctx, tx, p.ThreadID); err != nil {
		return nil, err
	}
	if err := s.unindexPost(ctx, tx, p.ID); err != nil {
		return nil, err
	}
	kind := EventPostDelete
	if p.Author != nil && !p.Author.IsLocal() {
		kind = EventRemotePostDelete
	}
	if err := addEvent(ctx, tx, &OutboxEvent{ID: s.NewID(), Kind: kind, AccountID: p.AuthorID,
		PostID: p.ID, ThreadID: p.ThreadID}); err != nil {
		return nil, err
	}
	if p.Position == 1 {
		return p, s.deleteThread(ctx, tx, p.ThreadID)
	}
	return p, nil
}

// CountLocalPosts counts live posts written by members of this node.
func (s *Store) CountLocalPosts(ctx context.Context) (int64, error) {
	n, err := s.r.NewSelect().Model((*Post)(nil)).
		Join("JOIN accounts AS a ON a.id = post.author_id").
		Where("a.domain = '' AND post.deleted_at IS NULL").Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count posts: %w", err)
	}
	return n, nil
}

// RemotePostIDs maps those of the given posts that came from other
// servers to their ActivityPub ids; local posts are left out. Federation
// uses it to point inReplyTo and quote at the right place.
func (s *Store) RemotePostIDs(ctx context.Context, ids []ID) (map[ID]string, error) {
	out := make(map[ID]string)
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID   ID     `bun:"id"`
		APID string `bun:"ap_id"`
	}
	err := s.r.NewSelect().Model((*Post)(nil)).Column("id", "ap_id").
		Where("id IN (?) AND ap_id IS NOT NULL", bun.In(ids)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("remote post ids: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r.APID
	}
	return out, nil
}
