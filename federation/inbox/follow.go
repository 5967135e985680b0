package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// applyFollow accepts a follow of a member, forum or thread at once and
// answers with a signed Accept; a silenced follower's waits for approval.
// A Follow of a local actor that will not be honoured is answered with a
// Reject, or the follower would show "requested" forever.
func (in *Inbox) applyFollow(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	target, err := in.localFollowTarget(ctx, act.Object.ID)
	if err != nil {
		return err
	}
	if target.refusal == "" && act.ID == "" {
		target.refusal = "the Follow has no id to undo it by"
	}
	if target.refusal != "" {
		if err := in.answerFollow(ctx, "Reject", act, target, signer); err != nil {
			return err
		}
		return ignore("follow of %s rejected: %s", target.actorID, target.refusal)
	}
	if held, err := in.holdFollow(ctx, act, signer, target); held || err != nil {
		return err // silenced: waits for a moderator
	}
	if _, err := in.store.AddFollow(ctx, signer.ID, target.kind, target.id, &act.ID, true); err != nil {
		return err
	}
	return in.answerFollow(ctx, "Accept", act, target, signer)
}

// answerFollow queues an Accept or Reject of a Follow, signed by the
// followed actor and sent to the follower's own inbox. The Follow is
// embedded: Mastodon matches it by id, others by actor and object.
func (in *Inbox) answerFollow(ctx context.Context, kind string, act *as.Incoming, target *followTarget, follower *storage.Account) error {
	id := target.actorID + "#" + strings.ToLower(kind) + "s/" + in.store.NewID().String()
	follow := map[string]any{"type": "Follow", "actor": *follower.APID, "object": target.actorID}
	if act.ID != "" {
		follow["id"] = act.ID
	}
	body, err := json.Marshal(map[string]any{
		"@context": as.LDContext(),
		"id":       id,
		"type":     kind,
		"actor":    target.actorID,
		"object":   follow,
	})
	if err != nil {
		return err
	}
	err = in.store.EnqueueActivities(ctx, []storage.NewActivity{{
		APID: id, ActorID: target.actorID, KeyOwnerKind: target.keyKind, KeyOwnerID: target.keyOwner, Body: body,
		Inboxes: []storage.Recipient{{Inbox: follower.Inbox, FollowerID: follower.ID}},
	}})
	if err != nil {
		return err
	}
	if in.deliveryQueued != nil {
		in.deliveryQueued()
	}
	return nil
}

// holdFollow records a silenced actor's follow as pending and answers
// nothing until a moderator answers it (AnswerFollowRequest). A
// follow approved once stays accepted when the Follow comes again.
func (in *Inbox) holdFollow(ctx context.Context, act *as.Incoming, signer *storage.Account, target *followTarget) (bool, error) {
	policy, err := in.store.ActorPolicy(ctx, signer)
	if err != nil || policy != storage.SeveritySilence {
		return false, err
	}
	if f, err := in.store.FollowOf(ctx, signer.ID, target.kind, target.id); err == nil && f.Accepted {
		return false, nil
	}
	if _, err := in.store.AddFollow(ctx, signer.ID, target.kind, target.id, &act.ID, false); err != nil {
		return true, err
	}
	in.log.Info("follow from a silenced actor awaits approval", "actor", act.Actor, "target", target.actorID)
	return true, nil
}

// AnswerFollowRequest settles a follow held for approval: approve marks
// it accepted and sends the follower the Accept it waited for; otherwise
// the follow goes and the follower gets a Reject. The admin members page
// calls it.
func (in *Inbox) AnswerFollowRequest(ctx context.Context, followID storage.ID, approve bool) error {
	f, err := in.store.FollowByID(ctx, followID)
	if err != nil {
		return err
	}
	if f.Accepted || f.APID == nil {
		return &storage.Invalid{Msg: fmt.Sprintf("follow %s waits for no approval", followID)}
	}
	follower, err := in.store.AccountByID(ctx, f.FollowerID)
	if err != nil {
		return err
	}
	if follower.IsLocal() || follower.APID == nil {
		return &storage.Invalid{Msg: fmt.Sprintf("follow %s is not a remote actor's", followID)}
	}
	target, err := in.followTargetByID(ctx, f.TargetKind, f.TargetID)
	if err != nil {
		return err
	}
	// The answer is queued first: should the change that follows fail,
	// the moderator answers again and the follower gets a second copy,
	// which is harmless; the other order could leave it never told.
	act := &as.Incoming{ID: *f.APID, Actor: *follower.APID}
	if !approve {
		if err := in.answerFollow(ctx, "Reject", act, target, follower); err != nil {
			return err
		}
		_, err := in.store.RemoveFollow(ctx, f.FollowerID, f.TargetKind, f.TargetID)
		return err
	}
	if err := in.answerFollow(ctx, "Accept", act, target, follower); err != nil {
		return err
	}
	return in.store.AcceptFollow(ctx, f.FollowerID, f.TargetKind, f.TargetID)
}

// followTarget is a local actor a remote actor may follow.
type followTarget struct {
	kind     string // storage.FollowAccount, FollowForum or FollowThread; "" for the instance actor
	id       storage.ID
	actorID  string
	keyKind  string // storage.KeyOwner*
	keyOwner storage.ID
	refusal  string // why a Follow of it is rejected; "" when it is followable
}

// localFollowTarget finds the member, forum, thread or instance actor
// with ActivityPub id iri. A local actor nobody may follow comes back
// with its refusal set, so that the Follow is rejected in its name; an
// iri that names no local actor is an error (there is nobody to answer
// for).
func (in *Inbox) localFollowTarget(ctx context.Context, iri string) (*followTarget, error) {
	prefix, name := localPath(in, iri)
	switch prefix {
	case "u":
		a, err := in.store.MemberByHandle(ctx, name)
		if err != nil {
			return nil, err
		}
		ft := &followTarget{storage.FollowAccount, a.ID, in.urls.Member(a.Handle), storage.KeyOwnerMember, a.ID, ""}
		switch {
		case a.ApprovalPending:
			// Not yet a member: unknown to the fediverse until approved.
			ft.refusal = "the registration awaits approval"
		case a.Suspended:
			ft.refusal = "the member is suspended"
		case a.DeletedAt != nil:
			ft.refusal = "the member deleted their account"
		}
		return ft, nil
	case "f":
		f, err := in.store.ForumBySlug(ctx, name)
		if err != nil {
			return nil, err
		}
		ft := &followTarget{storage.FollowForum, f.ID, in.urls.Forum(f.Slug), storage.KeyOwnerForum, f.ID, ""}
		if f.Hidden {
			ft.refusal = "the forum of mirrored threads announces nothing"
		}
		return ft, nil
	case "t":
		t, err := in.ownThread(ctx, name)
		if err != nil {
			return nil, err
		}
		ft := &followTarget{storage.FollowThread, t.ID, in.urls.Thread(t.ID), storage.KeyOwnerThread, t.ID, ""}
		if t.DeletedAt != nil {
			ft.refusal = "the thread is deleted"
		}
		return ft, nil
	case "actor":
		if name == "" {
			return &followTarget{"", 0, in.urls.InstanceActor(), storage.KeyOwnerInstance, 0,
				"the instance actor takes no followers"}, nil
		}
	}
	return nil, ignore("%s is not a followable local actor", iri)
}

// followTargetByID is localFollowTarget from a follow row.
func (in *Inbox) followTargetByID(ctx context.Context, kind string, id storage.ID) (*followTarget, error) {
	switch kind {
	case storage.FollowAccount:
		a, err := in.store.AccountByID(ctx, id)
		if err != nil {
			return nil, err
		}
		return &followTarget{kind, id, in.urls.Member(a.Handle), storage.KeyOwnerMember, id, ""}, nil
	case storage.FollowForum:
		f, err := in.fed.Forum(ctx, id)
		if err != nil {
			return nil, err
		}
		return &followTarget{kind, id, in.urls.Forum(f.Slug), storage.KeyOwnerForum, id, ""}, nil
	case storage.FollowThread:
		return &followTarget{kind, id, in.urls.Thread(id), storage.KeyOwnerThread, id, ""}, nil
	}
	return nil, storage.ErrInvalid
}
