package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Kinds of notification. Each is written by the storage method that makes
// the change it reports, in the same transaction (see [Store.postNotifications]), so the
// web forms and the inbox produce the same notifications.
const (
	// NotifyMention: a post mentions the recipient.
	NotifyMention = "mention"
	// NotifyReply: a post replies to the recipient's post (or, without a
	// post to reply to, to the thread the recipient started).
	NotifyReply = "reply"
	// NotifyQuote: a post quotes the recipient's post.
	NotifyQuote = "quote"
	// NotifyLike: an account liked the recipient's post.
	NotifyLike = "like"
	// NotifyFollow: an account follows the recipient (PostID 0).
	NotifyFollow = "follow"
	// NotifyAnnounce: a remote account boosted the recipient's post.
	NotifyAnnounce = "announce"
	// NotifyThreadPost: a new post in a thread the recipient watches.
	NotifyThreadPost = "thread.post"
	// NotifyForumThread: a new thread in a forum the recipient watches
	// (PostID is its first post).
	NotifyForumThread = "forum.thread"
)

// NotificationKinds lists every kind, in the order settings show them.
var NotificationKinds = []string{NotifyMention, NotifyReply, NotifyQuote, NotifyLike, NotifyFollow,
	NotifyAnnounce, NotifyThreadPost, NotifyForumThread}

// Notification is one thing that happened to a member. ActorID is the
// local or remote account that acted; PostID and ThreadID are 0 when it
// is about no post. ReadAt is nil while unread.
type Notification struct {
	bun.BaseModel `bun:"table:notifications,alias:n"`

	ID          ID         `bun:"id,pk"`
	RecipientID ID         `bun:"recipient_id"`
	Kind        string     `bun:"kind"`
	ActorID     ID         `bun:"actor_id"`
	PostID      ID         `bun:"post_id"`
	ThreadID    ID         `bun:"thread_id"`
	CreatedAt   time.Time  `bun:"created_at"`
	ReadAt      *time.Time `bun:"read_at"`
	// MailState is where the notification is on its way to mail: "" (not
	// looked at yet), MailStateDigest or MailStateDone; see
	// [Store.MailNotices].
	MailState string `bun:"mail_state"`
}

// NotificationEntry is a notification with what its page shows: the
// actor, and the post and its thread's title when it is about one.
type NotificationEntry struct {
	Notification `bun:",extend"`
	ThreadTitle  string   `bun:"thread_title"`
	Actor        *Account `bun:"rel:belongs-to,join:actor_id=id"`
	Post         *Post    `bun:"rel:belongs-to,join:post_id=id"`
}

// Notifications pages a member's notifications, newest first: those with
// ids below before (0 for the first page), at most limit. Suspending an
// account forgets what it did; the filter on suspended actors here only
// covers the moment between.
func (s *Store) Notifications(ctx context.Context, recipientID, before ID, limit int) ([]NotificationEntry, error) {
	var out []NotificationEntry
	q := entryQuery(s.r, &out).Where("n.recipient_id = ?", recipientID)
	if err := scanNewest(ctx, q, "n.id", before, limit); err != nil {
		return nil, fmt.Errorf("notifications of %s: %w", recipientID, err)
	}
	fixEntries(out)
	return out, nil
}

// entryQuery selects notification entries into out, leaving out what
// suspended accounts did.
func entryQuery(db bun.IDB, out *[]NotificationEntry) *bun.SelectQuery {
	return db.NewSelect().Model(out).
		ColumnExpr("n.*").ColumnExpr("COALESCE(t.title, '') AS thread_title").
		Relation("Actor").Relation("Post").
		Join("LEFT JOIN threads AS t ON t.id = n.thread_id").
		Where("NOT actor.suspended")
}

// fixEntries drops the empty post a LEFT JOIN without a post gives.
func fixEntries(out []NotificationEntry) {
	for i := range out {
		if out[i].Post != nil && out[i].Post.ID == 0 {
			out[i].Post = nil
		}
	}
}

// UnreadNotifications is how many unread notifications a member has; the
// same number is on their Account (UnreadNotifications), read with the
// session at no cost.
func (s *Store) UnreadNotifications(ctx context.Context, accountID ID) (int64, error) {
	var n int64
	err := s.r.NewRaw("SELECT unread_notifications FROM accounts WHERE id = ?", accountID).Scan(ctx, &n)
	if err != nil {
		return 0, notFound(err, "account "+accountID.String())
	}
	return n, nil
}

// ReadNotification marks one of a member's notifications read and returns
// it; reading it again changes nothing. Another member's notification is
// ErrNotFound.
func (s *Store) ReadNotification(ctx context.Context, recipientID, id ID) (*Notification, error) {
	n := new(Notification)
	now := time.Now().UTC()
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(n).Where("id = ? AND recipient_id = ?", id, recipientID).Scan(ctx); err != nil {
			return notFound(err, "notification "+id.String())
		}
		if n.ReadAt != nil {
			return nil
		}
		n.ReadAt = &now
		res, err := tx.NewUpdate().Model((*Notification)(nil)).Set("read_at = ?", now).
			Where("id = ? AND read_at IS NULL", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("mark read: %w", err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			return addUnread(ctx, tx, recipientID, -k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read notification: %w", err)
	}
	return n, nil
}

// ReadAllNotifications marks every notification of a member read up to
// and including id upTo (0: all of them), so a notification that arrives
// while the member presses the button stays unread. It returns how many
// it marked.
func (s *Store) ReadAllNotifications(ctx context.Context, recipientID, upTo ID) (int64, error) {
	now := time.Now().UTC()
	return txValue(ctx, s, "read notifications of "+recipientID.String(), func(ctx context.Context, tx bun.Tx) (int64, error) {
		q := tx.NewUpdate().Model((*Notification)(nil)).Set("read_at = ?", now).
			Where("recipient_id = ? AND read_at IS NULL", recipientID)
		if upTo > 0 {
			q = q.Where("id <= ?", upTo)
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return 0, fmt.Errorf("mark all read: %w", err)
		}
		k, _ := res.RowsAffected()
		if k > 0 {
			return k, addUnread(ctx, tx, recipientID, -k)
		}
		return 0, nil
	})
}

// addUnread moves a member's unread count by delta, never below zero.
func addUnread(ctx context.Context, tx bun.Tx, accountID ID, delta int64) error {
	_, err := tx.NewRaw(`UPDATE accounts SET unread_notifications =
			CASE WHEN unread_notifications + ? < 0 THEN 0 ELSE unread_notifications + ? END WHERE id = ?`,
		delta, delta, accountID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("count unread notifications: %w", err)
	}
	return nil
}

// Delivery of a kind of notification (NotificationPrefs).
const (
	DeliverWeb    = "web"    // the notifications page only
	DeliverMail   = "mail"   // and a mail soon after
	DeliverDigest = "digest" // and the daily digest mail
)

// DefaultDelivery is how a kind is delivered to a member who chose
// nothing: mentions and replies by mail, the rest on the web only.
func DefaultDelivery(kind string) string {
	switch kind {
	case NotifyMention, NotifyReply:
		return DeliverMail
	}
	return DeliverWeb
}

// NotificationPref is one member's choice for one kind.
type NotificationPref struct {
	bun.BaseModel `bun:"table:notification_prefs"`

	AccountID ID     `bun:"account_id,pk"`
	Kind      string `bun:"kind,pk"`
	Delivery  string `bun:"delivery"`
}

// NotificationPrefs returns how each kind is delivered to a member: their
// choice, or the kind's DefaultDelivery.
func (s *Store) NotificationPrefs(ctx context.Context, accountID ID) (map[string]string, error) {
	return notificationPrefs(ctx, s.r, accountID)
}

func notificationPrefs(ctx context.Context, db bun.IDB, accountID ID) (map[string]string, error) {
	var rows []NotificationPref
	if err := db.NewSelect().Model(&rows).Where("account_id = ?", accountID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("notification preferences of %s: %w", accountID, err)
	}
	out := make(map[string]string, len(NotificationKinds))
	for _, k := range NotificationKinds {
		out[k] = DefaultDelivery(k)
	}
	for _, r := range rows {
		out[r.Kind] = r.Delivery
	}
	return out, nil
}

// SetNotificationPrefs records how a member wants each kind in prefs
// delivered, in one transaction: all or none.
func (s *Store) SetNotificationPrefs(ctx context.Context, accountID ID, prefs map[string]string) error {
	for kind := range prefs {
		if KindNames[kind] == "" {
			return invalid("kind", "unknown notification kind %q", kind)
		}
	}
	return s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		for _, kind := range NotificationKinds {
			if d, ok := prefs[kind]; ok {
				if err := setNotificationPref(ctx, tx, accountID, kind, d); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// SetNotificationPref records how a member wants a kind delivered.
func (s *Store) SetNotificationPref(ctx context.Context, accountID ID, kind, delivery string) error {
	return setNotificationPref(ctx, s.w, accountID, kind, delivery)
}

func setNotificationPref(ctx context.Context, db bun.IDB, accountID ID, kind, delivery string) error {
	if KindNames[kind] == "" {
		return invalid("kind", "unknown notification kind %q", kind)
	}
	if delivery != DeliverWeb && delivery != DeliverMail && delivery != DeliverDigest {
		return invalid("delivery", "delivery %q: want web, mail or digest", delivery)
	}
	_, err := db.NewInsert().Model(&NotificationPref{AccountID: accountID, Kind: kind, Delivery: delivery}).
		On("CONFLICT (account_id, kind) DO UPDATE").Set("delivery = EXCLUDED.delivery").Exec(ctx)
	if err != nil {
		return fmt.Errorf("set notification preference: %w", err)
	}
	return nil
}
