package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// scene is a post with everything its activities are built from.
type scene struct {
	ev     storage.OutboxEvent
	post   *storage.Post // Author loaded
	thread *storage.Thread
	forum  *storage.Forum
	owner  *storage.Account // the remote owner of a mirror thread, if known
}

func (sc *scene) local() bool { return sc.post.Author != nil && sc.post.Author.IsLocal() }

func (sc *scene) mirror() bool { return sc.thread.IsMirror() }

func (sc *scene) isFirst() bool {
	return sc.thread.FirstPostID != nil && *sc.thread.FirstPostID == sc.post.ID
}

// load reads the event's post, thread and forum; nil when the post is
// gone from the database (nothing can be said about it).
func (w *Worker) load(ctx context.Context, ev storage.OutboxEvent) (*scene, error) {
	ps := passOf(ctx)
	p, ok := ps.post(ev.PostID)
	if !ok {
		var err error
		p, err = w.store.PostByID(ctx, ev.PostID)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	if p.Author == nil {
		return nil, fmt.Errorf("post %s has no author", p.ID)
	}
	if p.Author.ApprovalPending {
		return nil, nil // not a member to the fediverse until approved
	}
	t, ok := ps.thread(p.ThreadID)
	if !ok {
		var err error
		if t, err = w.store.ThreadByID(ctx, p.ThreadID); err != nil {
			return nil, err
		}
	}
	f, err := w.Fed.Forum(ctx, t.ForumID)
	if err != nil {
		return nil, err
	}
	owner, err := w.Fed.MirrorOwner(ctx, t)
	if err != nil {
		return nil, err
	}
	return &scene{ev: ev, post: p, thread: t, forum: f, owner: owner}, nil
}

// member loads the local member an event is about; nil when the account
// is gone, remote, or a registration awaiting approval (never announced,
// so nothing it does federates).
func (w *Worker) member(ctx context.Context, id storage.ID) (*storage.Account, error) {
	a, err := w.store.AccountByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil || !a.IsLocal() || a.ApprovalPending {
		return nil, err
	}
	return a, nil
}

// sender is a local actor that signs what it sends.
type sender struct {
	id   string
	kind string
	key  storage.ID
}

func (w *Worker) memberSender(a *storage.Account) sender {
	return sender{id: w.urls.Member(a.Handle), kind: storage.KeyOwnerMember, key: a.ID}
}

func (w *Worker) threadSender(t *storage.Thread) sender {
	return sender{id: w.urls.Thread(t.ID), kind: storage.KeyOwnerThread, key: t.ID}
}

func (w *Worker) forumSender(f *storage.Forum) sender {
	return sender{id: w.urls.Forum(f.Slug), kind: storage.KeyOwnerForum, key: f.ID}
}

// batch collects the activities of one event.
type batch struct {
	acts []storage.NewActivity
}

// add marshals act (with the top-level @context) for its recipients; an
// activity nobody is to receive is left out.
func (b *batch) add(from sender, act *as.Activity, to []storage.Recipient) error {
	if len(to) == 0 {
		return nil
	}
	top := *act
	top.Context = as.LDContext()
	body, err := as.Marshal(&top)
	if err != nil {
		return err
	}
	b.acts = append(b.acts, storage.NewActivity{APID: act.ID, ActorID: from.id, KeyOwnerKind: from.kind,
		KeyOwnerID: from.key, Body: body, Inboxes: to})
	return nil
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

func eventFragment(verb string, ev storage.OutboxEvent) string {
	return "#" + verb + "-" + ev.ID.String()
}

// announce is an Announce by a thread or forum of object (a Note, its id,
// or an activity), addressed like Mastodon's boosts: public, and the
// announcer's followers and the original author in cc.
func announce(from sender, id string, object any, author string) *as.Activity {
	cc := []string{site.Followers(from.id)}
	if author != "" {
		cc = append(cc, author)
	}
	return &as.Activity{ID: id, Type: "Announce", Actor: from.id, Published: as.FormatTime(time.Now()),
		To: []string{as.Public}, Cc: cc, Object: object}
}
