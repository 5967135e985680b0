package inbox

import (
	"context"
	"errors"
	"strings"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/markup"
	"github.com/skein-forum/skein/storage"
)

// applyUpdate applies an edit of a Note by its author, or a new version
// of the signer's own actor document.
func (in *Inbox) applyUpdate(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	if act.Object.ID == *signer.APID {
		defer in.recent.signers.forget(*signer.APID) // createSigner's copy is out of date
		if act.Object.Raw == nil {
			_, err := in.fed.RefreshActor(ctx, *signer.APID)
			return err
		}
		_, err := in.fed.StoreActor(ctx, as.WithContext(act.Object.Raw, act.Raw["@context"]), *signer.APID)
		return err
	}
	if !as.IsNoteType(act.Object.Type) {
		return ignore("update of a %s", act.Object.Type)
	}
	post, err := in.store.PostByAPID(ctx, act.Object.ID)
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
	note, err := in.trustedNote(ctx, act.Object, signer, true)
	if err != nil {
		return err
	}
	html := strings.TrimSpace(markup.SanitizeRemote(noteHTML(note)))
	if html == "" {
		return ignore("update of %s leaves it empty", note.ID)
	}
	mentions, err := in.mentionedMembers(ctx, note)
	if err != nil {
		return err
	}
	_, err = in.store.UpdatePost(ctx, post.ID, storage.PostEdit{Source: as.ClipText(note.Source, storage.MaxBodyLen), HTML: html,
		Summary: noteWarning(note), Mentions: mentions})
	return err
}
