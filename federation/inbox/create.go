package inbox

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/url"
	"slices"
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
func (in *Inbox) applyCreate(ctx context.Context, act *as.Incoming, signer *storage.Account) error {
	if act.Object.Raw != nil && !as.IsNoteType(act.Object.Type) {
		return ignore("create of a %s", act.Object.Type)
	}
	note, err := in.trustedNote(ctx, act.Object, signer, true)
	if err != nil {
		return err
	}
	_, err = in.storeNote(ctx, note, 0, signer)
	return err
}

// trustedNote is the Note an activity carries, or the one its origin
// serves when the copy carried cannot be trusted (see above). With
// byActor the Note must also be the signer's own to be taken as carried.
func (in *Inbox) trustedNote(ctx context.Context, ref as.Object, signer *storage.Account, byActor bool) (*as.RemoteNote, error) {
	if ref.Raw != nil {
		note, err := as.ReadNote(ref.Raw)
		if err != nil {
			return nil, err
		}
		if carriedNoteTrusted(note, signer, byActor) {
			return note, nil
		}
		ref.ID = note.ID
	}
	if ref.ID == "" {
		return nil, ignore("object without an id")
	}
	return in.fetchNote(ctx, ref.ID)
}

// carriedNoteTrusted reports whether a Note carried in an activity may be
// taken as it came: it and its author are on the signer's host, and with
// byActor its author is the signer.
func carriedNoteTrusted(note *as.RemoteNote, signer *storage.Account, byActor bool) bool {
	return as.SameHost(note.ID, signer.Domain) && as.SameHost(note.AttributedTo, signer.Domain) &&
		(!byActor || (signer.APID != nil && note.AttributedTo == *signer.APID))
}

// fetchNote fetches a Note from its own server. The document must carry
// the id it was fetched by and an author on the same host.
func (in *Inbox) fetchNote(ctx context.Context, id string) (*as.RemoteNote, error) {
	host, err := in.fed.CheckRemote(id)
	if err != nil {
		return nil, err
	}
	if _, err := in.store.PostByAPID(ctx, id); err == nil {
		return nil, errStored
	}
	m, final, err := in.fed.FetchObject(ctx, id)
	if err != nil {
		return nil, err
	}
	if got, _ := m["id"].(string); got != id || !as.SameHost(final, host) {
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
	if !as.SameHost(note.AttributedTo, host) {
		return nil, ignore("note %s is attributed to %s on another host", id, note.AttributedTo)
	}
	return note, nil
}

// storeNote adds a Note to the thread it belongs to, here or in a mirror,
// and asks for its replies (backfill) when it is new. A Note tied to no
// thread here starts one when a member is to see it (startThread).
// Followers-only and direct Notes are not stored: every thread here can
// be read by anyone. via is the actor that sent it (the author of a
// Create, the booster of an Announce), nil for a Note found by backfill.
func (in *Inbox) storeNote(ctx context.Context, note *as.RemoteNote, depth int, via *storage.Account) (*storage.Post, error) {
	// A Note the actor's previous activity is still storing, or one
	// that answers or quotes it, must find that post (see pipeline.go).
	if err := waitEarlierFor(ctx, note.ID, note.InReplyTo, note.Quote); err != nil {
		return nil, err
	}
	// And so must one that answers or quotes a Note an inbox POST is
	// storing this moment (direct.go).
	if err := in.waitStoring(ctx, note.InReplyTo, note.Quote); err != nil {
		return nil, err
	}
	// A Note its author sends is new but for a rare retry, and the
	// commit finds a post stored already by its id: asking first cost a
	// read for every reply. A Note found or boosted by others is often
	// here already, and is looked for first.
	byAuthor := via != nil && via.APID != nil && *via.APID == note.AttributedTo
	stored := func() (*storage.Post, bool) {
		p, err := in.store.PostByAPID(ctx, note.ID)
		return p, err == nil
	}
	if !byAuthor {
		if p, ok := stored(); ok {
			return p, nil
		}
	}
	if !note.Public() {
		return nil, ignore("note %s is followers-only or direct: only public and unlisted posts are shown here", note.ID)
	}
	t, replyTo, err := in.threadOfNote(ctx, note)
	if err != nil {
		return nil, err
	}
	if t == nil {
		if byAuthor {
			if p, ok := stored(); ok {
				return p, nil
			}
		}
		return in.startThread(ctx, note)
	}
	if t.IsMirror() && via != nil {
		if err := in.mirrorAdmits(ctx, t, note, via); err != nil {
			return nil, err
		}
	}
	np, err := in.placedPost(ctx, note, t, replyTo, via)
	if err != nil {
		return nil, err
	}
	p, created, err := in.createPost(ctx, np)
	if err != nil || !created {
		return p, err // stored before: its checks and backfill were done then
	}
	if !byAuthor {
		if err := in.lateDelete(ctx, p, note.ID); err != nil {
			return nil, err
		}
	}
	in.queueBackfill(ctx, t.ID, note, depth+1)
	return p, nil
}

// placedPost makes the post of a Note in thread t, answering replyTo,
// and quoting the post it quotes when that is in the thread. via is the
// account that sent it, if known (see newRemotePost).
func (in *Inbox) placedPost(ctx context.Context, note *as.RemoteNote, t *storage.Thread, replyTo *storage.ID, via *storage.Account) (storage.NewPost, error) {
	np, err := in.newRemotePost(ctx, note, via)
	if err != nil {
		return np, err
	}
	np.ThreadID, np.ReplyToID = t.ID, replyTo
	if q := in.postIn(ctx, note.Quote, t.ID); q != nil {
		np.QuoteID = &q.ID
	}
	return np, nil
}

// newRemotePost makes the post of a Note, author and text; the caller
// places it. via, when not nil, is the account that sent the Note,
// resolved for this activity: when it is the author (a Create, the
// common case) it is not read again.
func (in *Inbox) newRemotePost(ctx context.Context, note *as.RemoteNote, via *storage.Account) (storage.NewPost, error) {
	author := via
	if author == nil || author.APID == nil || *author.APID != note.AttributedTo {
		var err error
		if author, err = in.fed.ResolveActor(ctx, note.AttributedTo); err != nil {
			return storage.NewPost{}, err
		}
	}
	html := strings.TrimSpace(markup.SanitizeRemote(noteHTML(note)))
	if html == "" {
		return storage.NewPost{}, ignore("note %s is empty", note.ID)
	}
	link := note.URL
	if u, err := url.Parse(link); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		link = note.ID
	}
	mentions, err := in.mentionedMembers(ctx, note)
	if err != nil {
		return storage.NewPost{}, err
	}
	apID := note.ID
	return storage.NewPost{AuthorID: author.ID, Source: as.ClipText(note.Source, storage.MaxBodyLen), HTML: html,
		APID: &apID, URL: link, CreatedAt: note.Published, Summary: noteWarning(note),
		Mentions: mentions, RemoteMedia: remoteImages(note)}, nil
}

// maxMentionedMembers bounds the members one Note notifies.
const maxMentionedMembers = 20

// mentionedMembers are the members a Note's Mention tags name, whom
// storing it notifies.
func (in *Inbox) mentionedMembers(ctx context.Context, note *as.RemoteNote) ([]storage.ID, error) {
	var out []storage.ID
	for _, href := range note.Mentions {
		if len(out) == maxMentionedMembers {
			break
		}
		prefix, handle := localPath(in, href)
		if prefix != "u" {
			continue
		}
		id, err := in.memberID(ctx, handle)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// noteWarning is the content warning of a remote Note, as plain text
// short enough to store. The text is folded behind it; sensitive without
// a summary hides only the media, as Mastodon and GoToSocial show it.
func noteWarning(n *as.RemoteNote) string {
	w := n.Warning()
	if w == "" {
		return ""
	}
	// Mastodon sends plain text, others HTML: the text of either.
	return as.ClipText(markup.Excerpt(w, storage.MaxSummaryLen/4), storage.MaxSummaryLen)
}

// remoteImages are the images a Note carries, as the post records them:
// shown in the thread with their alt text, blurred when the Note is
// sensitive.
func remoteImages(note *as.RemoteNote) []storage.RemoteAttachment {
	var out []storage.RemoteAttachment
	for _, a := range note.Attachments {
		if !a.IsImage() {
			continue
		}
		ct := a.MediaType
		if ct == "image/*" {
			ct = ""
		}
		out = append(out, storage.RemoteAttachment{URL: a.URL, ContentType: ct, Description: a.Name, Blurhash: a.Blurhash,
			Sensitive: note.Sensitive, Width: a.Width, Height: a.Height})
	}
	return out
}

// threadOfNote finds the thread a Note belongs to: the thread of the post
// it replies to, the thread its context or audience names, or a thread
// actor it addresses or mentions. replyTo is the post it answers, when
// that is in the thread. Of a reply's thread t carries only what never
// changes (see [Inbox.threadFacts]): whether it is deleted or locked is
// for the post's commit to check.
func (in *Inbox) threadOfNote(ctx context.Context, note *as.RemoteNote) (t *storage.Thread, replyTo *storage.ID, err error) {
	if note.InReplyTo != "" {
		postID, threadID, ok, err := in.replyTarget(ctx, note.InReplyTo)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			t, err := in.threadFacts(ctx, threadID)
			if err != nil {
				return nil, nil, err
			}
			return t, &postID, nil
		}
	}
	// A quote of a post here, answering nothing here, joins the quoted
	// post's thread as a post quoting it.
	if q, err := in.postByIRI(ctx, note.Quote); err != nil || q != nil {
		if err != nil {
			return nil, nil, err
		}
		t, err := in.store.ThreadByID(ctx, q.ThreadID)
		return t, nil, err
	}
	// inReplyTo may name a thread rather than a post.
	for _, iri := range append([]string{note.InReplyTo, note.Context, note.Audience}, append(note.Recipients, note.Mentions...)...) {
		if iri == "" || iri == as.Public {
			continue
		}
		t, err := in.threadByIRI(ctx, iri)
		if err != nil || t != nil {
			return t, nil, err
		}
	}
	return nil, nil, nil
}

// noteHTML is what a remote Note shows as, before sanitizing: its content,
// the excerpt an Article or a Page carries above it unless the content
// starts with the same words, and links to its media below, save its
// images, which the post shows itself (see remoteImages). A Note's
// summary is its content warning, stored apart (noteWarning).
func noteHTML(n *as.RemoteNote) string {
	var b strings.Builder
	if ex := noteExcerpt(n); ex != "" {
		fmt.Fprintf(&b, "<p>%s</p>", html.EscapeString(ex))
	}
	b.WriteString(n.Content)
	for _, a := range n.Attachments {
		if !a.IsImage() { // images are shown from the post's media; others are linked
			fmt.Fprintf(&b, `<p><a href="%s">%s</a></p>`, html.EscapeString(a.URL), "Attachment")
		}
	}
	return strings.ReplaceAll(b.String(), "\x00", "")
}

// noteExcerpt is the summary of an Article or a Page as plain text, or ""
// when there is none or the content begins with it: NodeBB sends a
// topic's opening post with an excerpt of that same post.
func noteExcerpt(n *as.RemoteNote) string {
	if n.Type == "Note" || n.Summary == "" {
		return ""
	}
	ex := markup.Excerpt(n.Summary, as.MaxNameLen)
	start := strings.TrimSuffix(strings.TrimSpace(ex), "…")
	if start == "" || strings.HasPrefix(strings.ToLower(markup.Excerpt(n.Content, 4*as.MaxNameLen)), strings.ToLower(start)) {
		return ""
	}
	return ex
}

// mirrorAdmits decides whether a Note sent by via may join mirror t. A
// mirror shows a remote group's thread as the group moderates it, so it
// takes what the group announced (FEP-1b12), and a reply addressed to the
// group from one of its members (someone the group let into this thread
// before), which the group will announce anyway; anyone else's Create or
// boost naming the thread would put words into it the group never
// accepted.
func (in *Inbox) mirrorAdmits(ctx context.Context, t *storage.Thread, note *as.RemoteNote, via *storage.Account) error {
	if t.RemoteActorID == nil {
		return ignore("mirror %s has no group to vouch for %s", t.ID, note.ID)
	}
	if via.ID == *t.RemoteActorID {
		return nil
	}
	refused := ignore("note %s in mirror %s was not announced by its group", note.ID, t.ID)
	if via.APID == nil || note.AttributedTo != *via.APID {
		return refused
	}
	group, err := in.store.AccountByID(ctx, *t.RemoteActorID)
	if err != nil {
		return err
	}
	if group.APID == nil || (note.Audience != *group.APID && !slices.Contains(note.Recipients, *group.APID)) {
		return refused
	}
	member, err := in.store.HasPostIn(ctx, t.ID, via.ID)
	if err != nil {
		return err
	}
	if !member {
		return refused
	}
	return nil
}
