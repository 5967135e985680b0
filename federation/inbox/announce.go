package inbox

import (
	"context"
	"errors"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/markup"
	"github.com/skein-forum/skein/storage"
)

// applyAnnounce takes a boosted Note into the thread it belongs to here.
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
	return in.mirrorNote(ctx, note, signer)
}

// mirrorNote starts the mirror of a remote thread with a Note announced
// by group. The mirror is keyed by the Note's context (FEP-7888), or by
// the Note itself when it opens a thread that has none.
func (in *Inbox) mirrorNote(ctx context.Context, note *as.RemoteNote, group *storage.Account) error {
	key := note.Context
	if key == "" {
		if note.InReplyTo != "" {
			return ignore("reply %s to a note not stored here", note.ID)
		}
		key = note.ID
	}
	first, err := in.newRemotePost(ctx, note)
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
	t, err := in.store.MirrorThread(ctx, storage.NewMirror{APID: key, RemoteActorID: &group.ID,
		Title: as.ClipText(title, storage.MaxTitleLen), First: first})
	if err != nil {
		return err
	}
	// The mirror may have existed: then the Note joins it.
	first.ThreadID = t.ID
	p, err := in.createPost(ctx, first)
	if err != nil {
		return err
	}
	if err := in.lateDelete(ctx, p, note.ID); err != nil {
		return err
	}
	in.queueBackfill(ctx, t.ID, note, 1)
	return nil
}
