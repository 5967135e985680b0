package federation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/markup"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// Moderation over federation (issue 7): what the node refuses from
// suspended and silenced actors, the Flag activities it takes into the
// report queue, and what moderators' and members' decisions send.
//
// Refused (suspend, by domain or one actor): inbox POSTs are answered 403
// (inbox.go), anything queued before the suspension is dropped when it is
// processed, nothing is delivered (outbox_recipients.go when a fan-out is
// built, the delivery worker for jobs queued before; see
// node.deliveryRefused). Silenced: their follows of local actors are held
// for a moderator's approval instead of accepted; storage keeps their
// threads out of forum lists.
//
// Sent:
//
//	report.forward   Flag from the instance actor to the reported author's
//	                 server (and a mirror thread's owner), object an array
//	                 [author, post] as Mastodon expects, content the reason
//	account.delete   Delete{Person} from the member, signed with their kept
//	                 key, to every remote server the node knows
//	thread.move      Move of the thread's context (NodeBB's shape) from the
//	                 new forum, origin the old forum, target the new one, to
//	                 the thread's and both forums' followers
//	remote_post.delete  nothing: the post's own server speaks for it
//
// Activity ids: INSTANCE#flag-EVENT, MEMBER#delete-EVENT,
// FORUM#move-EVENT.

// maxFlagObjects bounds how many objects of one Flag are looked at.
const maxFlagObjects = 20

// refuseSuspended stops processing of an activity whose signer was
// suspended after its POST was accepted (the inbox refuses it before).
func (s *Server) refuseSuspended(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	policy, err := s.store.ActorPolicy(ctx, signer)
	if err != nil {
		return err
	}
	if policy == storage.SeveritySuspend {
		return ignore("%s from suspended %s", act.Type, act.Actor)
	}
	return nil
}

// actorRefused reports whether the inbox must refuse a POST signed by
// actorID: the actor itself is suspended. (Its domain is checked before
// the signature is.)
func (s *Server) actorRefused(ctx context.Context, actorID string) (bool, error) {
	return s.store.ActorSuspended(ctx, actorID)
}

// holdFollow records a silenced actor's follow as pending and answers
// nothing until a moderator answers it (AnswerFollowRequest). A
// follow approved once stays accepted when the Follow comes again.
func (s *Server) holdFollow(ctx context.Context, act *as.Incoming, signer *storage.Account, target *followTarget) (bool, error) {
	policy, err := s.store.ActorPolicy(ctx, signer)
	if err != nil || policy != storage.SeveritySilence {
		return false, err
	}
	if f, err := s.store.FollowOf(ctx, signer.ID, target.kind, target.id); err == nil && f.Accepted {
		return false, nil
	}
	if _, err := s.store.AddFollow(ctx, signer.ID, target.kind, target.id, &act.ID, false); err != nil {
		return true, err
	}
	s.log.Info("follow from a silenced actor awaits approval", "actor", act.Actor, "target", target.actorID)
	return true, nil
}

// AnswerFollowRequest settles a follow held for approval: approve marks
// it accepted and sends the follower the Accept it waited for; otherwise
// the follow goes and the follower gets a Reject. The admin members page
// calls it.
func (s *Server) AnswerFollowRequest(ctx context.Context, followID storage.ID, approve bool) error {
	f, err := s.store.FollowByID(ctx, followID)
	if err != nil {
		return err
	}
	if f.Accepted || f.APID == nil {
		return fmt.Errorf("%w: follow %s waits for no approval", storage.ErrInvalid, followID)
	}
	follower, err := s.store.AccountByID(ctx, f.FollowerID)
	if err != nil {
		return err
	}
	if follower.IsLocal() || follower.APID == nil {
		return fmt.Errorf("%w: follow %s is not a remote actor's", storage.ErrInvalid, followID)
	}
	target, err := s.followTargetByID(ctx, f.TargetKind, f.TargetID)
	if err != nil {
		return err
	}
	// The answer is queued first: should the change that follows fail,
	// the moderator answers again and the follower gets a second copy,
	// which is harmless; the other order could leave it never told.
	act := &as.Incoming{ID: *f.APID, Actor: *follower.APID}
	if !approve {
		if err := s.answerFollow(ctx, "Reject", act, target, follower); err != nil {
			return err
		}
		_, err := s.store.RemoveFollow(ctx, f.FollowerID, f.TargetKind, f.TargetID)
		return err
	}
	if err := s.answerFollow(ctx, "Accept", act, target, follower); err != nil {
		return err
	}
	return s.store.AcceptFollow(ctx, f.FollowerID, f.TargetKind, f.TargetID)
}

// followTargetByID is localFollowTarget from a follow row.
func (s *Server) followTargetByID(ctx context.Context, kind string, id storage.ID) (*followTarget, error) {
	switch kind {
	case storage.FollowAccount:
		a, err := s.store.AccountByID(ctx, id)
		if err != nil {
			return nil, err
		}
		return &followTarget{kind, id, s.urls.Member(a.Handle), storage.KeyOwnerMember, id}, nil
	case storage.FollowForum:
		f, err := s.forum(ctx, id)
		if err != nil {
			return nil, err
		}
		return &followTarget{kind, id, s.urls.Forum(f.Slug), storage.KeyOwnerForum, id}, nil
	case storage.FollowThread:
		return &followTarget{kind, id, s.urls.Thread(id), storage.KeyOwnerThread, id}, nil
	}
	return nil, storage.ErrInvalid
}

// applyFlag files a remote server's report. Mastodon's shape: the actor
// is the reporting server's instance actor, object an array of the
// reported account and any of its statuses, content the comment. Each
// post named (local, or remote in a thread here, as Lemmy reports to the
// community) makes one report; a Flag naming only members makes one
// report per member. A Flag delivered twice files nothing new.
func (s *Server) applyFlag(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	if act.ID == "" {
		return ignore("flag without an id")
	}
	var ids []string
	switch o := act.Raw["object"].(type) {
	case []any:
		for _, v := range o {
			if id := as.ID(v); id != "" && len(ids) < maxFlagObjects {
				ids = append(ids, id)
			}
		}
	default:
		if id := as.ID(o); id != "" {
			ids = append(ids, id)
		}
	}
	var posts []*storage.Post
	var members []*storage.Account
	for _, id := range ids {
		p, a, err := s.flagged(ctx, id)
		if err != nil {
			return err
		}
		if p != nil {
			posts = append(posts, p)
		}
		if a != nil {
			members = append(members, a)
		}
	}
	reason := flagReason(act.Raw["content"])
	flagID := act.ID
	filed := 0
	reported := map[storage.ID]bool{}
	for _, p := range posts {
		reported[p.AuthorID] = true
		_, err := s.store.CreateReport(ctx, storage.NewReport{ReporterID: signer.ID, PostID: &p.ID, Reason: reason, RemoteFlagAPID: &flagID})
		if err != nil {
			return err
		}
		filed++
	}
	for _, a := range members {
		if reported[a.ID] {
			continue // their posts are reported: that says it
		}
		reported[a.ID] = true
		_, err := s.store.CreateReport(ctx, storage.NewReport{ReporterID: signer.ID, AccountID: a.ID, Reason: reason, RemoteFlagAPID: &flagID})
		if err != nil {
			return err
		}
		filed++
	}
	if filed == 0 {
		return ignore("flag names nothing here")
	}
	return nil
}

// flagged resolves one object of a Flag: a post (local, by its URL or
// its thread's, or remote and stored here) or a member. Anything else is
// neither, without error.
func (s *Server) flagged(ctx context.Context, iri string) (*storage.Post, *storage.Account, error) {
	prefix, name := localPath(s, iri)
	var p *storage.Post
	var err error
	switch prefix {
	case "u":
		a, err := s.store.MemberByHandle(ctx, name)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, nil
		}
		return nil, a, err
	case "p":
		p, err = s.localPost(ctx, iri)
	case "t":
		var t *storage.Thread
		if t, err = s.localThread(ctx, name); err == nil && t.FirstPostID != nil {
			p, err = s.store.PostByID(ctx, *t.FirstPostID)
		}
	case "":
		p, err = s.store.PostByAPID(ctx, iri)
	default:
		return nil, nil, nil
	}
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, errIgnored) || (p != nil && p.IsDeleted()) {
		return nil, nil, nil
	}
	return p, nil, err
}

// flagReason is a Flag's comment as plain text: Mastodon sends text,
// others HTML.
func flagReason(v any) string {
	s, _ := v.(string)
	if strings.Contains(s, "<") {
		s = markup.Excerpt(markup.SanitizeRemote(as.ClipText(s, as.MaxContent)), storage.MaxReportReason/4)
	}
	return as.ClipText(strings.TrimSpace(s), storage.MaxReportReason)
}

// addDoc adds an activity document that Activity cannot express; doc
// carries its own @context.
func (b *batch) addDoc(from sender, id string, doc any, to []storage.Recipient) error {
	if len(to) == 0 {
		return nil
	}
	body, err := as.Marshal(doc)
	if err != nil {
		return err
	}
	b.acts = append(b.acts, storage.NewActivity{APID: id, ActorID: from.id, KeyOwnerKind: from.kind,
		KeyOwnerID: from.key, Body: body, Inboxes: to})
	return nil
}

// reportForwarded: a Flag from the instance actor to the reported
// author's server, so its moderators see the report too.
func (w *OutboxWorker) reportForwarded(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	s := w.Server
	r, err := s.store.ReportByID(ctx, ev.ReportID)
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
		if t, err := s.store.ThreadByID(ctx, r.Post.ThreadID); err == nil {
			// Lemmy and the like moderate in the community: tell it too.
			owner, err := s.mirrorOwner(ctx, t)
			if err != nil {
				return nil, err
			}
			to = w.appendActor(to, owner, false)
		}
	}
	from := sender{id: s.urls.InstanceActor(), kind: storage.KeyOwnerInstance}
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
func (w *OutboxWorker) accountDeleted(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	s := w.Server
	a, err := s.store.AccountByID(ctx, ev.AccountID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil || !a.IsLocal() {
		return nil, err
	}
	var to []storage.Recipient
	after := ""
	for {
		page, err := s.store.KnownInboxes(ctx, after, followersPage)
		if err != nil {
			return nil, err
		}
		for _, k := range page {
			if !s.blocked(k.Domain) && !s.blocked(hostOf(k.Inbox)) {
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

// threadMoved: NodeBB's Move of the thread's context from the old forum
// to the new, sent by the new forum to the thread's followers and both
// forums' (group peers included).
func (w *OutboxWorker) threadMoved(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	s := w.Server
	t, err := s.store.ThreadByID(ctx, ev.ThreadID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil || t.IsMirror() || t.DeletedAt != nil {
		return nil, err
	}
	from, err := s.forum(ctx, ev.FromForumID)
	if err != nil {
		return nil, err
	}
	into, err := s.store.ForumByID(ctx, ev.ForumID)
	if err != nil {
		return nil, err
	}
	to, _, err := w.followers(ctx, storage.FollowThread, t.ID, false)
	if err != nil {
		return nil, err
	}
	for _, f := range []*storage.Forum{from, into} {
		plain, groups, err := w.followers(ctx, storage.FollowForum, f.ID, true)
		if err != nil {
			return nil, err
		}
		to = append(append(to, plain...), groups...)
	}
	fo := w.forumSender(into)
	thread := s.urls.Thread(t.ID)
	move := &as.Move{Context: as.LDContext(), ID: fo.id + eventFragment("move", ev), Type: "Move", Actor: fo.id,
		To: []string{as.Public}, Cc: []string{site.Followers(fo.id), site.Followers(s.urls.Forum(from.Slug)), site.Followers(thread)},
		Object: as.MovedContext{ID: s.urls.ThreadPosts(t.ID), Type: "OrderedCollection", AttributedTo: thread, Audience: fo.id},
		Origin: s.urls.Forum(from.Slug), Target: fo.id}
	var b batch
	err = b.addDoc(fo, move.ID, move, to)
	return b.acts, err
}
