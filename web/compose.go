package web

import (
	"context"
	"html"
	"net/http"
	"slices"
	"strings"

	"github.com/skein-forum/skein/markup"
	"github.com/skein-forum/skein/storage"
)

// What members write becomes the HTML stored with the post here, once,
// when it is written: Markdown rendered and sanitized, mentions linked,
// and a quotation cited with a link to the post it quotes.

// postHTML renders a member's Markdown; blank text stays blank so the
// store can call it empty. quoted is the post the reply quotes, if any.
// It also returns the members the text mentions, whom the store
// notifies.
func (s *Server) postHTML(ctx context.Context, src string, quoted *storage.Post) (string, []storage.ID) {
	if len(src) > 4*storage.MaxBodyLen {
		return "", nil // refused by the store anyway; do not spend time rendering it
	}
	var mentioned []storage.ID
	h := markup.RenderMarkdown(src)
	h = markup.LinkMentions(h, func(m markup.Mention) (string, bool) {
		if m.Host != "" && m.Host != strings.ToLower(s.URLs.Host()) {
			return s.remoteMentionURL(ctx, m), true
		}
		handle := strings.ToLower(m.Name)
		if storage.ValidateHandle(handle) != nil {
			return "", false
		}
		a, err := s.Store.MemberByHandle(ctx, handle)
		if err != nil || a.Suspended || a.DeletedAt != nil || a.ApprovalPending {
			return "", false
		}
		if !slices.Contains(mentioned, a.ID) {
			mentioned = append(mentioned, a.ID)
		}
		return s.URLs.Member(a.Handle), true
	})
	return s.citeQuote(h, quoted), mentioned
}

// remoteMentionURL is where a mention of someone on another server links:
// their profile page when the node knows them (with the scheme and port
// their server really uses), else the usual guess.
func (s *Server) remoteMentionURL(ctx context.Context, m markup.Mention) string {
	a, err := s.Store.RemoteAccountByAcct(ctx, m.Name, m.Host)
	if err != nil {
		return markup.ProfileURL(m)
	}
	for _, u := range []string{a.URL, derefString(a.APID)} {
		if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
			return u
		}
	}
	return markup.ProfileURL(m)
}

func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// citeQuote turns the block quote a reply opens with into a cited one:
// "NAME wrote:" linking to the quoted post. A reply that dropped the
// quotation keeps its quote_id but gets no cite.
func (s *Server) citeQuote(h string, quoted *storage.Post) string {
	rest, ok := strings.CutPrefix(h, "<blockquote>")
	if quoted == nil || !ok {
		return h
	}
	name := "Someone"
	if quoted.Author != nil {
		name = quoted.Author.Name()
	}
	u := html.EscapeString(s.URLs.Post(quoted.ID))
	return `<blockquote class="quote" cite="` + u + `"><p class="cite"><a href="` + u + `">` +
		html.EscapeString(name) + " wrote:</a></p>" + rest
}

// quotedWarning is the content warning a post is stored with: the one
// its writer typed, else, when it opens with a quotation of a post behind
// a warning, that post's warning, so the quoted text stays hidden.
func quotedWarning(typed, postHTML string, quoted *storage.Post) string {
	if strings.TrimSpace(typed) != "" || quoted == nil || !strings.HasPrefix(postHTML, `<blockquote class="quote"`) {
		return typed
	}
	return quoted.Warning()
}

// quotedPost loads the live post of thread threadID that a form quotes,
// or nil; the store refuses a quote_id from another thread anyway.
func (s *Server) quotedPost(ctx context.Context, id *storage.ID, threadID storage.ID) *storage.Post {
	if id == nil {
		return nil
	}
	p, err := s.Store.PostByID(ctx, *id)
	if err != nil || p.ThreadID != threadID || p.IsDeleted() {
		return nil
	}
	return p
}

// quoteSource is the Markdown the reply box opens with to quote a post:
// its text as a block quote. Who wrote it is added as a cite when the
// reply is stored, from the post's quote_id.
func quoteSource(p *storage.Post) string {
	src := p.Source
	if src == "" { // remote posts arrive as HTML only
		src = markup.Excerpt(p.ViewHTML(), 1000)
	}
	var b strings.Builder
	for l := range strings.SplitSeq(strings.TrimSpace(src), "\n") {
		b.WriteString("> " + l + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

// quoteText answers the script that quotes without reloading: the
// Markdown quotation of a post, as text.
func (s *Server) quoteText(w http.ResponseWriter, r *http.Request) error {
	p := s.livePost(w, r)
	if p == nil {
		return nil
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(quoteSource(p)))
	return nil
}
