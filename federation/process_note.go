package federation

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strings"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/markup"
	"github.com/skein-forum/skein/storage"
)

// Notes from other servers: replies to Skein threads, their edits and
// deletions, and the posts of remote threads members follow (mirrors).
//
// Origin rule: a Note is trusted as it came only when its id and its
// author are on the signer's host. Anything else is fetched from the
// Note's own server (a signed GET) and believed only as that server
// serves it; what cannot be fetched is ignored.

// errStored means a Note is stored here already: nothing to fetch.
var errStored = fmt.Errorf("%w: note stored already", errIgnored)

// applyCreate stores a Note tied to a thread here.
func (s *Server) applyCreate(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	if act.Object.Raw != nil && !as.IsNoteType(act.Object.Type) {
		return ignore("create of a %s", act.Object.Type)
	}
	note, err := s.trustedNote(ctx, act.Object, signer, true)
	if err != nil {
		return err
	}
	_, err = s.storeNote(ctx, note, 0)
	return err
}

// trustedNote is the Note an activity carries, or the one its origin
// serves when the copy carried cannot be trusted (see above). With
// byActor the Note must also be the signer's own to be taken as carried.
func (s *Server) trustedNote(ctx context.Context, ref as.Object, signer *storage.Account, byActor bool) (*as.RemoteNote, error) {
	if ref.Raw != nil {
		note, err := as.ReadNote(ref.Raw)
		if err != nil {
			return nil, err
		}
		if sameHost(note.ID, signer.Domain) && sameHost(note.AttributedTo, signer.Domain) &&
			(!byActor || note.AttributedTo == *signer.APID) {
			return note, nil
		}
		ref.ID = note.ID
	}
	if ref.ID == "" {
		return nil, ignore("object without an id")
	}
	return s.fetchNote(ctx, ref.ID)
}

// fetchNote fetches a Note from its own server. The document must carry
// the id it was fetched by and an author on the same host.
func (s *Server) fetchNote(ctx context.Context, id string) (*as.RemoteNote, error) {
	host, err := s.checkRemote(id)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.PostByAPID(ctx, id); err == nil {
		return nil, errStored
	}
	m, final, err := s.fetchObject(ctx, id)
	if err != nil {
		return nil, err
	}
	if got, _ := m["id"].(string); got != id || !sameHost(final, host) {
		return nil, ignore("%s serves a document with id %q", id, got)
	}
	typ, _ := m["type"].(string)
	if !as.IsNoteType(typ) {
		return nil, ignore("%s is a %s", id, typ)
	}
	// A few servers leave @context out of objects; go-fed needs one.
	note, err := as.ReadNote(m)
	if err != nil {
		return nil, err
	}
	if !sameHost(note.AttributedTo, host) {
		return nil, ignore("note %s is attributed to %s on another host", id, note.AttributedTo)
	}
	return note, nil
}

// storeNote adds a Note to the thread it belongs to, here or in a mirror,
// and asks for its replies (backfill) when it is new. A Note tied to
// nothing here is ignored.
func (s *Server) storeNote(ctx context.Context, note *as.RemoteNote, depth int) (*storage.Post, error) {
	if p, err := s.store.PostByAPID(ctx, note.ID); err == nil {
		return p, nil
	}
	t, replyTo, err := s.threadOfNote(ctx, note)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, ignore("note %s belongs to no thread here", note.ID)
	}
	np, err := s.newRemotePost(ctx, note)
	if err != nil {
		return nil, err
	}
	np.ThreadID, np.ReplyToID = t.ID, replyTo
	if q := s.postIn(ctx, note.Quote, t.ID); q != nil {
		np.QuoteID = &q.ID
	}
	p, err := s.createPost(ctx, np)
	if err != nil {
		return nil, err
	}
	s.queueBackfill(ctx, t.ID, note, depth+1)
	return p, nil
}

// newRemotePost makes the post of a Note, author and text; the caller
// places it.
func (s *Server) newRemotePost(ctx context.Context, note *as.RemoteNote) (storage.NewPost, error) {
	author, err := s.ResolveActor(ctx, note.AttributedTo)
	if err != nil {
		return storage.NewPost{}, err
	}
	html := strings.TrimSpace(markup.SanitizeRemote(noteHTML(note)))
	if html == "" {
		return storage.NewPost{}, ignore("note %s is empty", note.ID)
	}
	link := note.URL
	if u, err := url.Parse(link); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		link = note.ID
	}
	apID := note.ID
	return storage.NewPost{AuthorID: author.ID, Source: as.ClipText(note.Source, storage.MaxBodyLen), HTML: html,
		APID: &apID, URL: link, CreatedAt: note.Published}, nil
}

// threadOfNote finds the thread a Note belongs to: the thread of the post
// it replies to, the thread its context or audience names, or a thread
// actor it addresses or mentions. replyTo is the post it answers, when
// that is in the thread.
func (s *Server) threadOfNote(ctx context.Context, note *as.RemoteNote) (t *storage.Thread, replyTo *storage.ID, err error) {
	if note.InReplyTo != "" {
		p, err := s.postByIRI(ctx, note.InReplyTo)
		if err != nil {
			return nil, nil, err
		}
		if p != nil {
			t, err := s.store.ThreadByID(ctx, p.ThreadID)
			if err != nil {
				return nil, nil, err
			}
			return t, &p.ID, nil
		}
	}
	// inReplyTo may name a thread rather than a post.
	for _, iri := range append([]string{note.InReplyTo, note.Context, note.Audience}, append(note.Recipients, note.Mentions...)...) {
		if iri == "" || iri == as.Public {
			continue
		}
		t, err := s.threadByIRI(ctx, iri)
		if err != nil || t != nil {
			return t, nil, err
		}
	}
	return nil, nil, nil
}

// postByIRI finds a post here by its ActivityPub id, local or remote; nil
// when there is none.
func (s *Server) postByIRI(ctx context.Context, iri string) (*storage.Post, error) {
	var p *storage.Post
	var err error
	if prefix, _ := localPath(s, iri); prefix != "" {
		p, err = s.localPost(ctx, iri)
	} else {
		p, err = s.store.PostByAPID(ctx, iri)
	}
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, errIgnored) {
		return nil, nil
	}
	return p, err
}

// threadByIRI finds a thread by a local thread URL (the Group or its posts
// collection) or a mirror by its remote id; nil when there is none.
func (s *Server) threadByIRI(ctx context.Context, iri string) (*storage.Thread, error) {
	var t *storage.Thread
	var err error
	if prefix, name := localPath(s, iri); prefix == "t" {
		t, err = s.localThread(ctx, name)
	} else if prefix == "" {
		t, err = s.store.ThreadByAPID(ctx, iri)
	} else {
		return nil, nil
	}
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, errIgnored) {
		return nil, nil
	}
	return t, err
}

// postIn is the post iri names if it is in thread threadID, else nil.
func (s *Server) postIn(ctx context.Context, iri string, threadID storage.ID) *storage.Post {
	if iri == "" {
		return nil
	}
	p, err := s.postByIRI(ctx, iri)
	if err != nil || p == nil || p.ThreadID != threadID {
		return nil
	}
	return p
}

// applyUpdate applies an edit of a Note by its author, or a new version
// of the signer's own actor document.
func (s *Server) applyUpdate(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	if act.Object.ID == *signer.APID {
		if act.Object.Raw == nil {
			_, err := s.RefreshActor(ctx, *signer.APID)
			return err
		}
		_, err := s.storeActor(ctx, as.WithContext(act.Object.Raw, act.Raw["@context"]), *signer.APID)
		return err
	}
	if !as.IsNoteType(act.Object.Type) {
		return ignore("update of a %s", act.Object.Type)
	}
	post, err := s.store.PostByAPID(ctx, act.Object.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return ignore("update of %s, which is not stored here", act.Object.ID)
	}
	if err != nil {
		return err
	}
	if post.AuthorID != signer.ID {
		return ignore("update of %s by someone other than its author", act.Object.ID)
	}
	if post.IsDeleted() {
		return ignore("update of deleted post %s", post.ID)
	}
	note, err := s.trustedNote(ctx, act.Object, signer, true)
	if err != nil {
		return err
	}
	html := strings.TrimSpace(markup.SanitizeRemote(noteHTML(note)))
	if html == "" {
		return ignore("update of %s leaves it empty", note.ID)
	}
	_, err = s.store.EditPost(ctx, post.ID, as.ClipText(note.Source, storage.MaxBodyLen), html)
	return err
}

// applyDelete deletes a Note by its author, or, when an actor deletes
// itself, every post it wrote and every follow it made.
func (s *Server) applyDelete(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	id := act.Object.ID
	if id == *signer.APID {
		n, err := s.store.DeletePostsByAuthor(ctx, signer.ID)
		if err != nil {
			return err
		}
		if _, err := s.store.RemoveFollowsBy(ctx, signer.ID); err != nil {
			return err
		}
		s.log.Info("remote actor deleted itself", "actor", id, "posts", n)
		return nil
	}
	post, err := s.store.PostByAPID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return ignore("delete of %s, which is not stored here", id)
	}
	if err != nil {
		return err
	}
	if post.AuthorID != signer.ID {
		return ignore("delete of %s by someone other than its author", id)
	}
	return s.store.DeletePost(ctx, post.ID)
}

// applyAnnounce takes a boosted Note into the thread it belongs to here.
// FEP-1b12: a Group a member follows announces every post of its threads
// (the Note, or the Create of it); a post of a thread not mirrored yet
// starts the mirror.
func (s *Server) applyAnnounce(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	ref := act.Object
	switch {
	case ref.Raw == nil || as.IsNoteType(ref.Type):
	case ref.Type == "Create" || ref.Type == "Update":
		// The announced activity is nobody's signature: take its Note
		// as if announced alone.
		ref = as.ObjectOf(ref.Raw["object"])
	default:
		return ignore("announce of a %s", ref.Type)
	}
	note, err := s.trustedNote(ctx, ref, signer, false)
	if errors.Is(err, errStored) {
		return nil
	}
	if err != nil {
		return err
	}
	if t, _, err := s.threadOfNote(ctx, note); err != nil {
		return err
	} else if t != nil {
		_, err := s.storeNote(ctx, note, 0)
		return err
	}
	followed, err := s.store.CountFollowers(ctx, storage.FollowAccount, signer.ID)
	if err != nil {
		return err
	}
	if followed == 0 {
		return ignore("announce by %s, whom no member follows, of a note of no thread here", *signer.APID)
	}
	return s.mirrorNote(ctx, note, signer)
}

// mirrorNote starts the mirror of a remote thread with a Note announced
// by group. The mirror is keyed by the Note's context (FEP-7888), or by
// the Note itself when it opens a thread that has none.
func (s *Server) mirrorNote(ctx context.Context, note *as.RemoteNote, group *storage.Account) error {
	key := note.Context
	if key == "" {
		if note.InReplyTo != "" {
			return ignore("reply %s to a note not stored here", note.ID)
		}
		key = note.ID
	}
	first, err := s.newRemotePost(ctx, note)
	if err != nil {
		return err
	}
	title := note.Name
	if title == "" && note.Context != "" {
		title = group.DisplayName
	}
	if title == "" {
		title = markup.Excerpt(first.HTML, 80)
	}
	t, err := s.store.MirrorThread(ctx, storage.NewMirror{APID: key, RemoteActorID: &group.ID,
		Title: as.ClipText(title, storage.MaxTitleLen), First: first})
	if err != nil {
		return err
	}
	// The mirror may have existed: then the Note joins it.
	first.ThreadID = t.ID
	if _, err := s.createPost(ctx, first); err != nil {
		return err
	}
	s.queueBackfill(ctx, t.ID, note, 1)
	return nil
}

// noteHTML is what a remote Note shows as, before sanitizing: its content,
// its content warning above it and links to its media below.
func noteHTML(n *as.RemoteNote) string {
	var b strings.Builder
	if n.Summary != "" {
		fmt.Fprintf(&b, "<p><strong>%s</strong></p>", html.EscapeString(as.ClipText(n.Summary, as.MaxNameLen)))
	}
	b.WriteString(n.Content)
	for _, a := range n.Attachments {
		fmt.Fprintf(&b, `<p><a href="%s">%s</a></p>`, html.EscapeString(a), "Attachment")
	}
	return strings.ReplaceAll(b.String(), "\x00", "")
}
