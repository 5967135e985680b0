package storage

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// What an unsubscribe link stops. Mail about the account itself (address
// verification, password reset, a changed address) has no such link: it
// is sent only when the member acts or must know.
const (
	// UnsubscribeApplications: an admin stops mail about registrations
	// waiting for approval.
	UnsubscribeApplications = "applications"
	// UnsubscribeMail: a member stops every kind of notification they get
	// by mail soon after it happens (those kinds go to the web only).
	UnsubscribeMail = "mail"
	// UnsubscribeDigest: a member stops the daily digest (every kind in
	// it goes to the web only).
	UnsubscribeDigest = "digest"
	// unsubscribeKind + a kind stops the mail of that kind of
	// notification alone; see [UnsubscribeKind].
	unsubscribeKind = "kind-"
)

// UnsubscribeKind is the scope that stops mail about one kind of
// notification.
func UnsubscribeKind(kind string) string { return unsubscribeKind + kind }

// KindNames says, for each kind of notification, what the settings page
// and unsubscribe pages call it.
var KindNames = map[string]string{
	NotifyMention:     "mentions of you",
	NotifyReply:       "replies to your posts",
	NotifyQuote:       "quotes of your posts",
	NotifyLike:        "likes of your posts",
	NotifyFollow:      "new followers",
	NotifyAnnounce:    "boosts of your posts",
	NotifyThreadPost:  "new posts in threads you follow",
	NotifyForumThread: "new threads in forums you follow",
}

// KindVerbs says what each kind of notification tells of its actor, on
// the notifications page and in mail: "Alice mentioned you in ...".
var KindVerbs = map[string]string{
	NotifyMention:     "mentioned you in",
	NotifyReply:       "replied to your post in",
	NotifyQuote:       "quoted your post in",
	NotifyLike:        "liked your post in",
	NotifyAnnounce:    "boosted your post in",
	NotifyFollow:      "followed you",
	NotifyThreadPost:  "posted in",
	NotifyForumThread: "started a thread:",
}

// DescribeUnsubscribe says what the mail of scope is, for the
// confirmation page; ok is false for a scope this node does not know.
func DescribeUnsubscribe(scope string) (what string, ok bool) {
	switch scope {
	case UnsubscribeApplications:
		return "mail about registrations waiting for approval", true
	case UnsubscribeMail:
		return "mail about notifications soon after they happen", true
	case UnsubscribeDigest:
		return "the daily digest of notifications", true
	}
	if kind, found := strings.CutPrefix(scope, unsubscribeKind); found && KindNames[kind] != "" {
		return "mail about " + KindNames[kind], true
	}
	return "", false
}

// Unsubscribe stops the mail of scope for a member. Notification mail
// stops by moving the kinds it is about to the web only, so the
// notifications page shows the member's choice.
func (s *Store) Unsubscribe(ctx context.Context, accountID ID, scope string) error {
	if _, ok := DescribeUnsubscribe(scope); !ok {
		return invalid("scope", "unknown mail scope %q", scope)
	}
	err := s.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if scope == UnsubscribeApplications {
			_, err := tx.NewUpdate().Model((*Account)(nil)).Set("mail_applications = ?", false).
				Where("id = ? AND domain = ''", accountID).Exec(ctx)
			return err
		}
		prefs, err := notificationPrefs(ctx, tx, accountID)
		if err != nil {
			return err
		}
		for _, kind := range NotificationKinds {
			stop := scope == UnsubscribeKind(kind) && prefs[kind] != DeliverWeb ||
				scope == UnsubscribeMail && prefs[kind] == DeliverMail ||
				scope == UnsubscribeDigest && prefs[kind] == DeliverDigest
			if stop {
				if err := setNotificationPref(ctx, tx, accountID, kind, DeliverWeb); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("unsubscribe %s from %s: %w", accountID, scope, err)
	}
	return nil
}

// SetMailApplications turns an admin's mail about registrations on or
// off (the settings page).
func (s *Store) SetMailApplications(ctx context.Context, accountID ID, on bool) error {
	return s.setMember(ctx, accountID, "mail_applications", on)
}
