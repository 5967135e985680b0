package site

import (
	"strings"

	"github.com/skein-forum/skein/storage"
)

// ActivityPub addresses that have no web page of their own: every local
// actor (member, forum, thread, the instance) has the same set of
// collections and an inbox under its id, so one set of helpers serves all.

// InstanceActorName is the instance actor's preferredUsername and WebFinger
// name. It is reserved, so no member or forum can take it.
const InstanceActorName = "instance"

// Inbox is an actor's personal inbox.
func Inbox(actorID string) string { return actorID + "/inbox" }

// Outbox is an actor's outbox collection.
func Outbox(actorID string) string { return actorID + "/outbox" }

// Followers is an actor's followers collection.
func Followers(actorID string) string { return actorID + "/followers" }

// Following is an actor's following collection.
func Following(actorID string) string { return actorID + "/following" }

// Featured is an actor's collection of pinned posts.
func Featured(actorID string) string { return actorID + "/featured" }

// ForumThreadsPath is the collection of a forum's threads.
func ForumThreadsPath(slug string) string { return ForumPath(slug) + "/threads" }

// PostRepliesPath is the collection of the posts that answer a post.
func PostRepliesPath(id storage.ID) string { return PostPath(id) + "/replies" }

// PostLikesPath is the collection counting a post's likes.
func PostLikesPath(id storage.ID) string { return PostPath(id) + "/likes" }

func (u *URLs) ForumThreads(slug string) string  { return u.base + ForumThreadsPath(slug) }
func (u *URLs) PostReplies(id storage.ID) string { return u.base + PostRepliesPath(id) }
func (u *URLs) PostLikes(id storage.ID) string   { return u.base + PostLikesPath(id) }

// PostPermalink is the absolute address of the page and anchor where a post
// is shown: the `url` of its Note.
func (u *URLs) PostPermalink(p *storage.Post) string { return u.base + PostPermalinkPath(p) }

// Origin is scheme://host[:port] without any path prefix: well-known
// documents live at the root of the host whatever the base path.
func (u *URLs) Origin() string {
	scheme, _, _ := strings.Cut(u.base, "://")
	return scheme + "://" + u.host
}

// WebFinger is the node's WebFinger endpoint.
func (u *URLs) WebFinger() string { return u.Origin() + "/.well-known/webfinger" }

// NodeInfo is the NodeInfo document of the given schema version ("2.0",
// "2.1").
func (u *URLs) NodeInfo(version string) string { return u.base + "/nodeinfo/" + version }
