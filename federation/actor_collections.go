package federation

import (
	"context"
	"net/http"
	"strconv"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// localActor is a local actor named by a request path: /u/{handle},
// /f/{slug}, /t/{id} or /actor.
type localActor struct {
	id       string // ActivityPub id
	kind     string // storage.KeyOwner*
	rowID    storage.ID
	follow   string // storage.Follow* target kind; "" for the instance
	member   *storage.Account
	threadGo time.Time // deletion time of a deleted thread
}

func (s *Server) actorFromPath(ctx context.Context, r *http.Request) (*localActor, error) {
	switch {
	case r.PathValue("handle") != "":
		a, err := s.store.MemberByHandle(ctx, r.PathValue("handle"))
		if err == nil && a.ApprovalPending {
			err = errNotFound
		}
		if err != nil {
			return nil, err
		}
		return &localActor{id: s.urls.Member(a.Handle), kind: storage.KeyOwnerMember, rowID: a.ID,
			follow: storage.FollowAccount, member: a}, nil
	case r.PathValue("slug") != "":
		f, err := s.forumActor(ctx, r.PathValue("slug"))
		if err != nil {
			return nil, err
		}
		return &localActor{id: s.urls.Forum(f.Slug), kind: storage.KeyOwnerForum, rowID: f.ID, follow: storage.FollowForum}, nil
	case r.PathValue("id") != "":
		t, err := s.threadFromPath(r)
		if err != nil {
			return nil, err
		}
		la := &localActor{id: s.urls.Thread(t.ID), kind: storage.KeyOwnerThread, rowID: t.ID, follow: storage.FollowThread}
		if t.DeletedAt != nil {
			la.threadGo = *t.DeletedAt
		}
		return la, nil
	}
	return &localActor{id: s.urls.InstanceActor(), kind: storage.KeyOwnerInstance}, nil
}

// serveFollowers serves an actor's followers collection. It publishes the
// count only, as Mastodon does for accounts that hide their network: the
// list of who follows whom is nobody's business, and delivery reads it from
// the database, not from here.
func (s *Server) serveFollowers(w http.ResponseWriter, r *http.Request) error {
	return s.serveCount(w, r, site.Followers, func(ctx context.Context, la *localActor) (int64, error) {
		if la.follow == "" {
			return 0, nil
		}
		return s.store.CountFollowers(ctx, la.follow, la.rowID)
	})
}

// serveFollowing serves an actor's following collection, a count only.
// Only members follow anything.
func (s *Server) serveFollowing(w http.ResponseWriter, r *http.Request) error {
	return s.serveCount(w, r, site.Following, func(ctx context.Context, la *localActor) (int64, error) {
		if la.member == nil {
			return 0, nil
		}
		return s.store.CountFollowing(ctx, la.rowID)
	})
}

// serveFeatured serves an actor's featured collection, empty: nothing is
// pinned to a profile here (a thread's pinned status is the forum's
// business, and its posts are not the thread actor's own).
func (s *Server) serveFeatured(w http.ResponseWriter, r *http.Request) error {
	la, err := s.liveActorFromPath(r)
	if err != nil {
		return err
	}
	return s.writeJSON(w, r, &as.ItemsCollection{Context: as.LDContext(), ID: site.Featured(la.id), Type: "OrderedCollection",
		TotalItems: count(0), OrderedItems: []any{}}, time.Time{})
}

func (s *Server) serveCount(w http.ResponseWriter, r *http.Request, idOf func(string) string,
	countOf func(context.Context, *localActor) (int64, error)) error {
	la, err := s.liveActorFromPath(r)
	if err != nil {
		return err
	}
	n, err := countOf(r.Context(), la)
	if err != nil {
		return err
	}
	return s.writeJSON(w, r, countedCollection(idOf(la.id), "OrderedCollection", n, ""), time.Time{})
}

// liveActorFromPath is [Server.actorFromPath] with a [goneError] for the
// collections of a deleted thread.
func (s *Server) liveActorFromPath(r *http.Request) (*localActor, error) {
	la, err := s.actorFromPath(r.Context(), r)
	if err != nil {
		return nil, err
	}
	if !la.threadGo.IsZero() {
		return nil, &goneError{id: s.urls.Origin() + r.URL.Path, formerType: "OrderedCollection", deleted: la.threadGo}
	}
	return la, nil
}

// serveOutbox serves an actor's outbox, newest first. A member's holds
// the Create of each of their live posts, keyset-paged by post id
// (before=ID); a thread's and a forum's the Announce of each live post
// they boosted ([Server.serveGroupOutbox]); the instance actor's is empty.
func (s *Server) serveOutbox(w http.ResponseWriter, r *http.Request) error {
	la, err := s.liveActorFromPath(r)
	if err != nil {
		return err
	}
	if la.kind == storage.KeyOwnerThread || la.kind == storage.KeyOwnerForum {
		return s.serveGroupOutbox(w, r, la)
	}
	ctx := r.Context()
	q, before, err := parseIDCursor(r.URL.RawQuery, "before")
	if err != nil {
		return errBadPage
	}
	if canonical(w, r, q) {
		return nil
	}
	id := site.Outbox(la.id)
	if la.member == nil {
		return s.writeJSON(w, r, countedCollection(id, "OrderedCollection", 0, ""), time.Time{})
	}
	if !q.isPage {
		total, err := s.store.CountPostsByAuthor(ctx, la.rowID)
		if err != nil {
			return err
		}
		return s.writeJSON(w, r, countedCollection(id, "OrderedCollection", total, id+"?page=true"), time.Time{})
	}
	posts, err := s.store.RecentPostsByAuthor(ctx, la.rowID, before, listPageSize+1)
	if err != nil {
		return err
	}
	more := len(posts) > listPageSize
	if more {
		posts = posts[:listPageSize]
	}
	page := newPage(id, q, len(posts))
	threads := make(map[storage.ID]*storage.Thread)
	for i := range posts {
		p := &posts[i].Post
		p.Author = la.member
		t := threads[p.ThreadID]
		if t == nil {
			if t, err = s.store.ThreadByID(ctx, p.ThreadID); err != nil {
				return err
			}
			threads[p.ThreadID] = t
		}
		f, err := s.Forum(ctx, t.ForumID)
		if err != nil {
			return err
		}
		owner, err := s.MirrorOwner(ctx, t)
		if err != nil {
			return err
		}
		note, err := s.PostNote(ctx, p, t, f, owner, false)
		if err != nil {
			return err
		}
		page.OrderedItems = append(page.OrderedItems, as.CreateActivity(note))
	}
	if more {
		page.Next = id + "?page=true&before=" + posts[len(posts)-1].ID.String()
	}
	return s.writeJSON(w, r, page, time.Time{})
}

// AnnounceID is the id of the Announce by a thread or forum actor of a
// post (a thread announces every post, a forum its threads' opening
// posts): the same in the delivered activity and in the actor's outbox.
func AnnounceID(actorID string, postID storage.ID) string {
	return actorID + "#announce-" + postID.String()
}

// serveGroupOutbox serves the outbox of a thread (the Announce of each of
// its live posts, paged by position, before=POSITION) or of a forum (the
// Announce of each of its threads' opening posts, paged by thread id,
// before=ID), newest first. Each Announce names its post by id.
func (s *Server) serveGroupOutbox(w http.ResponseWriter, r *http.Request, la *localActor) error {
	ctx := r.Context()
	thread := la.kind == storage.KeyOwnerThread
	var q pageQuery
	var beforePos int64
	var beforeID storage.ID
	var err error
	if thread {
		q, beforePos, err = parsePositionCursor(r.URL.RawQuery, "before")
	} else {
		q, beforeID, err = parseIDCursor(r.URL.RawQuery, "before")
	}
	if err != nil {
		return errBadPage
	}
	if canonical(w, r, q) {
		return nil
	}
	id := site.Outbox(la.id)
	if !q.isPage {
		var total int64
		if thread {
			total, err = s.store.CountThreadAnnounced(ctx, la.rowID)
		} else {
			total, err = s.store.CountForumAnnounced(ctx, la.rowID)
		}
		if err != nil {
			return err
		}
		return s.writeJSON(w, r, countedCollection(id, "OrderedCollection", total, id+"?page=true"), time.Time{})
	}
	var posts []storage.Post
	if thread {
		posts, err = s.store.ThreadAnnounced(ctx, la.rowID, beforePos, listPageSize+1)
	} else {
		posts, err = s.store.ForumAnnounced(ctx, la.rowID, beforeID, listPageSize+1)
	}
	if err != nil {
		return err
	}
	page := newPage(id, q, min(len(posts), listPageSize))
	if len(posts) > listPageSize {
		posts = posts[:listPageSize]
		last := &posts[len(posts)-1]
		if thread {
			page.Next = id + "?page=true&before=" + strconv.FormatInt(last.Position, 10)
		} else {
			page.Next = id + "?page=true&before=" + last.ThreadID.String()
		}
	}
	for i := range posts {
		p := &posts[i]
		page.OrderedItems = append(page.OrderedItems, &as.Activity{ID: AnnounceID(la.id, p.ID), Type: "Announce", Actor: la.id,
			Published: as.FormatTime(p.CreatedAt), To: []string{as.Public},
			Cc: []string{site.Followers(la.id), AccountIRI(s.urls, p.Author)}, Object: postIRI(s.urls, p)})
	}
	return s.writeJSON(w, r, page, time.Time{})
}
