package federation

import (
	"context"
	"errors"
	"html"
	"net/http"
	"strings"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/markup"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// newActor fills what every local actor has in common.
func (s *Server) newActor(id, typ, username, name string) *as.Actor {
	return &as.Actor{
		Context:           as.LDContext(),
		ID:                id,
		Type:              typ,
		PreferredUsername: username,
		Name:              name,
		URL:               id,
		Inbox:             site.Inbox(id),
		Outbox:            site.Outbox(id),
		Followers:         site.Followers(id),
		Following:         site.Following(id),
		Featured:          site.Featured(id),
		Endpoints:         as.Endpoints{SharedInbox: s.urls.SharedInbox()},
		Discoverable:      true,
		Indexable:         true,
	}
}

// MemberActor builds a member's Person.
func (s *Server) MemberActor(ctx context.Context, a *storage.Account) (*as.Actor, error) {
	act := s.newActor(s.urls.Member(a.Handle), "Person", a.Handle, a.Name())
	act.Summary = a.Bio
	act.Published = as.FormatTime(a.CreatedAt)
	if a.AvatarURL != "" {
		act.Icon = &as.Image{Type: "Image", URL: a.AvatarURL, MediaType: avatarType(a.AvatarURL)}
	}
	var err error
	act.PublicKey, err = s.publicKey(ctx, act.ID, storage.KeyOwnerMember, a.ID)
	return act, err
}

// avatarType is the type of a member's picture from its file name: the
// media library names every file by the type it wrote.
func avatarType(u string) string {
	switch {
	case strings.HasSuffix(u, ".png"):
		return "image/png"
	case strings.HasSuffix(u, ".jpg"):
		return "image/jpeg"
	case strings.HasSuffix(u, ".gif"):
		return "image/gif"
	}
	return ""
}

// ForumActor builds a forum's Group (FEP-1b12).
func (s *Server) ForumActor(ctx context.Context, f *storage.Forum) (*as.Actor, error) {
	act := s.newActor(s.urls.Forum(f.Slug), "Group", f.Slug, f.Title)
	if f.Description != "" {
		act.Summary = "<p>" + html.EscapeString(f.Description) + "</p>"
	}
	act.Published = as.FormatTime(f.CreatedAt)
	act.Threads = s.urls.ForumThreads(f.Slug)
	var err error
	act.PublicKey, err = s.publicKey(ctx, act.ID, storage.KeyOwnerForum, f.ID)
	return act, err
}

// ThreadActor builds a thread's Group: followable from Mastodon, named
// after its title, summarised by its opening post. first may be nil.
func (s *Server) ThreadActor(ctx context.Context, t *storage.Thread, f *storage.Forum, first *storage.Post) (*as.Actor, error) {
	act := s.newActor(s.urls.Thread(t.ID), "Group", t.Handle(), t.Title)
	if first != nil && !first.IsDeleted() {
		act.Summary = summaryOf(first.HTML, 300)
	}
	act.Published = as.FormatTime(t.CreatedAt)
	act.Posts = s.urls.ThreadPosts(t.ID)
	if f != nil {
		act.Audience = s.urls.Forum(f.Slug)
	}
	var err error
	act.PublicKey, err = s.publicKey(ctx, act.ID, storage.KeyOwnerThread, t.ID)
	return act, err
}

// InstanceActor builds the node's Application actor (FEP-2677), which
// signs fetches on the node's behalf.
func (s *Server) InstanceActor(ctx context.Context) (*as.Actor, error) {
	act := s.newActor(s.urls.InstanceActor(), "Application", site.InstanceActorName, s.siteName())
	act.URL = s.urls.Base() + "/"
	act.Summary = "<p>The Skein forum at " + html.EscapeString(s.urls.Host()) + ".</p>"
	if desc := s.siteDescription(); desc != "" {
		act.Summary = "<p>" + html.EscapeString(desc) + "</p>"
	}
	act.ManuallyApprovesFollowers = true
	act.Discoverable, act.Indexable = false, false
	var err error
	act.PublicKey, err = s.publicKey(ctx, act.ID, storage.KeyOwnerInstance, 0)
	return act, err
}

// summaryOf is a short plain-text paragraph from sanitized HTML.
func summaryOf(h string, maxRunes int) string {
	text := markup.Excerpt(h, maxRunes)
	if text == "" {
		return ""
	}
	return "<p>" + html.EscapeString(text) + "</p>"
}

// serveActor answers with the actor document cached for key at version,
// or builds, caches and answers it.
func (s *Server) serveActor(w http.ResponseWriter, r *http.Request, key, version string, modified time.Time, build func() (*as.Actor, error)) error {
	// The version is part of the key: an actor's document is kept per
	// digest of the rows it was built from, so an edit is seen at once,
	// and the versions it replaced age out of the cache.
	key += "\x00" + version
	doc := s.actors.Get(key, 0, time.Time{})
	if doc == nil {
		act, err := build()
		if err == nil {
			doc, err = newDocument(act, modified)
		}
		if err != nil {
			return err
		}
		s.actors.Put(key, 0, doc, time.Time{})
	}
	writeDocument(w, r, http.StatusOK, doc)
	return nil
}

func (s *Server) serveMember(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	a, err := s.store.MemberByHandle(ctx, r.PathValue("handle"))
	if err != nil {
		return err
	}
	switch a.Standing() {
	case storage.ActorLive:
	case storage.ActorGone:
		// A deleted member's Delete{Person} is on its way; servers
		// that fetch it to check see it gone.
		g := &goneError{id: s.urls.Member(a.Handle), formerType: "Person"}
		if a.DeletedAt != nil {
			g.deleted = *a.DeletedAt
		}
		return g
	default:
		// Not a member until approved: nothing to follow, nobody to
		// verify a signature of.
		return errNotFound
	}
	version := strings.Join([]string{a.Handle, a.DisplayName, a.Bio, a.AvatarURL}, "\x00")
	// No Last-Modified: profile edits leave no time behind; the ETag
	// covers them.
	return s.serveActor(w, r, "member:"+a.ID.String(), version, time.Time{}, func() (*as.Actor, error) {
		return s.MemberActor(ctx, a)
	})
}

func (s *Server) serveForum(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := s.forumActor(ctx, r.PathValue("slug"))
	if err != nil {
		return err
	}
	version := strings.Join([]string{f.Slug, f.Title, f.Description}, "\x00")
	return s.serveActor(w, r, "forum:"+f.ID.String(), version, time.Time{}, func() (*as.Actor, error) {
		return s.ForumActor(ctx, f)
	})
}

func (s *Server) serveThread(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, err := s.liveThread(r, s.urls.Thread, "Group")
	if err != nil {
		return err
	}
	var first *storage.Post
	if t.FirstPostID != nil {
		if first, err = s.store.PostByID(ctx, *t.FirstPostID); err != nil {
			return err
		}
	}
	f, err := s.Forum(ctx, t.ForumID)
	if err != nil {
		return err
	}
	version, modified := t.Title+"\x00"+f.Slug, t.CreatedAt
	if first != nil {
		modified = postModified(first)
		version += "\x00" + modified.Format(time.RFC3339Nano)
	}
	return s.serveActor(w, r, "thread:"+t.ID.String(), version, modified, func() (*as.Actor, error) {
		return s.ThreadActor(ctx, t, f, first)
	})
}

func (s *Server) serveInstanceActor(w http.ResponseWriter, r *http.Request) error {
	// The site's name and description are the document's version: an
	// admin's edit shows at once.
	version := s.siteName() + "\x00" + s.siteDescription()
	return s.serveActor(w, r, "instance", version, time.Time{}, func() (*as.Actor, error) {
		return s.InstanceActor(r.Context())
	})
}

// liveThread loads the thread named by the {id} path value: not found when
// there is none, a [goneError] (formerly a formerType at idOf the thread)
// when it is deleted.
func (s *Server) liveThread(r *http.Request, idOf func(storage.ID) string, formerType string) (*storage.Thread, error) {
	t, err := s.threadFromPath(r)
	if err != nil {
		return nil, err
	}
	if t.Standing() == storage.ActorGone {
		return nil, &goneError{id: idOf(t.ID), formerType: formerType, deleted: *t.DeletedAt}
	}
	return t, nil
}

// threadFromPath loads the thread named by the {id} path value.
func (s *Server) threadFromPath(r *http.Request) (*storage.Thread, error) {
	id, err := storage.ParseID(r.PathValue("id"))
	if err != nil {
		return nil, errNotFound
	}
	t, err := s.store.ThreadByID(r.Context(), id)
	if err == nil && t.Standing() == storage.ActorElsewhere {
		// A mirror of a remote thread: its id is on the remote server,
		// and nothing here may speak for it.
		return nil, errNotFound
	}
	return t, err
}

var errNotFound = errors.New("no such document")
