package federation

import (
	"context"
	"errors"
	"fmt"
	"html"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// NoteParts is what a Note is built from. Post must have its Author
// loaded; Thread and Forum are the post's own.
type NoteParts struct {
	Post   *storage.Post
	Thread *storage.Thread
	Forum  *storage.Forum
	// Refs gives the ActivityPub ids of remote posts this post replies to
	// or quotes; local posts need no entry (their id is their URL here).
	Refs map[storage.ID]string
	// ThreadActor is the remote actor that owns a mirror thread (a local
	// member's reply to a thread on another server); nil otherwise.
	ThreadActor *storage.Account
	// Mentions are the remote accounts the post mentions, tagged and
	// addressed ([Server.NoteMentions]).
	Mentions []*storage.Account
	// Replies is the first page of the post's replies collection
	// ([Server.RepliesPage] from 0); nil embeds an empty page that links
	// the first one as its next.
	Replies *as.CollectionPage
	// Media are the post's images, in order (see Server.PostMedia).
	Media []storage.Media
}

// NoteFromPost builds the Note of a local, live post. In a mirror thread
// the Note points at the remote thread instead (context, audience, the
// mentioned and addressed thread actor), so the thread's home server files
// it there. It does no I/O, so
// collection pages and the delivery code (which embeds Notes in Create and
// Announce activities) can build many cheaply. The result has no @context;
// set Context to LDContext() when it is a top-level document.
func NoteFromPost(u *site.URLs, np NoteParts) *as.Note {
	p, t := np.Post, np.Thread
	author := AccountIRI(u, p.Author)
	threadID := u.Thread(t.ID)
	contextID, threadHandle := u.ThreadPosts(t.ID), "@"+u.Handle(t.Handle())
	threadFollowers := site.Followers(threadID)
	if t.IsMirror() {
		contextID, threadID, threadFollowers = *t.APID, *t.APID, ""
		if a := np.ThreadActor; a != nil && a.APID != nil {
			threadID, threadHandle, threadFollowers = *a.APID, "@"+a.Acct(), a.FollowersURL
		}
	}
	ref := func(id storage.ID) string {
		if iri, ok := np.Refs[id]; ok {
			return iri
		}
		return u.Post(id)
	}
	n := &as.Note{
		ID:           u.Post(p.ID),
		Type:         "Note",
		AttributedTo: author,
		Content:      p.HTML,
		Summary:      p.Summary,
		Sensitive:    p.Sensitive || p.Summary != "",
		Published:    as.FormatTime(p.CreatedAt),
		URL:          u.PostPermalink(p),
		To:           []string{as.Public},
		// The thread actor is addressed as well as mentioned: Mastodon
		// copies the mentions of a post into a reply to it, which routes
		// every reply back to the thread.
		Cc:        []string{site.Followers(author), threadFollowers, threadID},
		ContextID: contextID,
		Tag: []as.Tag{{
			Type: "Mention",
			Href: threadID,
			Name: threadHandle,
		}},
		Attachment: attachments(u, np.Media),
		Replies:    repliesOf(u, p.ID, np.Replies),
		Likes:      &as.CollectionLink{ID: u.PostLikes(p.ID), Type: "Collection", TotalItems: &p.LikeCount},
	}
	if p.Source != "" {
		n.Source = &as.Source{Content: p.Source, MediaType: "text/markdown"}
	}
	if threadFollowers == "" {
		n.Cc = []string{site.Followers(author), threadID}
	}
	switch {
	case t.IsMirror():
		if a := np.ThreadActor; a == nil || a.ActorType != "Person" {
			n.Audience = threadID
		}
	case np.Forum != nil:
		// FEP-1b12: the forum is the audience and the first group
		// addressed; NodeBB files a post under the first group it finds.
		n.Audience = u.Forum(np.Forum.Slug)
		n.Cc = append([]string{n.Audience}, n.Cc...)
	}
	for _, a := range np.Mentions {
		n.Tag = append(n.Tag, as.Tag{Type: "Mention", Href: *a.APID, Name: "@" + a.Acct()})
		n.Cc = append(n.Cc, *a.APID)
	}
	if p.EditedAt != nil {
		n.Updated = as.FormatTime(*p.EditedAt)
	}
	switch {
	case p.ReplyToID != nil:
		n.InReplyTo = ref(*p.ReplyToID)
	case p.QuoteID != nil:
		n.InReplyTo = ref(*p.QuoteID)
	case t.FirstPostID != nil && *t.FirstPostID != p.ID:
		n.InReplyTo = ref(*t.FirstPostID)
	}
	if !t.IsMirror() && (p.Position == 1 || (t.FirstPostID != nil && *t.FirstPostID == p.ID)) {
		// The title opens the content, not the Note's name: GoToSocial
		// shows a name as the content warning when there is no summary,
		// while Lemmy and NodeBB take a nameless post's first line as
		// its title.
		n.Content = TitleHTML(t.Title) + n.Content
	}
	if p.QuoteID != nil {
		q := ref(*p.QuoteID)
		n.Quote, n.QuoteURL, n.MisskeyQuote = q, q, q
	}
	return n
}

// TitleHTML is how a thread's title opens the content of its first
// post's Note: a paragraph in bold.
func TitleHTML(title string) string {
	return "<p><strong>" + html.EscapeString(title) + "</strong></p>"
}

// attachments are a post's images as Documents, the alt text as name:
// what Mastodon shows under a status.
func attachments(u *site.URLs, media []storage.Media) []any {
	out := make([]any, 0, len(media))
	for _, m := range media {
		if !m.Stored() {
			continue
		}
		out = append(out, as.Document{Type: "Document", MediaType: m.ContentType, URL: u.Media(m.FileKey),
			Name: m.Description, Blurhash: m.Blurhash, Width: m.Width, Height: m.Height})
	}
	return out
}

// PostMedia loads the images of the posts that have some, by post, in
// one query; posts without images cost nothing.
func (s *Server) PostMedia(ctx context.Context, posts ...*storage.Post) (map[storage.ID][]storage.Media, error) {
	var ids []storage.ID
	for _, p := range posts {
		if p.MediaCount > 0 && !p.IsDeleted() {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return s.store.MediaOfPosts(ctx, ids)
}

// TombstoneFor is what a deleted post answers.
func TombstoneFor(u *site.URLs, p *storage.Post) *as.Tombstone {
	ts := &as.Tombstone{ID: postIRI(u, p), Type: "Tombstone", FormerType: "Note"}
	if p.DeletedAt != nil {
		ts.Deleted = as.FormatTime(*p.DeletedAt)
	}
	return ts
}

// AccountIRI is the ActivityPub id of any account, local or remote.
func AccountIRI(u *site.URLs, a *storage.Account) string {
	if a == nil {
		return ""
	}
	if !a.IsLocal() && a.APID != nil {
		return *a.APID
	}
	return u.Member(a.Handle)
}

// postIRI is the ActivityPub id of any post, local or remote.
func postIRI(u *site.URLs, p *storage.Post) string {
	if p.APID != nil && *p.APID != "" {
		return *p.APID
	}
	return u.Post(p.ID)
}

// NoteByID loads a local post with everything its Note needs, the first
// page of its replies included. It returns
// the Note, or a Tombstone (and ok=false) when the post or its thread is
// deleted; storage.ErrNotFound when there is no such local post.
func (s *Server) NoteByID(ctx context.Context, id storage.ID) (note *as.Note, ts *as.Tombstone, err error) {
	p, err := s.store.PostByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if p.APID != nil {
		// A remote post lives at its own id; this node does not speak for it.
		return nil, nil, fmt.Errorf("post %s is remote: %w", id, storage.ErrNotFound)
	}
	t, err := s.store.ThreadByID(ctx, p.ThreadID)
	if err != nil {
		return nil, nil, err
	}
	if p.IsDeleted() || t.DeletedAt != nil {
		ts := TombstoneFor(s.urls, p)
		if ts.Deleted == "" && t.DeletedAt != nil {
			ts.Deleted = as.FormatTime(*t.DeletedAt)
		}
		return nil, ts, nil
	}
	f, err := s.Forum(ctx, t.ForumID)
	if err != nil {
		return nil, nil, err
	}
	owner, err := s.MirrorOwner(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	note, err = s.PostNote(ctx, p, t, f, owner, true)
	return note, nil, err
}

// PostNote builds the Note of the live local post p in thread t of forum
// f, whose remote owner is owner when t mirrors a remote thread
// ([Server.MirrorOwner]): it reads the post's remote references,
// mentions and images, and with replies embeds the first page of its
// replies, as /p/{id} serves it.
func (s *Server) PostNote(ctx context.Context, p *storage.Post, t *storage.Thread, f *storage.Forum, owner *storage.Account,
	replies bool) (*as.Note, error) {
	refs, err := s.RemoteRefs(ctx, []storage.Post{*p}, t)
	if err != nil {
		return nil, err
	}
	parts := NoteParts{Post: p, Thread: t, Forum: f, Refs: refs, ThreadActor: owner}
	if parts.Mentions, err = s.NoteMentions(ctx, p, t, refs); err != nil {
		return nil, err
	}
	if replies {
		if parts.Replies, err = s.RepliesPage(ctx, p, t, 0); err != nil {
			return nil, err
		}
	}
	media, err := s.PostMedia(ctx, p)
	if err != nil {
		return nil, err
	}
	parts.Media = media[p.ID]
	return NoteFromPost(s.urls, parts), nil
}

// MirrorOwner is the remote actor that owns a mirror thread; nil for a
// local thread or a mirror whose owner is unknown.
func (s *Server) MirrorOwner(ctx context.Context, t *storage.Thread) (*storage.Account, error) {
	if !t.IsMirror() || t.RemoteActorID == nil {
		return nil, nil
	}
	a, err := s.store.AccountByID(ctx, *t.RemoteActorID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return a, err
}

// RemoteRefs finds the ActivityPub ids of the remote posts that posts
// reply to or quote (and the thread's first post, the default reply
// target), in one query.
func (s *Server) RemoteRefs(ctx context.Context, posts []storage.Post, t *storage.Thread) (map[storage.ID]string, error) {
	known := make(map[storage.ID]bool, len(posts))
	for i := range posts {
		known[posts[i].ID] = true
	}
	refs := make(map[storage.ID]string)
	var want []storage.ID
	add := func(id *storage.ID) {
		if id != nil && !known[*id] {
			known[*id] = true
			want = append(want, *id)
		}
	}
	for i := range posts {
		p := &posts[i]
		if p.APID != nil {
			refs[p.ID] = *p.APID
		}
		add(p.ReplyToID)
		add(p.QuoteID)
	}
	add(t.FirstPostID)
	if len(want) == 0 {
		return refs, nil
	}
	remote, err := s.store.RemotePostIDs(ctx, want)
	if err != nil {
		return nil, err
	}
	for id, iri := range remote {
		refs[id] = iri
	}
	return refs, nil
}

// postModified is when a post's document last changed.
func postModified(p *storage.Post) time.Time {
	switch {
	case p.DeletedAt != nil:
		return *p.DeletedAt
	case p.EditedAt != nil:
		return *p.EditedAt
	}
	return p.CreatedAt
}
