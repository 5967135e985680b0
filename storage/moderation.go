package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Moderation actions on posts, threads and accounts. Each takes by, the
// moderator's account id (Operator for the shell), and writes its audit
// entry in the same transaction as the change. The unaudited primitives
// (DeletePost, SetThreadLocked, ...) stay for authors acting on their own
// content and for federation applying a remote actor's own activities.

// RemovePost is a moderator's deletion of any post, local or remote; see
// DeletePost for what it records for federation.
func (s *Store) RemovePost(ctx context.Context, by, postID ID) error {
	return s.txAs(ctx, "remove post", func(ctx context.Context, tx bun.Tx) error {
		if err := mayRemovePost(ctx, tx, by, postID); err != nil {
			return err
		}
		p, err := s.deletePost(ctx, tx, postID)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, by, AuditPostRemove, TargetPost, postID.String(), authorDetail(p))
	})
}

func authorDetail(p *Post) string {
	if p.Author == nil {
		return ""
	}
	return "by " + p.Author.Acct()
}

// RemoveThread is a moderator's deletion of a whole thread.
func (s *Store) RemoveThread(ctx context.Context, by, threadID ID) error {
	return s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var author ID
		if err := tx.NewRaw("SELECT author_id FROM threads WHERE id = ?", threadID).Scan(ctx, &author); err != nil {
			return notFound(err, "thread "+threadID.String())
		}
		if err := mayActOn(ctx, tx, by, author, true); err != nil {
			return err
		}
		if err := s.deleteThread(ctx, tx, threadID); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, AuditThreadRemove, TargetThread, threadID.String(), "")
	})
}

// PinThread pins or unpins a thread.
func (s *Store) PinThread(ctx context.Context, by, threadID ID, pinned bool) error {
	return s.setThreadFlagAudited(ctx, by, threadID, "pinned", pinned, either(pinned, AuditThreadPin, AuditThreadUnpin))
}

// LockThread locks or unlocks a thread: a locked thread refuses replies,
// local ones and remote ones (CreatePost answers ErrLocked; the inbox
// rejects the Create).
func (s *Store) LockThread(ctx context.Context, by, threadID ID, locked bool) error {
	return s.setThreadFlagAudited(ctx, by, threadID, "locked", locked, either(locked, AuditThreadLock, AuditThreadUnlock))
}

// either is yes when on holds, no otherwise: the audit action of a
// switch turned on or off.
func either(on bool, yes, no string) string {
	if on {
		return yes
	}
	return no
}

func (s *Store) setThreadFlagAudited(ctx context.Context, by, id ID, column string, v bool, action string) error {
	return s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := setThreadFlagTx(ctx, tx, id, column, v); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, action, TargetThread, id.String(), "")
	})
}

// MoveThread moves a live thread to another forum. Both forums' thread
// and post counts and latest-post fields follow, and a thread.move event
// lets federation announce it.
func (s *Store) MoveThread(ctx context.Context, by, threadID, forumID ID) error {
	return s.txAs(ctx, "move thread", func(ctx context.Context, tx bun.Tx) error {
		t, err := selectOne[Thread](ctx, tx, "thread "+threadID.String(), "id = ?", threadID)
		if err != nil {
			return err
		}
		if t.DeletedAt != nil {
			return fmt.Errorf("thread %s: %w", threadID, ErrNotFound)
		}
		to, err := selectOne[Forum](ctx, tx, "forum "+forumID.String(), "id = ?", forumID)
		if err != nil {
			return err
		}
		from := t.ForumID
		if from == to.ID {
			return nil
		}
		if _, err := tx.NewUpdate().Model((*Thread)(nil)).Set("forum_id = ?", to.ID).Where("id = ?", t.ID).Exec(ctx); err != nil {
			return fmt.Errorf("move thread: %w", err)
		}
		if _, err := tx.NewUpdate().Model((*Forum)(nil)).
			Set("thread_count = thread_count - 1").Set("post_count = post_count - ?", t.PostCount).
			Where("id = ?", from).Exec(ctx); err != nil {
			return fmt.Errorf("uncount moved thread: %w", err)
		}
		if _, err := tx.NewUpdate().Model((*Forum)(nil)).
			Set("thread_count = thread_count + 1").Set("post_count = post_count + ?", t.PostCount).
			Where("id = ?", to.ID).Exec(ctx); err != nil {
			return fmt.Errorf("count moved thread: %w", err)
		}
		if err := refreshForumLatest(ctx, tx, from, to.ID); err != nil {
			return err
		}
		if err := s.reindexMovedThread(ctx, tx, t.ID, from, to.ID); err != nil {
			return err
		}
		for _, bump := range []error{bumpThread(ctx, tx, t.ID), bumpForum(ctx, tx, from), bumpForum(ctx, tx, to.ID)} {
			if bump != nil {
				return bump
			}
		}
		if err := addEvent(ctx, tx, &OutboxEvent{ID: s.NewID(), Kind: EventThreadMove, AccountID: t.AuthorID,
			PostID: derefID(t.FirstPostID), ThreadID: t.ID, ForumID: to.ID, FromForumID: from}); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, AuditThreadMove, TargetThread, t.ID.String(), "to "+to.Slug)
	})
}

// refreshForumLatest recomputes the latest post of forums from their live
// threads.
func refreshForumLatest(ctx context.Context, tx bun.Tx, forumIDs ...ID) error {
	for _, id := range forumIDs {
		_, err := tx.NewRaw(`UPDATE forums SET
			last_post_id = (SELECT MAX(last_post_id) FROM threads WHERE forum_id = ? AND deleted_at IS NULL),
			last_post_at = (SELECT MAX(last_post_at) FROM threads WHERE forum_id = ? AND deleted_at IS NULL)
			WHERE id = ?`, id, id, id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("refresh forum %s: %w", id, err)
		}
	}
	return nil
}

// SuspendAccount suspends or restores a member or a remote actor. A
// suspended member's sessions end at once and they cannot sign in; a
// suspended remote actor's inbox requests are refused and nothing is
// delivered to them (federation checks ActorPolicy).
func (s *Store) SuspendAccount(ctx context.Context, by, accountID ID, suspended bool) error {
	return s.setAccountFlag(ctx, by, accountID, "suspended", suspended, either(suspended, AuditAccountSuspend, AuditAccountRestore))
}

// SilenceAccount silences or unsilences an account: its threads stay out
// of forum lists, and federation holds its follows for approval.
func (s *Store) SilenceAccount(ctx context.Context, by, accountID ID, silenced bool) error {
	return s.setAccountFlag(ctx, by, accountID, "silenced", silenced, either(silenced, AuditAccountSilence, AuditAccountUnsilence))
}

func (s *Store) setAccountFlag(ctx context.Context, by, id ID, column string, v bool, action string) error {
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		a, err := accountToModerate(ctx, tx, by, id, false)
		if err != nil {
			return err
		}
		if err := bumpPolicy(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*Account)(nil)).Set("? = ?", bun.Ident(column), v).Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("set %s: %w", column, err)
		}
		if column == "suspended" && v {
			if _, err := tx.NewDelete().Model((*Session)(nil)).Where("account_id = ?", id).Exec(ctx); err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
			// What a suspended account did stops notifying anyone.
			if err := forgetNotifications(ctx, tx, "n.actor_id = ?", id); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, by, action, TargetAccount, id.String(), a.Acct())
	})
	s.policy.invalidate() // ActorSuspended must see it at once
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	return nil
}

// accountToModerate loads account id (a member of this node only, when
// member) inside tx, once [mayActOn] says by may act on it.
func accountToModerate(ctx context.Context, tx bun.Tx, by, id ID, member bool) (*Account, error) {
	a := new(Account)
	q := tx.NewSelect().Model(a).Where("id = ?", id)
	what := "account "
	if member {
		q, what = q.Where("domain = ''"), "member "
	}
	if err := q.Scan(ctx); err != nil {
		return nil, notFound(err, what+id.String())
	}
	if err := mayActOn(ctx, tx, by, id, false); err != nil {
		return nil, err
	}
	return a, nil
}

// ChangeRole gives a member another role (member, moderator, admin).
func (s *Store) ChangeRole(ctx context.Context, by, accountID ID, role string) error {
	if role != RoleMember && role != RoleModerator && role != RoleAdmin {
		return invalid("role", "unknown role %q", role)
	}
	return s.txAs(ctx, "change role", func(ctx context.Context, tx bun.Tx) error {
		a, err := accountToModerate(ctx, tx, by, accountID, true)
		if err != nil {
			return err
		}
		if err := mayGrant(ctx, tx, by, role); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*Account)(nil)).Set("role = ?", role).Where("id = ?", accountID).Exec(ctx); err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		return s.audit(ctx, tx, by, AuditAccountRole, TargetAccount, accountID.String(), a.Handle+": "+a.Role+" → "+role)
	})
}

// ApproveMember lets a registration that waited for approval sign in.
//
// When the member has a verified address and approved is not nil, the
// mail approved makes for them is queued in the same transaction.
func (s *Store) ApproveMember(ctx context.Context, by, accountID ID, approved func(*Account) (NewMail, error)) error {
	return s.txAs(ctx, "approve member", func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*Account)(nil)).Set("approval_pending = ?", false).
			Where("id = ? AND domain = '' AND approval_pending = ?", accountID, true).Exec(ctx)
		if err != nil {
			return fmt.Errorf("approve: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("no registration %s waits for approval: %w", accountID, ErrNotFound)
		}
		if err := s.audit(ctx, tx, by, AuditAccountApprove, TargetAccount, accountID.String(), ""); err != nil {
			return err
		}
		if approved == nil {
			return nil
		}
		a := new(Account)
		if err := tx.NewSelect().Model(a).Where("id = ?", accountID).Scan(ctx); err != nil {
			return fmt.Errorf("load approved member: %w", err)
		}
		if a.EmailVerifiedAt == nil || a.Email == "" {
			return nil
		}
		m, err := approved(a)
		if err != nil {
			return fmt.Errorf("compose approval mail: %w", err)
		}
		return s.enqueueMail(ctx, tx, time.Now().UTC(), []NewMail{m})
	})
}

// RejectMember refuses a registration that waited for approval: the
// account is removed and its handle is free again.
func (s *Store) RejectMember(ctx context.Context, by, accountID ID) error {
	return s.txAs(ctx, "reject member", func(ctx context.Context, tx bun.Tx) error {
		a := new(Account)
		err := tx.NewSelect().Model(a).Where("id = ? AND domain = '' AND approval_pending = ?", accountID, true).Scan(ctx)
		if err != nil {
			return notFound(err, "registration "+accountID.String())
		}
		if _, err := tx.NewDelete().Model((*Session)(nil)).Where("account_id = ?", a.ID).Exec(ctx); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		if _, err := tx.NewDelete().Model((*AccountToken)(nil)).Where("account_id = ?", a.ID).Exec(ctx); err != nil {
			return fmt.Errorf("drop tokens: %w", err)
		}
		if _, err := tx.NewRaw("DELETE FROM thread_mutes WHERE account_id = ?", a.ID).Exec(ctx); err != nil {
			return fmt.Errorf("drop mutes: %w", err)
		}
		if _, err := tx.NewRaw("DELETE FROM local_names WHERE name = ? AND kind = 'member'", a.Handle).Exec(ctx); err != nil {
			return fmt.Errorf("free name: %w", err)
		}
		if err := forgetNotifications(ctx, tx, "n.recipient_id = ? OR n.actor_id = ?", a.ID, a.ID); err != nil {
			return err
		}
		if _, err := tx.NewRaw("DELETE FROM notification_prefs WHERE account_id = ?", a.ID).Exec(ctx); err != nil {
			return fmt.Errorf("drop notification preferences: %w", err)
		}
		if err := trashMedia(ctx, tx, "account_id = ?", a.ID); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*Account)(nil)).Where("id = ?", a.ID).Exec(ctx); err != nil {
			return fmt.Errorf("delete registration: %w", err)
		}
		return s.audit(ctx, tx, by, AuditAccountReject, TargetAccount, a.ID.String(), a.Handle)
	})
}

// DeleteOwnAccount is a member deleting their account: every post of
// theirs becomes a tombstone (threads they started stay, for the replies
// of others), their profile and credentials are wiped, their sessions,
// follows and likes go, and an account.delete event makes federation send
// Delete{Person}. The handle stays claimed so nobody can pose as them.
func (s *Store) DeleteOwnAccount(ctx context.Context, accountID ID) error {
	now := time.Now().UTC()
	return s.txAs(ctx, "delete account", func(ctx context.Context, tx bun.Tx) error {
		a := new(Account)
		if err := tx.NewSelect().Model(a).Where("id = ? AND domain = ''", accountID).Scan(ctx); err != nil {
			return notFound(err, "member "+accountID.String())
		}
		if a.DeletedAt != nil {
			return nil
		}
		if err := s.tombstonePosts(ctx, tx, now, "author_id = ?", a.ID); err != nil {
			return err
		}
		// Whatever images are left (the avatar, uploads waiting for a
		// post, attachments of posts in deleted threads) go too.
		if err := trashMedia(ctx, tx, "account_id = ?", a.ID); err != nil {
			return err
		}
		if err := unlikeAll(ctx, tx, "account_id = ?", a.ID); err != nil {
			return err
		}
		// What they did no longer notifies anyone, and what they were
		// told goes with the account.
		if err := forgetNotifications(ctx, tx, "n.recipient_id = ? OR n.actor_id = ?", a.ID, a.ID); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*Follow)(nil)).
			Where("follower_id = ? OR (target_kind = ? AND target_id = ?)", a.ID, FollowAccount, a.ID).Exec(ctx); err != nil {
			return fmt.Errorf("drop follows: %w", err)
		}
		if _, err := tx.NewDelete().Model((*Session)(nil)).Where("account_id = ?", a.ID).Exec(ctx); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		_, err := tx.NewUpdate().Model((*Account)(nil)).
			Set("display_name = ''").Set("bio = ''").Set("email = ''").Set("email_verified_at = NULL").Set("password_hash = ''").
			Set("avatar_url = ''").Set("role = ?", RoleMember).Set("post_count = 0").Set("deleted_at = ?", now).
			Where("id = ?", a.ID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("wipe account: %w", err)
		}
		if err := addEvent(ctx, tx, &OutboxEvent{ID: s.NewID(), Kind: EventAccountDelete, AccountID: a.ID}); err != nil {
			return err
		}
		return s.audit(ctx, tx, a.ID, AuditAccountDelete, TargetAccount, a.ID.String(), a.Handle)
	})
}

// unlikeAll removes the likes that match where (on likes), taking them
// off the posts' counts and their authors' reputation first.
func unlikeAll(ctx context.Context, tx bun.Tx, where string, args ...any) error {
	sub := "SELECT post_id FROM likes WHERE " + where
	// The liked posts' counts change: their threads' pages (and the
	// caches keyed by the thread version) must not show the old ones.
	bump := `UPDATE threads SET version = version + 1
		WHERE id IN (SELECT posts.thread_id FROM likes JOIN posts ON posts.id = likes.post_id WHERE ` + where + `)`
	if _, err := tx.NewRaw(bump, args...).Exec(ctx); err != nil {
		return fmt.Errorf("bump threads of withdrawn likes: %w", err)
	}
	q := `UPDATE posts SET like_count = like_count - (SELECT COUNT(*) FROM likes WHERE likes.post_id = posts.id AND ` + where + `)
		WHERE id IN (` + sub + `)`
	if _, err := tx.NewRaw(q, append(append([]any{}, args...), args...)...).Exec(ctx); err != nil {
		return fmt.Errorf("uncount likes: %w", err)
	}
	q = `UPDATE accounts SET reputation = reputation - (SELECT COUNT(*) FROM likes JOIN posts ON posts.id = likes.post_id
			WHERE posts.author_id = accounts.id AND ` + where + `)
		WHERE id IN (SELECT posts.author_id FROM likes JOIN posts ON posts.id = likes.post_id WHERE ` + where + `)`
	if _, err := tx.NewRaw(q, append(append([]any{}, args...), args...)...).Exec(ctx); err != nil {
		return fmt.Errorf("take back reputation: %w", err)
	}
	if _, err := tx.NewRaw("DELETE FROM likes WHERE "+where, args...).Exec(ctx); err != nil {
		return fmt.Errorf("delete likes: %w", err)
	}
	return nil
}

// tombstonePosts soft-deletes the live posts that match where (on posts),
// the bulk form of deletePost: their text goes, their search documents
// go, and their threads' pages change version so no cache shows them.
func (s *Store) tombstonePosts(ctx context.Context, tx bun.Tx, now time.Time, where string, args ...any) error {
	var rows []struct {
		ID       ID `bun:"id"`
		ThreadID ID `bun:"thread_id"`
	}
	if err := tx.NewRaw("SELECT id, thread_id FROM posts WHERE deleted_at IS NULL AND "+where, args...).Scan(ctx, &rows); err != nil {
		return fmt.Errorf("find posts to tombstone: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	if err := trashPostMedia(ctx, tx, "deleted_at IS NULL AND media_count > 0 AND "+where, args...); err != nil {
		return err
	}
	if _, err := tx.NewRaw("UPDATE posts SET deleted_at = ?, source = '', html = '', media_count = 0 WHERE deleted_at IS NULL AND "+where,
		append([]any{now}, args...)...).Exec(ctx); err != nil {
		return fmt.Errorf("tombstone posts: %w", err)
	}
	threads := make(map[ID]bool)
	ids := make([]ID, len(rows))
	for i, r := range rows {
		if err := s.unindexPost(ctx, tx, r.ID); err != nil {
			return err
		}
		threads[r.ThreadID] = true
		ids[i] = r.ID
	}
	if err := forgetNotifications(ctx, tx, "n.post_id IN (?)", bun.List(ids)); err != nil {
		return err
	}
	for id := range threads {
		if err := bumpThread(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}
