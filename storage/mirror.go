package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// MirrorForumSlug is the hidden forum that holds mirrors of remote
// threads: threads on other servers that a member follows, so their posts
// can be read and answered here. The name is claimed like any forum slug,
// so no member can take it.
const MirrorForumSlug = "fediverse"

// MirrorForum returns the hidden forum of mirrored threads, creating it on
// first use.
func (s *Store) MirrorForum(ctx context.Context) (*Forum, error) {
	if f, err := s.ForumBySlug(ctx, MirrorForumSlug); err == nil {
		return f, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	f := &Forum{ID: s.NewID(), Slug: MirrorForumSlug, Title: "From the fediverse",
		Description: "Threads on other servers that members here follow.", Hidden: true, CreatedAt: time.Now().UTC()}
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := claimName(ctx, tx, f.Slug, "forum", f.ID); err != nil {
			return err
		}
		_, err := tx.NewInsert().Model(f).Returning("NULL").Exec(ctx)
		return err
	})
	if errors.Is(err, ErrNameTaken) {
		// Another process made it first.
		return s.ForumBySlug(ctx, MirrorForumSlug)
	}
	if err != nil {
		return nil, fmt.Errorf("create mirror forum: %w", err)
	}
	return f, nil
}

// NewMirror describes a remote thread to mirror: its id, the remote actor
// that owns it (a Group, if the remote server has one), its title and its
// first post (a remote post: APID set, author a remote account).
type NewMirror struct {
	APID          string
	RemoteActorID *ID
	Title         string
	First         NewPost
}

// MirrorThread returns the mirror of a remote thread, creating it with its
// first post when it is new. Creating a mirror records no outbox event:
// nothing about it is ours to federate.
func (s *Store) MirrorThread(ctx context.Context, m NewMirror) (*Thread, error) {
	m.APID = canonicalIRI(m.APID)
	m.First.APID = canonicalIRIPtr(m.First.APID)
	if t, err := s.ThreadByAPID(ctx, m.APID); err == nil {
		return t, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	title, err := ValidateTitle(m.Title)
	if err != nil {
		title = "(untitled)"
	}
	if err := validateBody(m.First.Source, m.First.HTML); err != nil {
		return nil, err
	}
	forum, err := s.MirrorForum(ctx)
	if err != nil {
		return nil, err
	}
	hw, err := s.hotWrites(ctx)
	if err != nil {
		return nil, fmt.Errorf("mirror thread %s: %w", m.APID, err)
	}
	now := time.Now().UTC()
	apID := m.APID
	t := &Thread{ID: s.NewID(), ForumID: forum.ID, AuthorID: m.First.AuthorID, Title: title,
		LastPostAt: now, CreatedAt: now, APID: &apID, RemoteActorID: m.RemoteActorID}
	err = s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if a := m.First.APID; a != nil {
			withdrawn, err := tombstonedPosts(ctx, tx, hw, []string{*a})
			if err != nil {
				return err
			}
			if slices.Contains(withdrawn[*a], m.First.AuthorID) {
				return fmt.Errorf("first post %s: %w", *a, ErrWithdrawn)
			}
		}
		res, err := tx.NewInsert().Model(t).On("CONFLICT DO NOTHING").Returning("NULL").Exec(ctx)
		if err != nil {
			return fmt.Errorf("insert mirror: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errMirrorExists
		}
		p, err := s.insertPost(ctx, tx, hw, t, m.First, now)
		if err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(t).Set("first_post_id = ?", p.ID).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("set first post: %w", err)
		}
		t.FirstPostID = &p.ID
		_, err = tx.NewUpdate().Model((*Forum)(nil)).Set("thread_count = thread_count + 1").Where("id = ?", forum.ID).Exec(ctx)
		return err
	})
	if errors.Is(err, errMirrorExists) {
		return s.ThreadByAPID(ctx, m.APID)
	}
	if err != nil {
		return nil, fmt.Errorf("mirror thread %s: %w", m.APID, err)
	}
	return s.ThreadByID(ctx, t.ID)
}

var errMirrorExists = errors.New("mirror exists")

// ThreadByAPID finds the mirror of a remote thread.
func (s *Store) ThreadByAPID(ctx context.Context, apID string) (*Thread, error) {
	t := new(Thread)
	if err := s.r.NewSelect().Model(t).Relation("Author").Where("thread.ap_id = ?", canonicalIRI(apID)).Scan(ctx); err != nil {
		return nil, notFound(err, "thread "+apID)
	}
	return t, nil
}

// MirrorsOwnedBy lists the live mirror threads a remote actor owns (the
// threads its own posts opened here, or those of a group it runs), newest
// first, at most limit.
func (s *Store) MirrorsOwnedBy(ctx context.Context, actorID ID, limit int) ([]Thread, error) {
	var out []Thread
	err := s.r.NewSelect().Model(&out).
		Where("remote_actor_id = ? AND deleted_at IS NULL", actorID).
		OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("mirrors of %s: %w", actorID, err)
	}
	return out, nil
}

// HasPostIn reports whether an account has a live post in a thread: for a
// mirror, someone its group let in before.
func (s *Store) HasPostIn(ctx context.Context, threadID, authorID ID) (bool, error) {
	n, err := s.r.NewSelect().Model((*Post)(nil)).
		Where("thread_id = ? AND author_id = ? AND deleted_at IS NULL", threadID, authorID).Limit(1).Count(ctx)
	if err != nil {
		return false, fmt.Errorf("posts of %s in thread %s: %w", authorID, threadID, err)
	}
	return n > 0, nil
}
