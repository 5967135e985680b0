package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/transport"
	"github.com/skein-forum/skein/storage"
)

// Applying queued inbox activities. Each kind has one short function;
// every one of them checks who may do what before it writes, and writes
// through the same storage methods the web forms use. Notes are in
// process_note.go, backfill in backfill.go.

// errIgnored marks an activity that is refused or has nothing to act on:
// it is marked done with the reason and never retried.
var errIgnored = errors.New("ignored")

func ignore(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errIgnored, fmt.Sprintf(format, args...))
}

// processInboxItem applies one queued item.
func (s *Server) processInboxItem(ctx context.Context, it *storage.InboxItem) error {
	switch it.Kind {
	case storage.InboxBackfill:
		return s.runBackfill(ctx, []byte(it.Body))
	case storage.InboxContextWalk:
		return s.runContextWalk(ctx, []byte(it.Body))
	}
	act, err := as.DecodeActivity([]byte(it.Body))
	if err != nil {
		return err
	}
	if act.Actor != it.ActorID {
		return ignore("actor %q is not the signer %q", act.Actor, it.ActorID)
	}
	if s.blocked(hostOf(act.Actor)) {
		// Blocked since the POST was accepted.
		return s.refuseBlocked(ctx, act)
	}
	signer, err := s.signerAccount(ctx, act)
	if err != nil {
		return err
	}
	if err := s.refuseSuspended(ctx, act, signer); err != nil {
		return err // suspended since the POST was accepted
	}
	switch act.Type {
	case "Follow":
		return s.applyFollow(ctx, act, signer)
	case "Undo":
		return s.applyUndo(ctx, act, signer)
	case "Accept":
		return s.applyFollowAnswer(ctx, act, signer, true)
	case "Reject":
		return s.applyFollowAnswer(ctx, act, signer, false)
	case "Like":
		return s.applyLike(ctx, act, signer)
	case "Create":
		return s.applyCreate(ctx, act, signer)
	case "Update":
		return s.applyUpdate(ctx, act, signer)
	case "Delete":
		return s.applyDelete(ctx, act, signer)
	case "Announce":
		return s.applyAnnounce(ctx, act, signer)
	case "Flag":
		return s.applyFlag(ctx, act, signer) // moderation.go
	}
	return ignore("%s is not handled", act.Type)
}

// signerAccount is the stored account of the activity's actor. A deleted
// actor answers 410 to a fetch, so its Delete uses what is on file.
func (s *Server) signerAccount(ctx context.Context, act *as.Incoming) (*storage.Account, error) {
	if act.Type == "Delete" && act.Object.ID == act.Actor {
		acc, err := s.store.AccountByAPID(ctx, act.Actor)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, ignore("delete of unknown actor %s", act.Actor)
		}
		return acc, err
	}
	return s.ResolveActor(ctx, act.Actor)
}

// refuseBlocked drops an activity from a server suspended since its POST
// was accepted. Not even a Follow is answered: nothing is delivered to a
// suspended server (issue 7), and the delivery worker would drop a
// Reject anyway.
func (s *Server) refuseBlocked(_ context.Context, act *as.Incoming) error {
	return ignore("%s from blocked %s", act.Type, hostOf(act.Actor))
}

// followTarget is a local actor a remote actor may follow.
type followTarget struct {
	kind     string // storage.FollowAccount, FollowForum or FollowThread
	id       storage.ID
	actorID  string
	keyKind  string // storage.KeyOwner*
	keyOwner storage.ID
}

// localFollowTarget finds the member, forum or thread with ActivityPub id
// iri.
func (s *Server) localFollowTarget(ctx context.Context, iri string) (*followTarget, error) {
	prefix, name := localPath(s, iri)
	switch prefix {
	case "u":
		a, err := s.store.MemberByHandle(ctx, name)
		if err != nil {
			return nil, err
		}
		return &followTarget{storage.FollowAccount, a.ID, s.urls.Member(a.Handle), storage.KeyOwnerMember, a.ID}, nil
	case "f":
		f, err := s.store.ForumBySlug(ctx, name)
		if err != nil {
			return nil, err
		}
		if f.Hidden {
			return nil, ignore("forum %s is not followable", f.Slug)
		}
		return &followTarget{storage.FollowForum, f.ID, s.urls.Forum(f.Slug), storage.KeyOwnerForum, f.ID}, nil
	case "t":
		t, err := s.localThread(ctx, name)
		if err != nil {
			return nil, err
		}
		return &followTarget{storage.FollowThread, t.ID, s.urls.Thread(t.ID), storage.KeyOwnerThread, t.ID}, nil
	}
	return nil, ignore("%s is not a followable local actor", iri)
}

// localPath splits a local URL's path "/x/name[/...]" into "x" and
// "name"; both are "" for anything not on this node.
func localPath(s *Server, iri string) (prefix, name string) {
	path, ok := s.urls.Path(iri)
	if !ok {
		return "", ""
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	prefix, rest, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	name, _, _ = strings.Cut(rest, "/")
	return prefix, name
}

// localThread loads a live local thread (not a mirror) by its public id.
func (s *Server) localThread(ctx context.Context, name string) (*storage.Thread, error) {
	id, err := storage.ParseID(name)
	if err != nil {
		return nil, ignore("bad thread id %q", name)
	}
	t, err := s.store.ThreadByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.IsMirror() || t.DeletedAt != nil {
		return nil, ignore("thread %s is not a live local thread", id)
	}
	return t, nil
}

// localPost loads a live post by its local URL (/p/{id}).
func (s *Server) localPost(ctx context.Context, iri string) (*storage.Post, error) {
	prefix, name := localPath(s, iri)
	if prefix != "p" {
		return nil, ignore("%s is not a local post", iri)
	}
	id, err := storage.ParseID(name)
	if err != nil {
		return nil, ignore("bad post id %q", name)
	}
	p, err := s.store.PostByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.IsDeleted() {
		return nil, ignore("post %s is deleted", id)
	}
	return p, nil
}

// applyFollow accepts a follow of a member, forum or thread at once and
// answers with a signed Accept; a silenced follower's waits for approval.
func (s *Server) applyFollow(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	if act.ID == "" {
		return ignore("follow without an id")
	}
	target, err := s.localFollowTarget(ctx, act.Object.ID)
	if err != nil {
		return err
	}
	if held, err := s.holdFollow(ctx, act, signer, target); held || err != nil {
		return err // silenced: waits for a moderator
	}
	if _, err := s.store.AddFollow(ctx, signer.ID, target.kind, target.id, &act.ID, true); err != nil {
		return err
	}
	return s.answerFollow(ctx, "Accept", act, target, signer)
}

// answerFollow queues an Accept or Reject of a Follow, signed by the
// followed actor and sent to the follower's own inbox. The Follow is
// embedded: Mastodon matches it by id, others by actor and object.
func (s *Server) answerFollow(ctx context.Context, kind string, act *as.Incoming, target *followTarget, follower *storage.Account) error {
	id := target.actorID + "#" + strings.ToLower(kind) + "s/" + s.store.NewID().String()
	body, err := json.Marshal(map[string]any{
		"@context": as.LDContext(),
		"id":       id,
		"type":     kind,
		"actor":    target.actorID,
		"object": map[string]any{
			"id":     act.ID,
			"type":   "Follow",
			"actor":  *follower.APID,
			"object": target.actorID,
		},
	})
	if err != nil {
		return err
	}
	err = s.store.EnqueueActivities(ctx, []storage.NewActivity{{
		APID: id, ActorID: target.actorID, KeyOwnerKind: target.keyKind, KeyOwnerID: target.keyOwner, Body: body,
		Inboxes: []storage.Recipient{{Inbox: follower.Inbox, FollowerID: follower.ID}},
	}})
	if err != nil {
		return err
	}
	if s.cfg.DeliveryQueued != nil {
		s.cfg.DeliveryQueued()
	}
	return nil
}

// applyUndo withdraws a follow or a like the signer made.
func (s *Server) applyUndo(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	obj := act.Object
	if obj.ID != "" && !sameHost(obj.ID, signer.Domain) {
		return ignore("undo of %s, which is not the signer's", obj.ID)
	}
	switch obj.Type {
	case "Follow":
		if who := as.ID(obj.Raw["actor"]); who != *signer.APID {
			return ignore("undo of a follow by %s", who)
		}
		target, err := s.localFollowTarget(ctx, as.ID(obj.Raw["object"]))
		if err != nil {
			return err
		}
		_, err = s.store.RemoveFollow(ctx, signer.ID, target.kind, target.id)
		return err
	case "Like":
		if _, err := s.store.UnlikeByAPID(ctx, obj.ID, signer.ID); !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		// Liked before we kept ids, or with another id: undo by post.
		post, err := s.localPost(ctx, as.ID(obj.Raw["object"]))
		if err != nil {
			return err
		}
		_, err = s.store.UnlikePost(ctx, post.ID, signer.ID)
		return err
	case "":
		// A bare id: whichever of the signer's follows or likes has it.
		if f, err := s.store.FollowByAPID(ctx, obj.ID); err == nil {
			if f.FollowerID != signer.ID {
				return ignore("undo of someone else's follow")
			}
			_, err = s.store.RemoveFollow(ctx, f.FollowerID, f.TargetKind, f.TargetID)
			return err
		}
		_, err := s.store.UnlikeByAPID(ctx, obj.ID, signer.ID)
		return err
	}
	return ignore("undo of a %s", obj.Type)
}

// applyFollowAnswer records a remote actor's Accept or Reject of a follow
// a member sent it.
func (s *Server) applyFollowAnswer(ctx context.Context, act *as.Incoming, signer *storage.Account, accepted bool) error {
	var f *storage.Follow
	if act.Object.ID != "" {
		f, _ = s.store.FollowByAPID(ctx, act.Object.ID)
	}
	if f == nil && act.Object.Raw != nil {
		// Some servers answer with a Follow of their own making: match it
		// by who followed whom.
		if prefix, handle := localPath(s, as.ID(act.Object.Raw["actor"])); prefix == "u" {
			if m, err := s.store.MemberByHandle(ctx, handle); err == nil {
				f, _ = s.store.FollowOf(ctx, m.ID, storage.FollowAccount, signer.ID)
			}
		}
	}
	if f == nil {
		return ignore("%s of no follow we sent", act.Type)
	}
	if f.TargetKind != storage.FollowAccount || f.TargetID != signer.ID {
		return ignore("%s by someone other than the followed actor", act.Type)
	}
	if accepted {
		return s.store.AcceptFollow(ctx, f.FollowerID, f.TargetKind, f.TargetID)
	}
	_, err := s.store.RemoveFollow(ctx, f.FollowerID, f.TargetKind, f.TargetID)
	return err
}

// applyLike records a like of a local post, which counts toward its
// author's reputation.
func (s *Server) applyLike(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	if act.ID == "" {
		return ignore("like without an id")
	}
	post, err := s.localPost(ctx, act.Object.ID)
	if err != nil {
		return err
	}
	_, err = s.store.LikePost(ctx, post.ID, signer.ID, &act.ID)
	return err
}

// isPermanent reports whether an error will not go away by retrying: the
// activity or what it points at is wrong, refused or gone. Anything else
// (no answer, 5xx, a busy database) is retried.
func isPermanent(err error) bool {
	var status *transport.StatusError
	if errors.As(err, &status) {
		return status.Code < 500 && status.Code != http.StatusRequestTimeout && status.Code != http.StatusTooManyRequests
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	for _, e := range []error{errIgnored, as.ErrInvalid, storage.ErrInvalid, storage.ErrNotFound, storage.ErrLocked, storage.ErrNameTaken,
		ErrBlocked, ErrHostMismatch, ErrLocal, ErrNotActor, transport.ErrBlockedAddress, transport.ErrInsecureScheme,
		transport.ErrTooLarge, transport.ErrRedirect} {
		if errors.Is(err, e) {
			return true
		}
	}
	return errors.As(err, &syntax) || errors.As(err, &typ)
}
