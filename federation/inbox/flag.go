package inbox

import (
	"context"
	"errors"
	"strings"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/markup"
	"github.com/skein-forum/skein/storage"
)

// Flags and refusals. A remote server's Flag files reports in the report
// queue. Suspended actors and hosts (by a block, by the allow list, or
// one actor) are refused: their POSTs are answered 403 and anything they
// queued before the suspension is dropped when it is applied
// ([Inbox.refuseSuspended]); the outbox sends them nothing. A silenced
// actor's follows of local actors wait for a moderator's approval
// ([Inbox.holdFollow], [Inbox.AnswerFollowRequest]).

// maxFlagObjects bounds how many objects of one Flag are looked at.
const maxFlagObjects = 20

// applyFlag files a remote server's report. Mastodon's shape: the actor
// is the reporting server's instance actor, object an array of the
// reported account and any of its statuses, content the comment. Each
// post named (local, or remote in a thread here, as Lemmy reports to the
// community) makes one report; a Flag naming only members makes one
// report per member. A Flag delivered twice files nothing new.
func (in *Inbox) applyFlag(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	if act.ID == "" {
		return ignore("flag without an id")
	}
	var ids []string
	switch o := act.Raw["object"].(type) {
	case []any:
		for _, v := range o {
			if id := as.ID(v); id != "" && len(ids) < maxFlagObjects {
				ids = append(ids, id)
			}
		}
	default:
		if id := as.ID(o); id != "" {
			ids = append(ids, id)
		}
	}
	var posts []*storage.Post
	var members []*storage.Account
	for _, id := range ids {
		p, a, err := in.flagged(ctx, id)
		if err != nil {
			return err
		}
		if p != nil {
			posts = append(posts, p)
		}
		if a != nil {
			members = append(members, a)
		}
	}
	reason := flagReason(act.Raw["content"])
	flagID := act.ID
	filed := 0
	reported := map[storage.ID]bool{}
	for _, p := range posts {
		reported[p.AuthorID] = true
		_, err := in.store.CreateReport(ctx, storage.NewReport{ReporterID: signer.ID, PostID: &p.ID, Reason: reason, RemoteFlagAPID: &flagID})
		if err != nil {
			return err
		}
		filed++
	}
	for _, a := range members {
		if reported[a.ID] {
			continue // their posts are reported: that says it
		}
		reported[a.ID] = true
		_, err := in.store.CreateReport(ctx, storage.NewReport{ReporterID: signer.ID, AccountID: a.ID, Reason: reason, RemoteFlagAPID: &flagID})
		if err != nil {
			return err
		}
		filed++
	}
	if filed == 0 {
		return ignore("flag names nothing here")
	}
	return nil
}

// flagged resolves one object of a Flag: a post (local, by its URL or
// its thread's, or remote and stored here) or a member. Anything else is
// neither, without error.
func (in *Inbox) flagged(ctx context.Context, iri string) (*storage.Post, *storage.Account, error) {
	prefix, name := localPath(in, iri)
	var p *storage.Post
	var err error
	switch prefix {
	case "u":
		a, err := in.store.MemberByHandle(ctx, name)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, nil
		}
		return nil, a, err
	case "p":
		p, err = in.localPost(ctx, iri)
	case "t":
		var t *storage.Thread
		if t, err = in.localThread(ctx, name); err == nil && t.FirstPostID != nil {
			p, err = in.store.PostByID(ctx, *t.FirstPostID)
		}
	case "":
		p, err = in.store.PostByAPID(ctx, iri)
	default:
		return nil, nil, nil
	}
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, errIgnored) || (p != nil && p.IsDeleted()) {
		return nil, nil, nil
	}
	return p, nil, err
}

// flagReason is a Flag's comment as plain text: Mastodon sends text,
// others HTML.
func flagReason(v any) string {
	s, _ := v.(string)
	if strings.Contains(s, "<") {
		s = markup.Excerpt(markup.SanitizeRemote(as.ClipText(s, as.MaxContent)), storage.MaxReportReason/4)
	}
	return as.ClipText(strings.TrimSpace(s), storage.MaxReportReason)
}
