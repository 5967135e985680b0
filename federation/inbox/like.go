package inbox

import (
	"context"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// applyLike records a like of a local post, which counts toward its
// author's reputation.
func (in *Inbox) applyLike(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	if act.ID == "" {
		return ignore("like without an id")
	}
	post, err := in.localPost(ctx, act.Object.ID)
	if err != nil {
		return err
	}
	_, err = in.store.LikePost(ctx, post.ID, signer.ID, &act.ID)
	return err
}
