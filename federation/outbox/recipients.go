package outbox

import (
	"context"
	"errors"
	"regexp"
	"strings"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/storage"
)

// Who an outbox activity reaches. Recipients carry both inboxes; storage
// picks the shared one where a server offers it and keeps each inbox once
// per activity.

// followersPage is how many followers one query reads during a fan-out.
const followersPage = 1000

// groupSoftware names the NodeInfo software of FEP-1b12 group servers:
// they want a forum's activities announced as they are.
var groupSoftware = map[string]bool{"lemmy": true, "nodebb": true, "piefed": true, "mbin": true, "kbin": true}

// followers returns the remote followers of a target as recipients. With
// splitGroups, followers on group software come back apart (FEP-1b12
// peers); followers whose software is not yet known are treated as plain
// and their hosts queued for a NodeInfo probe.
func (w *Worker) followers(ctx context.Context, kind string, id storage.ID, splitGroups bool) (plain, groups []storage.Recipient, err error) {
	if passOf(ctx).unfollowed(kind, id) {
		return nil, nil, nil
	}
	var after storage.ID
	for {
		page, err := w.store.RemoteFollowerInboxes(ctx, kind, id, after, followersPage)
		if err != nil {
			return nil, nil, err
		}
		for _, f := range page {
			if w.Fed.Blocked(f.Domain) {
				continue
			}
			if suspended, err := w.store.AccountSuspended(ctx, f.AccountID); err != nil {
				return nil, nil, err
			} else if suspended {
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
		if len(page) < followersPage {
			return plain, groups, nil
		}
		after = page[len(page)-1].FollowID
	}
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
// member's remote followers, the remote authors the post replies to or
// quotes, the known remote actors it mentions, and the owner of a mirror
// thread. With a note, mentions are added to its tags and cc.
func (w *Worker) directAudience(ctx context.Context, sc *scene, note *as.Note) ([]storage.Recipient, error) {
	to, _, err := w.followers(ctx, storage.FollowAccount, sc.post.AuthorID, false)
	if err != nil {
		return nil, err
	}
	targets := []*storage.ID{sc.post.ReplyToID, sc.post.QuoteID}
	if sc.post.ReplyToID == nil && sc.post.QuoteID == nil && !sc.isFirst() {
		targets = append(targets, sc.thread.FirstPostID) // federation.NoteFromPost's default inReplyTo
	}
	for _, id := range targets {
		if id == nil {
			continue
		}
		p, err := w.store.PostByID(ctx, *id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		to = w.appendActor(to, p.Author, false)
	}
	to = w.appendActor(to, sc.owner, false)
	if note == nil {
		return to, nil
	}
	mentioned, err := w.mentions(ctx, sc.post.Source)
	if err != nil {
		return nil, err
	}
	for _, a := range mentioned {
		to = w.appendActor(to, a, false)
		note.Tag = append(note.Tag, as.Tag{Type: "Mention", Href: *a.APID, Name: "@" + a.Acct()})
		note.Cc = append(note.Cc, *a.APID)
	}
	return to, nil
}

// mentionPattern finds @name@host in Markdown. Only actors the node
// already knows are mentioned: resolving unknown ones would put remote
// fetches on the outbox's path.
var mentionPattern = regexp.MustCompile(`(?:^|[^\w@/])@([A-Za-z0-9_.\-]{1,64})@([A-Za-z0-9.\-]{1,253}(?::[0-9]{1,5})?)`)

const maxMentions = 10

func (w *Worker) mentions(ctx context.Context, source string) ([]*storage.Account, error) {
	if !strings.Contains(source, "@") {
		return nil, nil
	}
	seen := map[string]bool{}
	var out []*storage.Account
	for _, m := range mentionPattern.FindAllStringSubmatch(source, -1) {
		acct := strings.ToLower(m[1] + "@" + m[2])
		if seen[acct] || len(seen) >= maxMentions {
			continue
		}
		seen[acct] = true
		a, err := w.store.RemoteAccountByAcct(ctx, m[1], m[2])
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !a.IsLocal() && a.APID != nil {
			out = append(out, a)
		}
	}
	return out, nil
}
