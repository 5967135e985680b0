package outbox

import (
	"context"
	"strings"

	"github.com/skein-forum/skein/storage"
)

// Who an outbox activity reaches. Recipients carry both inboxes; storage
// picks the shared one where a server offers it and keeps each inbox once
// per activity.

// followersPage is how many known inboxes one query reads when a
// member's deletion goes to every server the node knows.
const followersPage = 1000

// groupSoftware names the NodeInfo software of FEP-1b12 group servers:
// they want a forum's activities announced as they are.
var groupSoftware = map[string]bool{"lemmy": true, "nodebb": true, "piefed": true, "mbin": true, "kbin": true}

// followers returns the remote followers of a target as recipients: one
// for each shared inbox (per host and software) and one for each follower
// without one, which is what the jobs are made of (see
// [storage.Store.RemoteFollowerTargets]); a recipient standing for
// several followers has no FollowerID. With splitGroups, followers on
// group software come back apart (FEP-1b12 peers); followers whose
// software is not yet known are treated as plain and their hosts queued
// for a NodeInfo probe. Suspended followers are left out by the query.
func (w *Worker) followers(ctx context.Context, kind string, id storage.ID, splitGroups bool) (plain, groups []storage.Recipient, err error) {
	if passOf(ctx).unfollowed(kind, id) {
		return nil, nil, nil
	}
	targets, err := w.store.RemoteFollowerTargets(ctx, kind, id)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range targets {
		if w.Fed.Blocked(f.Domain) {
			continue
		}
		r := storage.Recipient{Inbox: f.Inbox, SharedInbox: f.SharedInbox, FollowerID: f.AccountID}
		switch {
		case !splitGroups:
			plain = append(plain, r)
		case groupSoftware[strings.ToLower(f.Software)]:
			groups = append(groups, r)
		default:
			if f.Software == "" {
				w.software.want(f.Domain, f.Inbox)
			}
			plain = append(plain, r)
		}
	}
	return plain, groups, nil
}

// without drops the recipient that is the given account.
func without(rs []storage.Recipient, accountID storage.ID) []storage.Recipient {
	out := rs[:0:0]
	for _, r := range rs {
		if r.FollowerID != accountID {
			out = append(out, r)
		}
	}
	return out
}

// appendActor adds a remote actor as a recipient; local, unknown and
// suspended actors and blocked hosts are skipped.
func (w *Worker) appendActor(rs []storage.Recipient, a *storage.Account, follower bool) []storage.Recipient {
	if a == nil || a.IsLocal() || a.Inbox == "" || a.Suspended || w.Fed.Blocked(a.Domain) {
		return rs
	}
	r := storage.Recipient{Inbox: a.Inbox, SharedInbox: a.SharedInbox}
	if follower {
		r.FollowerID = a.ID
	}
	return append(rs, r)
}

// directAudience is who a member's own activity about a post goes to: the
// member's remote followers, the remote accounts the post mentions (the
// author it answers among them, see [federation.Server.NoteMentions]) and
// the owner of a mirror thread.
func (w *Worker) directAudience(ctx context.Context, sc *scene) ([]storage.Recipient, error) {
	to, _, err := w.followers(ctx, storage.FollowAccount, sc.post.AuthorID, false)
	if err != nil {
		return nil, err
	}
	refs, err := w.Fed.RemoteRefs(ctx, []storage.Post{*sc.post}, sc.thread)
	if err != nil {
		return nil, err
	}
	mentioned, err := w.Fed.NoteMentions(ctx, sc.post, sc.thread, refs)
	if err != nil {
		return nil, err
	}
	for _, a := range mentioned {
		to = w.appendActor(to, a, false)
	}
	return w.appendActor(to, sc.owner, false), nil
}
