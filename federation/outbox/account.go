package outbox

import (
	"context"
	"errors"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// accountDeleted: Delete{Person} from the deleted member to every server
// the node knows. The member's follows are gone with the account, so
// nobody narrower can be found; Mastodon does the same. Their key stays,
// so the Delete is signed by them.
func (w *Worker) accountDeleted(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	a, err := w.store.AccountByID(ctx, ev.AccountID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil || !a.IsLocal() {
		return nil, err
	}
	var to []storage.Recipient
	after := ""
	for {
		page, err := w.store.KnownInboxes(ctx, after, followersPage)
		if err != nil {
			return nil, err
		}
		for _, k := range page {
			if !w.Fed.Blocked(k.Domain) && !w.Fed.Blocked(as.HostOf(k.Inbox)) {
				to = append(to, storage.Recipient{Inbox: k.Inbox})
			}
		}
		if len(page) < followersPage {
			break
		}
		after = page[len(page)-1].Inbox
	}
	from := w.memberSender(a)
	del := &as.Activity{ID: from.id + eventFragment("delete", ev), Type: "Delete", Actor: from.id,
		Published: as.FormatTime(time.Now()), To: []string{as.Public}, Cc: []string{}, Object: from.id}
	var b batch
	err = b.add(from, del, to)
	return b.acts, err
}
