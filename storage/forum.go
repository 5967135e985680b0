package storage

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Forum is a category of threads, and a followable Group actor.
type Forum struct {
	bun.BaseModel `bun:"table:forums"`

	ID          ID         `bun:"id,pk"`
	Slug        string     `bun:"slug"`
	Title       string     `bun:"title"`
	Description string     `bun:"description"`
	Position    int        `bun:"position"`
	ThreadCount int64      `bun:"thread_count"`
	PostCount   int64      `bun:"post_count"`
	LastPostID  *ID        `bun:"last_post_id"`
	LastPostAt  *time.Time `bun:"last_post_at"`
	CreatedAt   time.Time  `bun:"created_at"`
	// Hidden forums (the mirror of remote threads) are not listed.
	Hidden bool `bun:"hidden"`
	// Version counts the changes the forum's thread list shows.
	Version int64 `bun:"version"`
}

// Forum slugs use the handle alphabet plus '-', since a forum's slug is
// also its fediverse handle. They never start with "t." (thread handles).
var forumSlug = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// NewForum is what `skein forum create` or the admin page supplies.
type NewForum struct {
	Slug        string
	Title       string
	Description string
	Position    int
	// By is who creates it, for the audit log: an admin's account id, or
	// Operator (the zero value) at the shell.
	By ID
}

// CreateForum adds a forum; its slug shares the member namespace.
func (s *Store) CreateForum(ctx context.Context, nf NewForum) (*Forum, error) {
	nf.Slug = strings.ToLower(strings.TrimSpace(nf.Slug))
	nf.Title = strings.TrimSpace(nf.Title)
	if !forumSlug.MatchString(nf.Slug) {
		return nil, invalid("slug", "a forum slug is 1 to 40 lower-case letters, digits, '_' or '-'")
	}
	if nf.Title == "" || len(nf.Title) > 200 {
		return nil, invalid("title", "a forum needs a title of at most 200 bytes")
	}
	f := &Forum{
		ID:          s.NewID(),
		Slug:        nf.Slug,
		Title:       nf.Title,
		Description: strings.TrimSpace(nf.Description),
		Position:    nf.Position,
		CreatedAt:   time.Now().UTC(),
	}
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := claimName(ctx, tx, f.Slug, "forum", f.ID); err != nil {
			return err
		}
		if f.Position == 0 {
			var maxPos int
			if err := tx.NewRaw("SELECT COALESCE(MAX(position), 0) FROM forums").Scan(ctx, &maxPos); err != nil {
				return err
			}
			f.Position = maxPos + 1
		}
		if _, err := tx.NewInsert().Model(f).Returning("NULL").Exec(ctx); err != nil {
			return err
		}
		return s.audit(ctx, tx, nf.By, AuditForumCreate, TargetForum, f.ID.String(), f.Slug)
	})
	if err != nil {
		return nil, fmt.Errorf("create forum %s: %w", nf.Slug, err)
	}
	return f, nil
}

// ForumBySlug finds a forum.
func (s *Store) ForumBySlug(ctx context.Context, slug string) (*Forum, error) {
	if !plausibleName(slug) {
		return nil, fmt.Errorf("forum: %w", ErrNotFound)
	}
	return selectOne[Forum](ctx, s.r, "forum "+slug, "slug = ?", slug)
}

// ForumVersion reads a forum's version by slug, for the guest page cache.
func (s *Store) ForumVersion(ctx context.Context, slug string) (int64, error) {
	var v int64
	if err := s.r.NewRaw("SELECT version FROM forums WHERE slug = ?", slug).Scan(ctx, &v); err != nil {
		return 0, notFound(err, "forum "+slug)
	}
	return v, nil
}

// ForumByID finds a forum.
func (s *Store) ForumByID(ctx context.Context, id ID) (*Forum, error) {
	return selectOne[Forum](ctx, s.r, "forum "+id.String(), "id = ?", id)
}

// ListForums returns every listed forum in display order.
func (s *Store) ListForums(ctx context.Context) ([]Forum, error) {
	var out []Forum
	if err := s.r.NewSelect().Model(&out).Where("hidden = ?", false).OrderExpr("position ASC, id ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list forums: %w", err)
	}
	return out, nil
}

// UpdateForum changes a forum's title, description and position (the
// home page lists forums by position, then age); by is who did it, for
// the audit log.
func (s *Store) UpdateForum(ctx context.Context, by, id ID, title, description string, position int) error {
	title = strings.TrimSpace(title)
	if title == "" || len(title) > 200 {
		return invalid("title", "a forum needs a title of at most 200 bytes")
	}
	return s.txAs(ctx, "update forum", func(ctx context.Context, tx bun.Tx) error {
		f, err := selectOne[Forum](ctx, tx, "forum "+id.String(), "id = ?", id)
		if err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model((*Forum)(nil)).
			Set("title = ?", title).Set("description = ?", strings.TrimSpace(description)).Set("position = ?", position).
			Where("id = ?", id).Exec(ctx)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, by, AuditForumUpdate, TargetForum, id.String(), f.Slug)
	})
}

// EnsureDefaultForum creates a first forum when there is none, so a fresh
// node has somewhere to post. It reports whether it created one.
func (s *Store) EnsureDefaultForum(ctx context.Context) (*Forum, bool, error) {
	forums, err := s.ListForums(ctx)
	if err != nil {
		return nil, false, err
	}
	if len(forums) > 0 {
		return &forums[0], false, nil
	}
	f, err := s.CreateForum(ctx, NewForum{Slug: "general", Title: "General", Description: "Anything that fits nowhere else."})
	if err != nil {
		return nil, false, err
	}
	return f, true, nil
}
