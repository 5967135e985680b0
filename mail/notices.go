package mail

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// NoticeWorker turns members' notifications into mail: at once (a few
// minutes after they happened, leaving out what was read on the web
// meanwhile) or in a daily digest at the hour of the member's day they
// chose, each as the member's preferences say
// ([storage.Store.MailNotices], [storage.Store.MailDigest]). It only
// queues mail; the [Worker] sends it. Several processes may run one each.
type NoticeWorker struct {
	Store    *storage.Store
	Composer *Composer
	Log      *slog.Logger
	// Off: mail is off. Notifications are still looked at (and marked
	// so), but nothing is queued.
	Off bool
	// Queued, when set, hears that mail was queued (to wake the sender).
	Queued func()

	Delay time.Duration    // how long a notification waits for its mail; default 10 min
	Poll  time.Duration    // how often to look; default 1 min
	Clock func() time.Time // default time.Now

	once sync.Once
}

// DefaultNoticeDelay is how long a notification waits before it is
// mailed at once: long enough for a member who is on the site to read it
// there, short enough to still be news.
const DefaultNoticeDelay = 10 * time.Minute

const (
	defaultNoticePoll = time.Minute
	noticeMembers     = 50 // members looked at per query
)

func (w *NoticeWorker) defaults() {
	w.once.Do(func() {
		if w.Log == nil {
			w.Log = slog.Default()
		}
		w.Delay = positive(w.Delay, DefaultNoticeDelay)
		w.Poll = positive(w.Poll, defaultNoticePoll)
		if w.Clock == nil {
			w.Clock = time.Now
		}
	})
}

// Run looks for notification mail to queue every Poll until ctx ends.
func (w *NoticeWorker) Run(ctx context.Context) {
	w.defaults()
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	for {
		if _, err := w.Step(ctx); err != nil && ctx.Err() == nil {
			w.Log.Error("notification mail", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Step queues every notification mail and digest due now by the Clock,
// and returns how many mails it queued.
func (w *NoticeWorker) Step(ctx context.Context) (int, error) {
	w.defaults()
	compose := w.compose
	if w.Off || w.Composer == nil {
		compose = nil
	}
	queued := 0
	count := func(ok bool) {
		if ok {
			queued++
		}
	}
	defer func() {
		if queued > 0 && w.Queued != nil {
			w.Queued()
		}
	}()
	// A member whose mail fails (the database, a template) is logged and
	// left for the next step; the others go on.
	failed := false
	each := func(ids []storage.ID, what string, do func(storage.ID, storage.NoticeMail) (bool, error)) {
		for _, id := range ids {
			ok, err := do(id, compose)
			if errors.Is(err, storage.ErrInvalid) {
				// A mail that can never be made: drop it, not the
				// member's later ones.
				w.Log.Error(what+" dropped", "account", id, "err", err)
				ok, err = do(id, nil)
			}
			if err != nil {
				failed = true
				if ctx.Err() == nil {
					w.Log.Error(what, "account", id, "err", err)
				}
				continue
			}
			count(ok)
		}
	}
	for ctx.Err() == nil && !failed {
		now := w.Clock()
		cutoff := now.Add(-w.Delay)
		ids, err := w.Store.NoticeRecipients(ctx, cutoff, noticeMembers)
		if err != nil {
			return queued, err
		}
		each(ids, "notification mail", func(id storage.ID, compose storage.NoticeMail) (bool, error) {
			return w.Store.MailNotices(ctx, id, cutoff, now, compose)
		})
		if len(ids) < noticeMembers {
			break
		}
	}
	failed = false
	for ctx.Err() == nil && !failed {
		now := w.Clock()
		ids, err := w.Store.DueDigests(ctx, now, noticeMembers)
		if err != nil {
			return queued, err
		}
		each(ids, "digest", func(id storage.ID, compose storage.NoticeMail) (bool, error) {
			return w.Store.MailDigest(ctx, id, now, compose)
		})
		if len(ids) < noticeMembers {
			break
		}
	}
	return queued, ctx.Err()
}

// compose makes a member's notification mail or digest. A mail about one
// kind of notification unsubscribes from that kind; one about several,
// from all mail at once; a digest, from the digest.
func (w *NoticeWorker) compose(a *storage.Account, entries []storage.NotificationEntry, digest bool) (storage.NewMail, error) {
	scope := storage.UnsubscribeDigest
	if !digest {
		scope = storage.UnsubscribeKind(entries[0].Kind)
		for _, e := range entries {
			if e.Kind != entries[0].Kind {
				scope = storage.UnsubscribeMail
			}
		}
	}
	items := make([]NoticeItem, 0, len(entries))
	for i := range entries {
		items = append(items, w.Composer.noticeItem(&entries[i]))
	}
	return w.Composer.Notifications(a, items, digest, scope)
}

// noticeItem is a notification as mail lists it.
func (c *Composer) noticeItem(e *storage.NotificationEntry) NoticeItem {
	it := NoticeItem{What: storage.KindVerbs[e.Kind], Thread: e.ThreadTitle, Link: c.urls.Abs("/notifications")}
	if it.What == "" {
		it.What = "notified you about"
	}
	if e.Actor != nil {
		it.Actor = e.Actor.Name()
		if !e.Actor.IsLocal() {
			it.Actor += " (" + e.Actor.Acct() + ")"
		}
	}
	if e.Post != nil && !e.Post.IsDeleted() {
		it.Excerpt = e.Post.Description(200)
		it.Link = c.urls.Abs(site.PostPath(e.Post.ID))
	}
	if e.Kind == storage.NotifyFollow {
		it.Thread = ""
	}
	return it
}
