package inbox

import (
	"context"
	"errors"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// applyAccept records a remote actor's Accept of a follow a member sent
// it.
func (in *Inbox) applyAccept(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	return in.answered(ctx, act, signer, true)
}

// applyReject records a remote actor's Reject of a follow a member sent
// it: the follow goes.
func (in *Inbox) applyReject(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	return in.answered(ctx, act, signer, false)
}

// answered records the answer to a member's Follow.
func (in *Inbox) answered(ctx context.Context, act *as.Incoming, signer *storage.Account, accepted bool) error {
	var f *storage.Follow
	if act.Object.ID != "" {
		f, _ = in.store.FollowByAPID(ctx, act.Object.ID)
	}
	if f == nil && act.Object.Raw != nil {
		// Some servers answer with a Follow of their own making: match it
		// by who followed whom.
		if prefix, handle := localPath(in, as.ID(act.Object.Raw["actor"])); prefix == "u" {
			if m, err := in.store.MemberByHandle(ctx, handle); err == nil {
				f, _ = in.store.FollowOf(ctx, m.ID, storage.FollowAccount, signer.ID)
			}
		}
	}
	if f == nil && !accepted {
		return in.rejectedActivity(ctx, act, signer)
	}
	if f == nil {
		return ignore("%s of no follow we sent", act.Type)
	}
	if f.TargetKind != storage.FollowAccount || f.TargetID != signer.ID {
		return ignore("%s by someone other than the followed actor", act.Type)
	}
	if accepted {
		return in.store.AcceptFollow(ctx, f.FollowerID, f.TargetKind, f.TargetID)
	}
	_, err := in.store.RemoveFollow(ctx, f.FollowerID, f.TargetKind, f.TargetID)
	return err
}

// rejectedActivity stops the delivery of an activity of ours that a peer
// refused with a Reject: NodeBB answers so an Announce of a topic it has
// already (and holds the POST open meanwhile), and retrying it for days
// would change nothing. The jobs for the signer's server go.
func (in *Inbox) rejectedActivity(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	id := act.Object.ID
	if prefix, _ := localPath(in, id); prefix == "" {
		return ignore("reject of %s, which is neither a follow we sent nor an activity of ours", id)
	}
	a, err := in.store.ActivityByAPID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return ignore("reject of %s, which is not queued here", id)
	}
	if err != nil {
		return err
	}
	n, err := in.store.DropDeliveries(ctx, a.ID, signer.Domain)
	if err != nil {
		return err
	}
	in.log.Info("delivery rejected by peer", "activity", id, "actor", *signer.APID, "host", signer.Domain, "jobs_dropped", n)
	return nil
}
