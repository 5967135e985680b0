package inbox

import (
	"context"
	"errors"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// applyUndo withdraws a follow or a like the signer made.
func (in *Inbox) applyUndo(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	obj := act.Object
	if obj.ID != "" && !as.SameHost(obj.ID, signer.Domain) {
		return ignore("undo of %s, which is not the signer's", obj.ID)
	}
	switch obj.Type {
	case "Follow":
		if who := as.ID(obj.Raw["actor"]); who != *signer.APID {
			return ignore("undo of a follow by %s", who)
		}
		target, err := in.localFollowTarget(ctx, as.ID(obj.Raw["object"]))
		if err != nil {
			return err
		}
		if target.kind == "" {
			return ignore("undo of a follow of %s, which nobody follows", target.actorID)
		}
		_, err = in.store.RemoveFollow(ctx, signer.ID, target.kind, target.id)
		return err
	case "Like":
		if _, err := in.store.UnlikeByAPID(ctx, obj.ID, signer.ID); !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		// Liked before we kept ids, or with another id: undo by post.
		post, err := in.localPost(ctx, as.ID(obj.Raw["object"]))
		if err != nil {
			return err
		}
		_, err = in.store.UnlikePost(ctx, post.ID, signer.ID)
		return err
	case "":
		// A bare id: whichever of the signer's follows or likes has it.
		if f, err := in.store.FollowByAPID(ctx, obj.ID); err == nil {
			if f.FollowerID != signer.ID {
				return ignore("undo of someone else's follow")
			}
			_, err = in.store.RemoveFollow(ctx, f.FollowerID, f.TargetKind, f.TargetID)
			return err
		}
		_, err := in.store.UnlikeByAPID(ctx, obj.ID, signer.ID)
		return err
	}
	return ignore("undo of a %s", obj.Type)
}
