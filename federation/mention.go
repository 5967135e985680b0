package federation

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/skein-forum/skein/storage"
)

// Whom a member's post mentions on other servers. Mastodon's convention
// is that a reply mentions the author it answers; servers of that family
// (GoToSocial among them) notify a user only of posts that mention them,
// and drop a post that neither mentions nor addresses anyone they host.
// The mentions are part of the Note itself, so the copy a server fetches
// from /p/ID and the one delivered in a Create are the same.

// maxMentions bounds the typed mentions a post federates.
const maxMentions = 10

// mentionPattern finds @name@host in Markdown, a port included
// (@ana@localhost:8080). Only actors the node already knows are
// mentioned: resolving unknown ones would put remote fetches on the
// paths that build Notes.
var mentionPattern = regexp.MustCompile(`(?:^|[^\w@/])@([A-Za-z0-9_.\-]{1,64})@([A-Za-z0-9.\-]{1,253}(?::[0-9]{1,5})?)`)

// NoteMentions returns the remote accounts a local post mentions: the
// author of the remote post it answers (its inReplyTo, see
// [NoteFromPost]) or quotes, then the known remote actors its text names.
// refs is what [Server.RemoteRefs] found for the post: a target not in it
// is local and needs no lookup.
func (s *Server) NoteMentions(ctx context.Context, p *storage.Post, t *storage.Thread, refs map[storage.ID]string) ([]*storage.Account, error) {
	var out []*storage.Account
	seen := map[storage.ID]bool{p.AuthorID: true}
	if t.RemoteActorID != nil {
		seen[*t.RemoteActorID] = true // the thread's owner is tagged as the thread
	}
	add := func(a *storage.Account) {
		if a != nil && !a.IsLocal() && a.APID != nil && !seen[a.ID] {
			seen[a.ID] = true
			out = append(out, a)
		}
	}
	for _, id := range []*storage.ID{replyTarget(p, t), p.QuoteID} {
		if id == nil || refs[*id] == "" {
			continue
		}
		target, err := s.store.PostByID(ctx, *id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		add(target.Author)
	}
	typed, err := s.typedMentions(ctx, p.Source)
	if err != nil {
		return nil, err
	}
	for _, a := range typed {
		add(a)
	}
	return out, nil
}

// replyTarget is the post a post's Note names as inReplyTo: the post it
// replies to, else the one it quotes, else the thread's first post.
func replyTarget(p *storage.Post, t *storage.Thread) *storage.ID {
	switch {
	case p.ReplyToID != nil:
		return p.ReplyToID
	case p.QuoteID != nil:
		return p.QuoteID
	case t.FirstPostID != nil && *t.FirstPostID != p.ID:
		return t.FirstPostID
	}
	return nil
}

// typedMentions resolves the @name@host mentions of Markdown to the
// remote accounts the node knows.
func (s *Server) typedMentions(ctx context.Context, source string) ([]*storage.Account, error) {
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
		a, err := s.store.RemoteAccountByAcct(ctx, m[1], m[2])
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
