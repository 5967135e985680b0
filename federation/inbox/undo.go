package inbox

import (
	"context"
	"errors"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// applyUndo withdraws a follow, a like or a boost the signer made. An
// Undo of something not stored here leaves a tombstone: the Follow, Like
// or Announce may still be on its way, and is refused when it comes
// (see [Inbox.withdrawn]).
func (in *Inbox) applyUndo(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	obj := act.Object
	if obj.ID != "" && !as.SameHost(obj.ID, signer.Domain) {
		return ignore("undo of %s, which is not the signer's", obj.ID)
	}
	var undone bool
	var err error
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
		undone, err = in.store.RemoveFollow(ctx, signer.ID, target.kind, target.id)
		if err != nil {
			return err
		}
	case "Like":
		undone, err = in.undoLike(ctx, obj, signer)
		if err != nil {
			return err
		}
	case "Announce":
		// A boost leaves nothing to take back here but its notification;
		// one not applied yet is refused when it comes.
	case "":
		// A bare id: whichever of the signer's follows or likes has it.
		if f, err := in.store.FollowByAPID(ctx, obj.ID); err == nil {
			if f.FollowerID != signer.ID {
				return ignore("undo of someone else's follow")
			}
			_, err = in.store.RemoveFollow(ctx, f.FollowerID, f.TargetKind, f.TargetID)
			return err
		}
		undone, err = in.store.UnlikeByAPID(ctx, obj.ID, signer.ID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	default:
		return ignore("undo of a %s", obj.Type)
	}
	if undone || obj.ID == "" {
		return nil
	}
	if err := in.store.AddTombstone(ctx, signer.ID, obj.ID); err != nil {
		return err
	}
	return ignore("undo of %s, which is not stored here: kept as a tombstone", obj.ID)
}

// undoLike removes the like an Undo names, by the Like's id or, for one
// liked before ids were kept or with another id, by its post.
func (in *Inbox) undoLike(ctx context.Context, obj as.Object, signer *storage.Account) (bool, error) {
	undone, err := in.store.UnlikeByAPID(ctx, obj.ID, signer.ID)
	if !errors.Is(err, storage.ErrNotFound) {
		return undone, err
	}
	post, err := in.localPost(ctx, as.ID(obj.Raw["object"]))
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, errIgnored) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return in.store.UnlikePost(ctx, post.ID, signer.ID)
}

// withdrawn refuses a Follow, Like or Announce whose Undo came first.
func (in *Inbox) withdrawn(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	if act.ID == "" {
		return nil
	}
	if gone, err := in.store.Tombstoned(ctx, signer.ID, act.ID); err != nil {
		return err
	} else if gone {
		return ignore("%s %s was undone before it arrived", act.Type, act.ID)
	}
	return nil
}
