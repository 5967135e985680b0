package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/skein-forum/skein/markup"
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
	// Summary is the content warning the post is shown collapsed behind;
	// Sensitive collapses it without one (see Warning).
	Summary   string `bun:"summary"`
	Sensitive bool   `bun:"sensitive"`
	// LeadFrom and LeadTo are the byte range of HTML the forum view
	// leaves out (see ViewHTML).
	LeadFrom int `bun:"lead_from"`
	LeadTo   int `bun:"lead_to"`
	// MediaCount is how many attachments the post has (see Media).
	MediaCount int `bun:"media_count"`

	Author *Account `bun:"rel:belongs-to,join:author_id=id"`
}

// SensitiveWarning is the warning of a post marked sensitive without a
// summary of its own.
const SensitiveWarning = "Sensitive content"

// Warning is what a post with a content warning is collapsed behind, or
// "" when it has none. Pages, feeds, search results, page descriptions
// and quotations show the warning instead of the text.
func (p *Post) Warning() string {
	switch {
	case p.Summary != "":
		return p.Summary
	case p.Sensitive:
		return SensitiveWarning
	}
	return ""
}

// Description is the post in at most n characters of plain text, for
// page descriptions, notifications and mail: its content warning when it
// has one, else the start of its text.
func (p *Post) Description(n int) string {
	if w := p.Warning(); w != "" {
		return "Content warning: " + w
	}
	return markup.Excerpt(p.ViewHTML(), n)
}

// ViewHTML is the post's HTML as the forum view shows it: without the
// mentions of the thread and of the author replied to that replies from
// Mastodon-family servers open with (computed when the post is stored,
// see [markup.LeadingMentions]). HTML keeps them, for federation.
func (p *Post) ViewHTML() string {
	if p.LeadFrom < 0 || p.LeadTo <= p.LeadFrom || p.LeadTo > len(p.HTML) {
		return p.HTML
	}
	return p.HTML[:p.LeadFrom] + p.HTML[p.LeadTo:]
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
	// Summary is a content warning (plain text, at most MaxSummaryLen
	// characters); Sensitive collapses the post even without one.
	Summary   string
	Sensitive bool
	// Mentions are the accounts the post mentions, as its writer's form
	// or the Note's Mention tags name them. Members among them are
	// notified; other ids are ignored, so a caller may pass every
	// mentioned account it resolved.
	Mentions []ID

	// prep is what Prepare did ahead, or nil.
	prep *postPrep
}

// MaxSummaryLen bounds a content warning, in characters.
const MaxSummaryLen = 500

// cleanSummary checks a content warning and trims it; line breaks become
// spaces, since it is shown as one line.
func cleanSummary(summary string) (string, error) {
	summary = strings.Join(strings.Fields(summary), " ")
	switch {
	case utf8.RuneCountInString(summary) > MaxSummaryLen:
		return "", invalid("summary", "the content warning is %s characters long; the limit is %s",
			grouped(utf8.RuneCountInString(summary)), grouped(MaxSummaryLen))
	case !utf8.ValidString(summary):
		return "", invalid("summary", "the content warning is not valid text")
	case strings.IndexByte(summary, 0) >= 0:
		return "", invalid("summary", "the content warning is not valid text")
	}
	return summary, nil
}

func validateBody(source, html string) error {
	if strings.TrimSpace(source) == "" && strings.TrimSpace(html) == "" {
		return invalid("body", "the post is empty")
	}
	// Characters, not bytes: a post in Greek or Hindi holds as much as
	// one in English. The rendered HTML is bounded in bytes, generously.
	if n := utf8.RuneCountInString(source); n > MaxBodyLen || len(html) > 16*MaxBodyLen {
		return invalid("body", "the post is %s characters long; the limit is %s", grouped(max(n, MaxBodyLen+1)), grouped(MaxBodyLen))
	}
	if !utf8.ValidString(source) || !utf8.ValidString(html) {
		return invalid("body", "the post is not valid text")
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

// insertPost stores the opening post of thread t inside tx (CreateThread,
// MirrorThread), through the same [Store.appendPosts] as every reply,
// with no outbox event of its own. Its notifications are recorded with
// hw, which the caller got before the transaction began.
func (s *Store) insertPost(ctx context.Context, tx bun.Tx, hw *hotWrites, t *Thread, np NewPost, now time.Time) (*Post, error) {
	summary, err := cleanSummary(np.Summary)
	if err != nil {
		return nil, err
	}
	p := s.newPostRow(t, &np, summary, now)
	// An opening post replies to nobody; it notifies those it mentions
	// and those who watch its forum.
	pp := placedPost{post: p, thread: t, np: &np,
		notice: postNotice{post: p, mentions: np.Mentions, newThreadIn: t.ForumID, leading: np.leadingOf()}}
	if err := s.appendPosts(ctx, tx, hw, []placedPost{pp}, false, now); err != nil {
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
	posts, err := h.queryPosts(ctx, h.postByAPID, canonicalIRI(apID))
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

// RepliesOf pages the live posts whose Note answers p (names it as
// inReplyTo), in thread order: the posts that reply to it, those that
// quote it without replying to anything, and, when p opens its thread,
// every other post that does neither (their Notes answer the opening
// post). Replies and quotes never leave their thread, so one index range
// of the thread holds them all. after is a position; at most limit
// posts come back, with ID, APID and Position set.
func (s *Store) RepliesOf(ctx context.Context, p *Post, opensThread bool, after int64, limit int) ([]Post, error) {
	var out []Post
	answers, args := "post.reply_to_id = ? OR (post.reply_to_id IS NULL AND post.quote_id = ?)", []any{p.ID, p.ID}
	if opensThread {
		answers += " OR (post.reply_to_id IS NULL AND post.quote_id IS NULL AND post.id <> ?)"
		args = append(args, p.ID)
	}
	err := s.r.NewSelect().Model(&out).Column("id", "ap_id", "position").
		Where("post.thread_id = ? AND post.position > ? AND post.deleted_at IS NULL", p.ThreadID, after).
		Where("("+answers+")", args...).
		OrderExpr("post.position ASC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("replies of %s: %w", p.ID, err)
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
	if err := scanNewest(ctx, q, "post.id", before, limit); err != nil {
		return nil, fmt.Errorf("posts by %s: %w", authorID, err)
	}
	return out, nil
}

// CountPostsByAuthor counts what RecentPostsByAuthor pages: an author's
// live posts in live threads. (Account.PostCount keeps the posts of a
// deleted thread.)
func (s *Store) CountPostsByAuthor(ctx context.Context, authorID ID) (int64, error) {
	n, err := s.r.NewSelect().Model((*Post)(nil)).
		Join("JOIN threads AS t ON t.id = post.thread_id").
		Where("post.author_id = ? AND post.deleted_at IS NULL AND t.deleted_at IS NULL", authorID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count posts by %s: %w", authorID, err)
	}
	return int64(n), nil
}

// PostInThread is a post with its thread's title, for lists outside the
// thread (profiles, search).
type PostInThread struct {
	Post        `bun:",extend"`
	ThreadTitle string `bun:"thread_title"`
}

// EditPost replaces a post's text and marks it edited; its content
// warning stays as it was. It is UpdatePost for callers that know only
// the text.
func (s *Store) EditPost(ctx context.Context, id ID, source, html string) (*Post, error) {
	return s.updatePost(ctx, id, PostEdit{Source: source, HTML: html}, true)
}

// EditPostAndMedia is EditPost for a member's post whose attachments
// change too: afterwards the post shows exactly media, in order, with
// their alt text. Attachments left out are removed with their files;
// new ones are the author's uploads.
func (s *Store) EditPostAndMedia(ctx context.Context, id ID, source, html string, media []AttachMedia) (*Post, error) {
	if media == nil {
		media = []AttachMedia{}
	}
	return s.updatePost(ctx, id, PostEdit{Source: source, HTML: html, Media: media}, true)
}

// PostEdit is a new version of a post: its text, its content warning
// (Summary, Sensitive as in NewPost) and the accounts it mentions.
type PostEdit struct {
	Source, HTML string
	Summary      string
	Sensitive    bool
	// Mentions are the accounts the new version mentions; the members
	// among them whom the post did not notify before are notified now.
	Mentions []ID
	// Media, unless nil, is what the post shows afterwards, as in
	// EditPostAndMedia; nil leaves the attachments as they are.
	Media []AttachMedia
}

// UpdatePost replaces a post's text and content warning and marks it
// edited, in one transaction with its search document, the thread's
// version, the notifications of members newly mentioned and a
// post.update outbox event. Members edit through it, and so do remote
// authors (an Update of their Note).
func (s *Store) UpdatePost(ctx context.Context, id ID, e PostEdit) (*Post, error) {
	return s.updatePost(ctx, id, e, false)
}

func (s *Store) updatePost(ctx context.Context, id ID, e PostEdit, keepWarning bool) (*Post, error) {
	if err := validateBody(e.Source, e.HTML); err != nil {
		return nil, err
	}
	summary, err := cleanSummary(e.Summary)
	if err != nil {
		return nil, err
	}
	if err := validateAttachments(e.Media); err != nil {
		return nil, err
	}
	hw, err := s.hotWrites(ctx)
	if err != nil {
		return nil, fmt.Errorf("edit post: %w", err)
	}
	now := time.Now().UTC()
	var p Post
	err = s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(&p).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "post "+id.String())
		}
		if p.DeletedAt != nil {
			return fmt.Errorf("post %s: %w", id, ErrNotFound)
		}
		p.Source, p.HTML, p.EditedAt = e.Source, e.HTML, &now
		if !keepWarning {
			p.Summary, p.Sensitive = summary, e.Sensitive || summary != ""
		}
		n, err := s.editNotice(ctx, tx, &p, e.Mentions)
		if err != nil {
			return err
		}
		notices := []postNotice{n}
		if err := watchNotices(ctx, tx, hw, notices); err != nil {
			return err
		}
		n = notices[0]
		accounts, err := notifyAccountsOf(ctx, tx, hw, noticeAccounts([]postNotice{n}))
		if err != nil {
			return err
		}
		leadingMentions(&n, accounts)
		if _, err := tx.NewUpdate().Model(&p).Column("source", "html", "edited_at", "summary", "sensitive", "lead_from", "lead_to").
			WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("update post: %w", err)
		}
		if e.Media != nil {
			if err := replaceAttachments(ctx, tx, &p, e.Media); err != nil {
				return err
			}
		}
		if err := bumpThread(ctx, tx, p.ThreadID); err != nil {
			return err
		}
		if err := s.reindexPostBody(ctx, tx, &p); err != nil {
			return err
		}
		ns, err := s.postNotifications(ctx, []postNotice{n}, accounts, now)
		if err != nil {
			return err
		}
		if err := s.recordNotifications(ctx, tx, hw, ns); err != nil {
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

// editNotice is what an edited post may tell members: only mentions, of
// members it did not notify before. The author replied to is read again
// for the leading mentions of the new text.
func (s *Store) editNotice(ctx context.Context, tx bun.Tx, p *Post, mentions []ID) (postNotice, error) {
	n := postNotice{post: p, mentions: mentions, onlyMention: true, notified: make(map[ID]bool)}
	var t Thread
	if err := tx.NewSelect().Model(&t).Column("id", "author_id").Where("id = ?", p.ThreadID).Scan(ctx); err != nil {
		return n, notFound(err, "thread "+p.ThreadID.String())
	}
	n.repliedTo = t.AuthorID
	if p.ReplyToID != nil {
		err := tx.NewSelect().Model((*Post)(nil)).Column("author_id").Where("id = ?", *p.ReplyToID).Scan(ctx, &n.repliedTo)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return n, fmt.Errorf("post replied to: %w", err)
		}
	}
	if len(mentions) > 0 {
		var before []ID
		if err := tx.NewRaw("SELECT recipient_id FROM notifications WHERE post_id = ?", p.ID).Scan(ctx, &before); err != nil {
			return n, fmt.Errorf("notified before: %w", err)
		}
		for _, id := range before {
			n.notified[id] = true
		}
	}
	return n, nil
}

// DeletePost soft-deletes a post: its text is cleared, its place in the
// thread stays (pages do not shift) and it answers as a Tombstone.
// Deleting a thread's first post deletes the thread. A member's post
// records post.delete (federation sends Delete); a remote actor's post
// records remote_post.delete, since only its own server can delete it
// elsewhere. Moderators use RemovePost, which also writes the audit log.
func (s *Store) DeletePost(ctx context.Context, id ID) error {
	return s.txAs(ctx, "delete post", func(ctx context.Context, tx bun.Tx) error {
		_, err := s.deletePost(ctx, tx, id)
		return err
	})
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
	if err := forgetNotifications(ctx, tx, "n.post_id = ?", p.ID); err != nil {
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
		Where("id IN (?) AND ap_id IS NOT NULL", bun.List(ids)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("remote post ids: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r.APID
	}
	return out, nil
}

// grouped writes n with thousands separators ("65,536"), as the limits
// in refusal messages are read.
func grouped(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
