package inbox

import (
	"context"
	"errors"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// applyDelete deletes a Note by its author, or, when an actor deletes
// itself, every post it wrote and every follow it made.
func (in *Inbox) applyDelete(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	id := act.Object.ID
	if id == *signer.APID {
		n, err := in.store.DeletePostsByAuthor(ctx, signer.ID)
		if err != nil {
			return err
		}
		if _, err := in.store.RemoveFollowsBy(ctx, signer.ID); err != nil {
			return err
		}
		in.log.Info("remote actor deleted itself", "actor", id, "posts", n)
		return nil
	}
	post, err := in.store.PostByAPID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		if !as.SameHost(id, signer.Domain) {
			return ignore("delete of %s, which is not stored here and not the signer's", id)
		}
		// The Create may still be on its way: it is refused when it
		// comes. Should another actor's Announce of the Note have stored
		// it meanwhile, it goes now.
		if err := in.store.AddTombstone(ctx, signer.ID, id); err != nil {
			return err
		}
		if post, err = in.store.PostByAPID(ctx, id); errors.Is(err, storage.ErrNotFound) {
			return ignore("delete of %s, which is not stored here: kept as a tombstone", id)
		} else if err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if post.AuthorID != signer.ID {
		return ignore("delete of %s by someone other than its author", id)
	}
	return in.store.DeletePost(ctx, post.ID)
}

// lateDelete deletes a post just stored from someone other than its
// author (a group's announce, a backfill) if the author's Delete overtook
// it. Activities of different actors are applied concurrently: the
// Delete may have found nothing and left its tombstone while the post was
// being stored. Each side looks again after its own write (applyDelete
// for the post, this for the tombstone), so one of them sees the other.
func (in *Inbox) lateDelete(ctx context.Context, p *storage.Post, apID string) error {
	gone, err := in.store.Tombstoned(ctx, p.AuthorID, apID)
	if err != nil || !gone {
		return err
	}
	if err := in.store.DeletePost(ctx, p.ID); err != nil {
		return err
	}
	return ignore("note %s was deleted by its author while it was stored", apID)
}
