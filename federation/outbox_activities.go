package federation

import (
	"context"
	"errors"
	"fmt"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// What each outbox event sends; see outbox.go for the overview and the
// id scheme. Activities are plain structs marshalled once per activity,
// like the documents in note.go, with arrays always arrays and the
// @context only at the top level.

// scene is a post with everything its activities are built from.
type scene struct {
	ev     storage.OutboxEvent
	post   *storage.Post // Author loaded
	thread *storage.Thread
	forum  *storage.Forum
	owner  *storage.Account // the remote owner of a mirror thread, if known
}

func (sc *scene) local() bool  { return sc.post.Author != nil && sc.post.Author.IsLocal() }
func (sc *scene) mirror() bool { return sc.thread.IsMirror() }
func (sc *scene) isFirst() bool {
	return sc.thread.FirstPostID != nil && *sc.thread.FirstPostID == sc.post.ID
}

// load reads the event's post, thread and forum; nil when the post is
// gone from the database (nothing can be said about it).
func (w *OutboxWorker) load(ctx context.Context, ev storage.OutboxEvent) (*scene, error) {
	s := w.Server
	p, err := s.store.PostByID(ctx, ev.PostID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if p.Author == nil {
		return nil, fmt.Errorf("post %s has no author", p.ID)
	}
	t, err := s.store.ThreadByID(ctx, p.ThreadID)
	if err != nil {
		return nil, err
	}
	f, err := s.forum(ctx, t.ForumID)
	if err != nil {
		return nil, err
	}
	owner, err := s.mirrorOwner(ctx, t)
	if err != nil {
		return nil, err
	}
	return &scene{ev: ev, post: p, thread: t, forum: f, owner: owner}, nil
}

// sender is a local actor that signs what it sends.
type sender struct {
	id   string
	kind string
	key  storage.ID
}

func (w *OutboxWorker) memberSender(a *storage.Account) sender {
	return sender{id: w.Server.urls.Member(a.Handle), kind: storage.KeyOwnerMember, key: a.ID}
}

func (w *OutboxWorker) threadSender(t *storage.Thread) sender {
	return sender{id: w.Server.urls.Thread(t.ID), kind: storage.KeyOwnerThread, key: t.ID}
}

func (w *OutboxWorker) forumSender(f *storage.Forum) sender {
	return sender{id: w.Server.urls.Forum(f.Slug), kind: storage.KeyOwnerForum, key: f.ID}
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

// postCreated: Create{Note} from the member to its direct audience; the
// thread announces it to its followers; the forum announces a new
// thread's first post to its followers and every post to group peers. A
// remote author's reply in a local thread is announced by the thread, so
// its followers see the whole conversation.
func (w *OutboxWorker) postCreated(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	sc, err := w.load(ctx, ev)
	if err != nil || sc == nil || sc.post.IsDeleted() || sc.thread.DeletedAt != nil {
		return nil, err
	}
	if !sc.local() {
		if sc.mirror() || sc.post.APID == nil {
			return nil, nil // a remote post in a remote thread is not ours to send
		}
		return w.announceRemotePost(ctx, sc)
	}
	note, err := w.note(ctx, sc)
	if err != nil {
		return nil, err
	}
	direct, err := w.directAudience(ctx, sc, note)
	if err != nil {
		return nil, err
	}
	var b batch
	create := as.CreateActivity(note)
	if err := b.add(w.memberSender(sc.post.Author), create, direct); err != nil {
		return nil, err
	}
	if sc.mirror() {
		return b.acts, nil
	}
	threadFollowers, _, err := w.followers(ctx, storage.FollowThread, sc.thread.ID, false)
	if err != nil {
		return nil, err
	}
	th := w.threadSender(sc.thread)
	if err := b.add(th, announce(th, th.id+eventFragment("announce", ev), note, note.AttributedTo), threadFollowers); err != nil {
		return nil, err
	}
	forumFollowers, groups, err := w.followers(ctx, storage.FollowForum, sc.forum.ID, true)
	if err != nil {
		return nil, err
	}
	fo := w.forumSender(sc.forum)
	if sc.isFirst() {
		// Only a new thread's first post: Mastodon's maintainers ask
		// forums not to boost every comment.
		if err := b.add(fo, announce(fo, fo.id+eventFragment("announce", ev), note, note.AttributedTo), forumFollowers); err != nil {
			return nil, err
		}
	}
	// FEP-1b12: the group announces the activity itself, unchanged.
	err = b.add(fo, announce(fo, fo.id+eventFragment("announce", ev)+"-activity", create, ""), groups)
	return b.acts, err
}

// announceRemotePost: the thread boosts a remote reply (by id: the
// author's server speaks for it) to the thread's followers, and the forum
// to its group peers.
func (w *OutboxWorker) announceRemotePost(ctx context.Context, sc *scene) ([]storage.NewActivity, error) {
	noteID, author := *sc.post.APID, accountIRI(w.Server.urls, sc.post.Author)
	threadFollowers, _, err := w.followers(ctx, storage.FollowThread, sc.thread.ID, false)
	if err != nil {
		return nil, err
	}
	threadFollowers = without(threadFollowers, sc.post.AuthorID)
	var b batch
	th := w.threadSender(sc.thread)
	if err := b.add(th, announce(th, th.id+eventFragment("announce", sc.ev), noteID, author), threadFollowers); err != nil {
		return nil, err
	}
	_, groups, err := w.followers(ctx, storage.FollowForum, sc.forum.ID, true)
	if err != nil {
		return nil, err
	}
	fo := w.forumSender(sc.forum)
	err = b.add(fo, announce(fo, fo.id+eventFragment("announce", sc.ev), noteID, author), without(groups, sc.post.AuthorID))
	return b.acts, err
}

// postUpdated: Update{Note} from the member to everyone who was sent the
// post; group peers get it announced by the forum. A remote author's edit
// of its reply in a local thread is forwarded (outbox_forward.go).
func (w *OutboxWorker) postUpdated(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	sc, err := w.load(ctx, ev)
	if err != nil || sc == nil || sc.post.IsDeleted() || sc.thread.DeletedAt != nil {
		return nil, err
	}
	if !sc.local() {
		return w.forwardRemoteActivity(ctx, ev, "Update") // outbox_forward.go
	}
	note, err := w.note(ctx, sc)
	if err != nil {
		return nil, err
	}
	published := note.Updated
	if published == "" {
		published = as.FormatTime(time.Now())
	}
	update := &as.Activity{ID: note.ID + eventFragment("update", ev), Type: "Update", Actor: note.AttributedTo,
		Published: published, To: note.To, Cc: note.Cc, Object: note}
	return w.sendToAudience(ctx, sc, note, update)
}

// postDeleted: Delete{Tombstone} from the member to everyone who was sent
// the post; group peers get it announced by the forum.
func (w *OutboxWorker) postDeleted(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	sc, err := w.load(ctx, ev)
	if err != nil || sc == nil || !sc.local() {
		return nil, err
	}
	return w.deleteNote(ctx, sc, nil)
}

func (w *OutboxWorker) deleteNote(ctx context.Context, sc *scene, deleted *time.Time) ([]storage.NewActivity, error) {
	ts := TombstoneFor(w.Server.urls, sc.post)
	if ts.Deleted == "" && deleted != nil {
		ts.Deleted = as.FormatTime(*deleted)
	}
	actor := accountIRI(w.Server.urls, sc.post.Author)
	del := &as.Activity{ID: ts.ID + eventFragment("delete", sc.ev), Type: "Delete", Actor: actor,
		Published: as.FormatTime(time.Now()), To: []string{as.Public}, Cc: []string{site.Followers(actor)}, Object: ts}
	return w.sendToAudience(ctx, sc, nil, del)
}

// sendToAudience sends a member's Update or Delete to the direct
// audience, the thread's followers and (for a first post) the forum's,
// and has the forum announce it to group peers.
func (w *OutboxWorker) sendToAudience(ctx context.Context, sc *scene, note *as.Note, act *as.Activity) ([]storage.NewActivity, error) {
	to, err := w.directAudience(ctx, sc, note)
	if err != nil {
		return nil, err
	}
	var groups []storage.Recipient
	if !sc.mirror() {
		threadFollowers, _, err := w.followers(ctx, storage.FollowThread, sc.thread.ID, false)
		if err != nil {
			return nil, err
		}
		to = append(to, threadFollowers...)
		var forumFollowers []storage.Recipient
		forumFollowers, groups, err = w.followers(ctx, storage.FollowForum, sc.forum.ID, true)
		if err != nil {
			return nil, err
		}
		if sc.isFirst() {
			to = append(to, forumFollowers...)
		}
	}
	var b batch
	if err := b.add(w.memberSender(sc.post.Author), act, to); err != nil {
		return nil, err
	}
	fo := w.forumSender(sc.forum)
	err = b.add(fo, announce(fo, fo.id+eventFragment("announce", sc.ev)+"-activity", act, ""), groups)
	return b.acts, err
}

// threadDeleted: when a moderator deletes a thread whose first post still
// stands, its Note is deleted as if the author had; the thread's Group
// actor is deleted for its followers. (When the author deleted the first
// post, its own post.delete event sent the Note's Delete.)
func (w *OutboxWorker) threadDeleted(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	s := w.Server
	t, err := s.store.ThreadByID(ctx, ev.ThreadID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil || t.IsMirror() {
		return nil, err
	}
	var out []storage.NewActivity
	if ev.PostID != 0 {
		sc, err := w.load(ctx, ev)
		if err != nil {
			return nil, err
		}
		if sc != nil && sc.local() && !sc.post.IsDeleted() {
			if out, err = w.deleteNote(ctx, sc, t.DeletedAt); err != nil {
				return nil, err
			}
		}
	}
	followers, _, err := w.followers(ctx, storage.FollowThread, t.ID, false)
	if err != nil {
		return nil, err
	}
	th := w.threadSender(t)
	b := batch{acts: out}
	err = b.add(th, &as.Activity{ID: th.id + eventFragment("delete", ev), Type: "Delete", Actor: th.id,
		Published: as.FormatTime(time.Now()), To: []string{as.Public}, Cc: []string{site.Followers(th.id)}, Object: th.id}, followers)
	return b.acts, err
}

// likeChanged: a member's Like of a remote post (or its Undo) goes to the
// post's author and, in a mirror thread, to the thread's owner. Likes of
// local posts stay here: the Note's likes collection counts them.
func (w *OutboxWorker) likeChanged(ctx context.Context, ev storage.OutboxEvent) ([]storage.NewActivity, error) {
	s := w.Server
	liker, err := s.store.AccountByID(ctx, ev.AccountID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil || !liker.IsLocal() {
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
	author := accountIRI(s.urls, sc.post.Author)
	likeEvent := ev.ID
	if ev.Kind == storage.EventLikeDelete {
		if likeEvent, err = s.store.LastLikeEvent(ctx, liker.ID, sc.post.ID, ev.ID); err != nil {
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

// note builds the Note of a scene's post.
func (w *OutboxWorker) note(ctx context.Context, sc *scene) (*as.Note, error) {
	refs, err := w.Server.remoteRefs(ctx, []storage.Post{*sc.post}, sc.thread)
	if err != nil {
		return nil, err
	}
	return NoteFromPost(w.Server.urls, NoteParts{Post: sc.post, Thread: sc.thread, Forum: sc.forum, Refs: refs, ThreadActor: sc.owner}), nil
}
