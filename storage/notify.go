package storage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/skein-forum/skein/markup"
)

// Writing notifications. The rules, in one place:
//   - only members are notified: not remote accounts, not deleted,
//     suspended or still-unapproved ones;
//   - nobody is notified of what they did themselves;
//   - nothing comes from a muted actor: one suspended or silenced, or on
//     a domain that is silenced or suspended (ActorPolicy);
//   - a post notifies each member once, for the first of: a reply to
//     their post, a quote of it, a reply to their thread (a post that
//     names no post to reply to), a mention of them, a new post in a
//     thread they watch, a new thread in a forum they watch;
//   - a member who muted a thread hears nothing of what happens in it;
//   - repeats collapse: the notifications table keeps one row per
//     recipient, post, kind and actor, so liking twice (or liking,
//     unliking and liking again) notifies once.

// notifyAccount is what the rules need to know of an account.
type notifyAccount struct {
	ID              ID         `bun:"id"`
	Handle          string     `bun:"handle"`
	Domain          string     `bun:"domain"`
	Suspended       bool       `bun:"suspended"`
	Silenced        bool       `bun:"silenced"`
	ApprovalPending bool       `bun:"approval_pending"`
	DeletedAt       *time.Time `bun:"deleted_at"`
}

// notifiable reports whether a is a member who may be notified.
func (a *notifyAccount) notifiable() bool {
	return a != nil && a.Domain == "" && !a.Suspended && !a.ApprovalPending && a.DeletedAt == nil
}

// mutedActor reports whether nothing a does may notify anyone.
func (s *Store) mutedActor(ctx context.Context, a *notifyAccount) (bool, error) {
	if a == nil || a.Suspended || a.Silenced || a.DeletedAt != nil {
		return true, nil
	}
	if a.Domain == "" {
		return false, nil
	}
	p, err := s.DomainPolicy(ctx, a.Domain)
	if err != nil {
		return false, err
	}
	return p != PolicyNone, nil
}

// notifyOne records one notification inside tx, if the rules allow it.
// It is what likes, follows and boosts use.
func (s *Store) notifyOne(ctx context.Context, tx bun.Tx, n Notification) error {
	if n.RecipientID == n.ActorID {
		return nil
	}
	hw, err := s.hotWrites(ctx)
	if err != nil {
		return err
	}
	accounts, err := notifyAccountsOf(ctx, tx, hw, []ID{n.RecipientID, n.ActorID})
	if err != nil {
		return err
	}
	if !accounts[n.RecipientID].notifiable() {
		return nil
	}
	if muted, err := s.mutedActor(ctx, accounts[n.ActorID]); err != nil || muted {
		return err
	}
	if n.ThreadID != 0 {
		var muted bool
		err := tx.NewRaw("SELECT EXISTS (SELECT 1 FROM thread_mutes WHERE account_id = ? AND thread_id = ?)",
			n.RecipientID, n.ThreadID).Scan(ctx, &muted)
		if err != nil || muted {
			return err
		}
	}
	n.ID = s.NewID()
	if n.CreatedAt.IsZero() {
		n.CreatedAt = time.Now().UTC()
	}
	res, err := tx.NewInsert().Model(&n).On("CONFLICT DO NOTHING").Returning("NULL").Exec(ctx)
	if err != nil {
		return fmt.Errorf("record %s notification: %w", n.Kind, err)
	}
	if k, _ := res.RowsAffected(); k > 0 {
		return addUnread(ctx, tx, n.RecipientID, k)
	}
	return nil
}

// postNotice is what one stored post may tell members: who its writer
// replies to, quotes and mentions.
type postNotice struct {
	post        *Post
	repliedTo   ID   // author of the post replied to, or of the thread
	threadReply bool // repliedTo is the thread's author: the post names no post
	quoted      ID   // author of the quoted post, or 0
	mentions    []ID
	onlyMention bool        // an edit: only mentions notify
	notified    map[ID]bool // members this post notified before (an edit)
	// newThreadIn is the forum of a thread this post opens, or 0.
	newThreadIn ID
	// watchers are the members who watch the thread (of a reply) or the
	// forum (of a new thread), told with watchKind; muted are the members
	// who muted the post's thread. watchNotices fills all three.
	watchers  []ID
	watchKind string
	muted     map[ID]bool
	// leading is the run of mentions the post's HTML opens with, read
	// ahead (NewPost.Prepare), or nil to read it from the HTML.
	leading *markup.Leading
}

// noticeAccounts lists every account the notices name.
func noticeAccounts(notices []postNotice) []ID {
	seen := make(map[ID]bool)
	var out []ID
	add := func(id ID) {
		if id != 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, n := range notices {
		add(n.post.AuthorID)
		add(n.repliedTo)
		add(n.quoted)
		for _, m := range n.mentions {
			add(m)
		}
		for _, w := range n.watchers {
			add(w)
		}
	}
	return out
}

// leadingMentions sets the range of a remote post's HTML that the forum
// view leaves out: the mentions of its thread and of the author it
// replies to that Mastodon-family servers open replies with. Members'
// own posts show as written.
func leadingMentions(n *postNotice, accounts map[ID]*notifyAccount) {
	p := n.post
	p.LeadFrom, p.LeadTo = 0, 0
	if a := accounts[p.AuthorID]; a == nil || a.Domain == "" {
		return
	}
	if !mayLeadWithMentions(p.HTML) {
		return
	}
	thread := ThreadHandle(p.ThreadID)
	replied := accounts[n.repliedTo]
	hide := func(m markup.Mention) bool {
		name := strings.ToLower(m.Name)
		if name == thread {
			return true
		}
		if replied == nil || name != strings.ToLower(replied.Handle) {
			return false
		}
		return m.Host == "" || replied.Domain == "" || m.Host == replied.Domain
	}
	if n.leading != nil {
		p.LeadFrom, p.LeadTo = n.leading.Drop(hide)
		return
	}
	p.LeadFrom, p.LeadTo = markup.LeadingMentions(p.HTML, hide)
}

// postNotifications applies the rules to stored posts and returns the
// notifications to record.
func (s *Store) postNotifications(ctx context.Context, notices []postNotice, accounts map[ID]*notifyAccount, now time.Time) ([]Notification, error) {
	var out []Notification
	for i := range notices {
		n := &notices[i]
		p := n.post
		muted, err := s.mutedActor(ctx, accounts[p.AuthorID])
		if err != nil {
			return nil, err
		}
		if muted {
			continue
		}
		done := make(map[ID]bool, 2)
		add := func(recipient ID, kind string) {
			if recipient == p.AuthorID || done[recipient] || n.notified[recipient] || n.muted[recipient] ||
				!accounts[recipient].notifiable() {
				return
			}
			done[recipient] = true
			out = append(out, Notification{ID: s.NewID(), RecipientID: recipient, Kind: kind, ActorID: p.AuthorID,
				PostID: p.ID, ThreadID: p.ThreadID, CreatedAt: now})
		}
		if !n.onlyMention {
			if !n.threadReply {
				add(n.repliedTo, NotifyReply)
			}
			add(n.quoted, NotifyQuote)
			add(n.repliedTo, NotifyReply)
		}
		for _, m := range n.mentions {
			add(m, NotifyMention)
		}
		for _, w := range n.watchers {
			add(w, n.watchKind)
		}
	}
	return out, nil
}

// recordNotifications inserts notifications inside tx through the
// prepared statements and moves each recipient's unread count by the
// rows it added.
func (s *Store) recordNotifications(ctx context.Context, tx bun.Tx, hw *hotWrites, ns []Notification) error {
	if len(ns) == 0 {
		return nil
	}
	added := make(map[ID]int64)
	var order []ID
	insert := hw.stmt(ctx, tx, hw.insertNotification)
	for i := range ns {
		args, err := s.rowArgs(hw.notification, &ns[i])
		if err != nil {
			return err
		}
		res, err := insert.ExecContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("record %s notification: %w", ns[i].Kind, err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			if _, ok := added[ns[i].RecipientID]; !ok {
				order = append(order, ns[i].RecipientID)
			}
			added[ns[i].RecipientID] += k
		}
	}
	for _, id := range order {
		if err := hw.exec(ctx, tx, sqlCountUnread, added[id], id); err != nil {
			return fmt.Errorf("count unread notifications: %w", err)
		}
	}
	return nil
}

// forgetNotifications deletes the notifications that match where (on
// notifications, as n) and recounts the unread notifications of their
// recipients: what deleting posts, threads and accounts does.
func forgetNotifications(ctx context.Context, tx bun.Tx, where string, args ...any) error {
	var recipients []ID
	err := tx.NewRaw("SELECT DISTINCT n.recipient_id FROM notifications AS n WHERE "+where, args...).Scan(ctx, &recipients)
	if err != nil {
		return fmt.Errorf("find notifications to forget: %w", err)
	}
	if len(recipients) == 0 {
		return nil
	}
	// SQLite and PostgreSQL both allow an alias in DELETE.
	if _, err := tx.NewRaw("DELETE FROM notifications AS n WHERE "+where, args...).Exec(ctx); err != nil {
		return fmt.Errorf("forget notifications: %w", err)
	}
	_, err = tx.NewRaw(`UPDATE accounts SET unread_notifications = (SELECT COUNT(*) FROM notifications AS u
			WHERE u.recipient_id = accounts.id AND u.read_at IS NULL) WHERE id IN (?)`, bun.List(recipients)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("recount unread notifications: %w", err)
	}
	return nil
}
