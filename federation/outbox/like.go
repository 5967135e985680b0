package outbox

import (
	"context"

	"github.com/skein-forum/skein/federation"
	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// likeChanged: a member's Like of a remote post (or its Undo) goes to the
// post's author and, in a mirror thread, to the thread's owner. Likes of
// local posts stay here: the Note's likes collection counts them.
func (w *Worker) likeChanged(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	liker, err := w.member(ctx, ev.AccountID)
	if err != nil || liker == nil {
		return nil, err
	}
	sc, err := w.load(ctx, ev)
	if err != nil || sc == nil || sc.post.APID == nil || sc.local() {
		return nil, err
	}
	var to []storage.Recipient
	to = w.appendActor(to, sc.post.Author, false)
	to = w.appendActor(to, sc.owner, false)
	from := w.memberSender(liker)
	author := federation.AccountIRI(w.urls, sc.post.Author)
	likeEvent := ev.ID
	if ev.Kind == storage.EventLikeDelete {
		if likeEvent, err = w.store.LastLikeEvent(ctx, liker.ID, sc.post.ID, ev.ID); err != nil {
			return nil, err
		}
	}
	likeID := from.id + "#like-" + likeEvent.String()
	if likeEvent == 0 {
		likeID = from.id + "#like-" + sc.post.ID.String() // liked before the outbox existed
	}
	like := &as.Activity{ID: likeID, Type: "Like", Actor: from.id, To: []string{author}, Cc: []string{}, Object: *sc.post.APID}
	var b batch
	if ev.Kind == storage.EventLikeCreate {
		err = b.add(from, like, to)
	} else {
		err = b.add(from, &as.Activity{ID: from.id + eventFragment("undo", ev), Type: "Undo", Actor: from.id,
			To: []string{author}, Cc: []string{}, Object: like}, to)
	}
	return b.acts, err
}
