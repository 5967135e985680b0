package inbox

import (
	"context"
	"errors"
	"html"
	"strings"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/markup"
	"github.com/skein-forum/skein/storage"
)

// applyAnnounce takes a boosted Note into the thread it belongs to here,
// and tells a member of a boost of their post.
// FEP-1b12: a Group a member follows announces every post of its threads
// (the Note, or the Create of it); a post of a thread not mirrored yet
// starts the mirror.
func (in *Inbox) applyAnnounce(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
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
	if prefix, _ := localPath(in, ref.ID); prefix == "p" {
		// A boost of a post here: its author hears of it.
		p, err := in.localPost(ctx, ref.ID)
		if err != nil {
			return err
		}
		return in.store.AnnouncePost(ctx, p.ID, signer.ID)
	}
	note, err := in.trustedNote(ctx, ref, signer, false)
	if errors.Is(err, errStored) {
		return nil
	}
	if err != nil {
		return err
	}
	if t, _, err := in.threadOfNote(ctx, note); err != nil {
		return err
	} else if t != nil {
		_, err := in.storeNote(ctx, note, 0, signer)
		return err
	}
	followed, err := in.store.CountFollowers(ctx, storage.FollowAccount, signer.ID)
	if err != nil {
		return err
	}
	if followed == 0 {
		return ignore("announce by %s, whom no member follows, of a note of no thread here", *signer.APID)
	}
	if !note.Public() {
		return ignore("announced note %s is followers-only or direct", note.ID)
	}
	_, err = in.mirrorNote(ctx, note, signer, false)
	return err
}

// mirrorNote starts the mirror of a remote thread with a Note announced
// by owner (a group), or written by owner (a person a member follows or
// who mentions a member). The mirror is keyed by the Note's context
// (FEP-7888), or by the Note itself when it opens a thread that has none
// or, with standalone, when it answers a Note not stored here.
func (in *Inbox) mirrorNote(ctx context.Context, note *as.RemoteNote, owner *storage.Account, standalone bool) (*storage.Post, error) {
	key := note.Context
	if key == "" {
		if note.InReplyTo != "" && !standalone {
			return nil, ignore("reply %s to a note not stored here", note.ID)
		}
		key = note.ID
	}
	first, err := in.newRemotePost(ctx, note, owner)
	if err != nil {
		return nil, err
	}
	title := note.Name
	if title == "" && note.InReplyTo == "" {
		// A Skein thread's opening post carries its title as a bold
		// first paragraph rather than a name (see federation.TitleHTML).
		if t, rest, ok := boldTitle(first.HTML); ok {
			title, first.HTML = t, rest
		}
	}
	if title == "" && note.Context != "" && owner.ActorType == "Group" {
		title = owner.DisplayName
	}
	if title == "" {
		title = markup.Excerpt(first.HTML, 80)
	}
	t, err := in.store.MirrorThread(ctx, storage.NewMirror{APID: key, RemoteActorID: &owner.ID,
		Title: as.ClipText(title, storage.MaxTitleLen), First: first})
	if err != nil {
		return nil, err
	}
	// The mirror may have existed: then the Note joins it.
	first.ThreadID = t.ID
	p, _, err := in.createPost(ctx, first)
	if err != nil {
		return nil, err
	}
	if err := in.lateDelete(ctx, p, note.ID); err != nil {
		return nil, err
	}
	in.queueBackfill(ctx, t.ID, note, 1)
	return p, nil
}

// startThread stores a Note that belongs to no thread here as the first
// post of a thread of its own, owned by its author, when a member is to
// see it: it mentions a member, or its author is someone a member follows
// and it answers nobody (a reply to a stranger's post would be a thread
// without its start). A member's answer there mentions the author.
func (in *Inbox) startThread(ctx context.Context, note *as.RemoteNote) (*storage.Post, error) {
	author, err := in.fed.ResolveActor(ctx, note.AttributedTo)
	if err != nil {
		return nil, err
	}
	mentioned, err := in.mentionedMembers(ctx, note)
	if err != nil {
		return nil, err
	}
	if len(mentioned) == 0 {
		if note.InReplyTo != "" {
			return nil, ignore("note %s answers a note not stored here and mentions no member", note.ID)
		}
		followed, err := in.store.CountFollowers(ctx, storage.FollowAccount, author.ID)
		if err != nil {
			return nil, err
		}
		if followed == 0 {
			return nil, ignore("note %s belongs to no thread here, mentions no member and its author has no follower here", note.ID)
		}
	}
	return in.mirrorNote(ctx, note, author, true)
}

// boldTitle splits HTML that opens with a paragraph holding only bold
// text into that text and the rest.
func boldTitle(h string) (title, rest string, ok bool) {
	body, ok := strings.CutPrefix(h, "<p><strong>")
	if !ok {
		return "", h, false
	}
	inner, rest, ok := strings.Cut(body, "</strong></p>")
	if !ok || strings.Contains(inner, "<") || strings.TrimSpace(rest) == "" {
		return "", h, false
	}
	return html.UnescapeString(inner), strings.TrimSpace(rest), true
}
