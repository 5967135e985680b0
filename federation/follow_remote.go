package federation

import (
	"context"
	"errors"
	"strings"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// Members following remote actors: a remote thread (a Skein thread or a
// Lemmy post's community), a forum or a person. The follow waits for the
// remote Accept (the inbox marks it accepted); what the actor then
// announces lands in mirror threads here.

// resolveTimeout bounds the lookup of what a member asked to follow.
const resolveTimeout = 8 * time.Second

// ErrNotFollowing means a member asked to unfollow an actor they do not
// follow.
var ErrNotFollowing = errors.New("not following")

// FollowRemote resolves what a member typed (an actor's or thread's
// address as a URL, or @name@host) and sends the remote actor a Follow
// signed by the member. Following again resends the Follow while it
// waits for its Accept, and does nothing once accepted.
func (s *Server) FollowRemote(ctx context.Context, member *storage.Account, query string) (*storage.Account, error) {
	if member == nil || !member.IsLocal() {
		return nil, &storage.Invalid{Msg: "only members follow"}
	}
	q := strings.TrimSpace(query)
	// The member waits on the page: WebFinger (over https, then http when
	// allowed) and the actor fetch share one bound, well under the 10 s a
	// page may take, however slowly the other server answers.
	rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	var target *storage.Account
	var err error
	switch {
	case strings.HasPrefix(q, "https://") || strings.HasPrefix(q, "http://"):
		target, err = s.ResolveURL(rctx, q)
	case strings.Count(q, "@") >= 1 && !strings.ContainsAny(q, "/ "):
		target, err = s.ResolveHandle(rctx, q)
	default:
		return nil, &storage.Invalid{Field: "q", Msg: "type an address like https://forum.example/t/abc or @name@server.example"}
	}
	if err != nil {
		return nil, err
	}
	if target.Inbox == "" {
		return nil, &storage.Invalid{Field: "q", Msg: target.Acct() + " has no inbox"}
	}
	existing, err := s.store.FollowOf(ctx, member.ID, storage.FollowAccount, target.ID)
	switch {
	case err == nil && existing.Accepted:
		return target, nil
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return nil, err
	}
	actor := s.urls.Member(member.Handle)
	apID := actor + "#follow-" + s.store.NewID().String()
	if _, err := s.store.AddFollow(ctx, member.ID, storage.FollowAccount, target.ID, &apID, false); err != nil {
		return nil, err
	}
	if err := s.enqueue(ctx, member, followActivity(apID, actor, *target.APID), target); err != nil {
		// The follow stays pending; following again resends it.
		return nil, err
	}
	return target, nil
}

// UnfollowRemote removes a member's follow of a remote actor and sends
// Undo{Follow}, embedding the Follow it undoes.
func (s *Server) UnfollowRemote(ctx context.Context, member *storage.Account, remoteID storage.ID) error {
	f, err := s.store.FollowOf(ctx, member.ID, storage.FollowAccount, remoteID)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNotFollowing
	}
	if err != nil {
		return err
	}
	target, err := s.store.AccountByID(ctx, remoteID)
	if err != nil {
		return err
	}
	if _, err := s.store.RemoveFollow(ctx, member.ID, storage.FollowAccount, remoteID); err != nil {
		return err
	}
	if target.IsLocal() || target.APID == nil || target.Inbox == "" {
		return nil
	}
	actor := s.urls.Member(member.Handle)
	followID := actor + "#follow"
	if f.APID != nil {
		followID = *f.APID
	}
	follow := followActivity(followID, actor, *target.APID)
	undo := &as.Activity{ID: actor + "#undo-follow-" + s.store.NewID().String(), Type: "Undo", Actor: actor,
		To: []string{*target.APID}, Cc: []string{}, Object: follow}
	return s.enqueue(ctx, member, undo, target)
}

func followActivity(id, actor, object string) *as.Activity {
	return &as.Activity{ID: id, Type: "Follow", Actor: actor, To: []string{object}, Cc: []string{}, Object: object}
}

// enqueue queues a member's activity for one remote actor's own inbox.
func (s *Server) enqueue(ctx context.Context, member *storage.Account, act *as.Activity, to *storage.Account) error {
	top := *act
	top.Context = as.LDContext()
	body, err := as.Marshal(&top)
	if err != nil {
		return err
	}
	return s.store.EnqueueActivities(ctx, []storage.NewActivity{{APID: act.ID, ActorID: act.Actor,
		KeyOwnerKind: storage.KeyOwnerMember, KeyOwnerID: member.ID, Body: body,
		Inboxes: []storage.Recipient{{Inbox: to.Inbox}}}})
}
