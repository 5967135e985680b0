package outbox

import (
	"context"
	"errors"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// reportForwarded: a Flag from the instance actor to the reported
// author's server, so its moderators see the report too.
func (w *Worker) reportForwarded(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	r, err := w.store.ReportByID(ctx, ev.ReportID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	author := r.Account
	if author == nil || author.IsLocal() || author.APID == nil {
		return nil, nil
	}
	objects := []string{*author.APID}
	to := w.appendActor(nil, author, false)
	if r.Post != nil && r.Post.APID != nil {
		objects = append(objects, *r.Post.APID)
		if t, err := w.store.ThreadByID(ctx, r.Post.ThreadID); err == nil {
			// Lemmy and the like moderate in the community: tell it too.
			owner, err := w.Fed.MirrorOwner(ctx, t)
			if err != nil {
				return nil, err
			}
			to = w.appendActor(to, owner, false)
		}
	}
	from := sender{id: w.urls.InstanceActor(), kind: storage.KeyOwnerInstance}
	flag := &as.Flag{Context: as.LDContext(), ID: from.id + eventFragment("flag", ev), Type: "Flag",
		Actor: from.id, Content: r.Reason, Object: objects, To: []string{*author.APID}}
	var b batch
	err = b.addDoc(from, flag.ID, flag, to)
	return b.acts, err
}

// accountDeleted: Delete{Person} from the deleted member to every server
// the node knows. The member's follows are gone with the account, so
// nobody narrower can be found; Mastodon does the same. Their key stays,
// so the Delete is signed by them.
func (w *Worker) accountDeleted(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	a, err := w.member(ctx, ev.AccountID)
	if err != nil || a == nil {
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
