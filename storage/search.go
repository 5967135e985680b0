package storage

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Search runs on each database's own full-text index: an FTS5 table on
// SQLite (contentless: it keeps the terms, not a copy of the text), a
// generated tsvector with a GIN index on PostgreSQL. Both hold
// one document per live post of a live thread in a listed forum (its
// text, plus the thread's title on the first post), written in the
// transaction that writes the post and dropped in the one that deletes
// the post or its thread, and both stem English words, so "baking" finds
// "baked". The posts of the hidden forum that holds mirrors of remote
// threads are left out, as the Latest page leaves them out: nobody
// browses that forum, and search must not be the way into it.

// SearchPageSize is how many results a page of search results holds;
// MaxSearchPage bounds how deep a search can page, since each page
// re-ranks every match.
const (
	SearchPageSize = 20
	MaxSearchPage  = 25
	maxSearchTerms = 8
)

var searchWord = regexp.MustCompile(`[\p{L}\p{N}]+`)

// SearchTerms splits what a reader typed into the words a search looks
// for: letters and digits only, lower-cased, at most eight. Anything else
// (quotes, operators, punctuation) is dropped, so no input can be read as
// query syntax by either database.
func SearchTerms(query string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range searchWord.FindAllString(query, -1) {
		w = strings.ToLower(w)
		if seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
		if len(out) == maxSearchTerms {
			break
		}
	}
	return out
}

// SearchHit is one post that matched, with its thread's title. It holds
// what a page of results shows: on SQLite only those fields of the post
// and its author are read (see searchPostColumns), the others are zero.
type SearchHit = PostInThread

// Search finds live posts whose text (or whose thread's title) holds every
// term of query, best match first, ties newest first. page is 1-based and
// at most MaxSearchPage; more reports whether another page follows.
//
// On PostgreSQL every match is ranked. On SQLite every match is ranked
// when each term is in at most searchRareTerm posts; a query with a
// commoner word lists the newest matches, those whose thread title holds
// every term first (see [Store.searchSQLite]).
func (s *Store) Search(ctx context.Context, query string, page int) (hits []SearchHit, more bool, err error) {
	terms := SearchTerms(query)
	if len(terms) == 0 || page < 1 || page > MaxSearchPage {
		return nil, false, nil
	}
	if s.Dialect() == dialect.PG {
		hits, err = s.searchPG(ctx, terms, page)
	} else {
		hits, err = s.searchSQLite(ctx, terms, page)
	}
	if err != nil {
		return nil, false, fmt.Errorf("search %q: %w", query, err)
	}
	if len(hits) > SearchPageSize {
		hits, more = hits[:SearchPageSize], page < MaxSearchPage
	}
	return hits, more, nil
}

func (s *Store) searchPG(ctx context.Context, terms []string, page int) (hits []SearchHit, err error) {
	words := strings.Join(terms, " ")
	err = s.r.NewSelect().Model(&hits).
		ColumnExpr("post.*").ColumnExpr("t.title AS thread_title").
		Relation("Author").
		Join("JOIN threads AS t ON t.id = post.thread_id").
		Join("JOIN post_search AS ps ON ps.post_id = post.id").
		Where("post.deleted_at IS NULL AND t.deleted_at IS NULL").
		Where("ps.document @@ plainto_tsquery('english', ?)", words).
		OrderExpr("ts_rank(ps.document, plainto_tsquery('english', ?)) DESC", words).
		OrderExpr("post.id DESC").
		Limit(SearchPageSize + 1).Offset(int64(page-1) * SearchPageSize).Scan(ctx)
	return hits, err
}

// searchText is the body of a post's search document: its content
// warning, if any, then its text. The text stays searchable behind a
// warning; results show the warning instead of the text.
func searchText(p *Post) string {
	if p.Summary != "" {
		return p.Summary + " " + PlainText(p.HTML)
	}
	return PlainText(p.HTML)
}

// indexNewPost adds the search document of a post just written, unless
// its thread is in a hidden forum.
func (s *Store) indexNewPost(ctx context.Context, tx bun.Tx, hw *hotWrites, pp *placedPost) error {
	p, t := pp.post, pp.thread
	if hidden, err := s.forumHidden(ctx, tx, t.ForumID); err != nil || hidden {
		return err
	}
	if err := hw.exec(ctx, tx, hw.index, p.ID, searchTitle(p, t), pp.searchText()); err != nil {
		return fmt.Errorf("index post: %w", err)
	}
	s.indexedAt.Store(time.Now().UnixNano())
	return nil
}

// forumHidden reports whether forum id is hidden, whose threads the
// search index leaves out. A forum is hidden from its creation on (only
// the mirror forum is, see [Store.MirrorForum]) and stays so, so each
// forum is read once per process (s.hidden maps ids to bool).
func (s *Store) forumHidden(ctx context.Context, db bun.IDB, id ID) (bool, error) {
	if v, ok := s.hidden.Load(id); ok {
		return v.(bool), nil
	}
	var hidden bool
	if err := db.NewRaw("SELECT hidden FROM forums WHERE id = ?", id).Scan(ctx, &hidden); err != nil {
		return false, fmt.Errorf("forum %s hidden: %w", id, err)
	}
	s.hidden.Store(id, hidden)
	return hidden, nil
}

// reindexMovedThread keeps the index in step when a thread moves between
// a hidden forum and a listed one: its posts leave the index, or come
// back to it.
func (s *Store) reindexMovedThread(ctx context.Context, tx bun.Tx, threadID, from, to ID) error {
	wasHidden, err := s.forumHidden(ctx, tx, from)
	if err != nil {
		return err
	}
	hidden, err := s.forumHidden(ctx, tx, to)
	if err != nil || hidden == wasHidden {
		return err
	}
	if err := s.unindexThread(ctx, tx, threadID); err != nil || hidden {
		return err
	}
	return s.indexPosts(ctx, tx, "p.thread_id = ?", threadID)
}

// indexPosts indexes the live posts of live threads that cond (on posts
// as p and threads as t) selects, a thousand at a time.
func (s *Store) indexPosts(ctx context.Context, tx bun.Tx, cond string, args ...any) error {
	var after ID
	for {
		var posts []struct {
			ID       ID     `bun:"id"`
			Position int64  `bun:"position"`
			HTML     string `bun:"html"`
			Summary  string `bun:"summary"`
			Title    string `bun:"title"`
		}
		err := tx.NewRaw(`SELECT p.id, p.position, p.html, p.summary, t.title FROM posts AS p JOIN threads AS t ON t.id = p.thread_id
			WHERE p.deleted_at IS NULL AND t.deleted_at IS NULL AND `+cond+` AND p.id > ? ORDER BY p.id LIMIT 1000`,
			append(args, after)...).Scan(ctx, &posts)
		if err != nil {
			return fmt.Errorf("index posts: %w", err)
		}
		if len(posts) == 0 {
			return nil
		}
		for _, p := range posts {
			title := ""
			if p.Position == 1 {
				title = p.Title
			}
			if err := s.indexPost(ctx, tx, &Post{ID: p.ID, HTML: p.HTML, Summary: p.Summary}, title); err != nil {
				return err
			}
		}
		after = posts[len(posts)-1].ID
	}
}

// indexPost adds a post's search document.
func (s *Store) indexPost(ctx context.Context, tx bun.Tx, p *Post, title string) error {
	q := sqlIndexSQLite // the hot path's statements, unprepared: tx is open already
	if s.Dialect() == dialect.PG {
		q = sqlIndexPG
	}
	if _, err := tx.NewRaw(q, p.ID, title, searchText(p)).Exec(ctx); err != nil {
		return fmt.Errorf("index post: %w", err)
	}
	return nil
}

// reindexPostBody replaces an edited post's text in its search document,
// if it has one (a post of a hidden forum has none). The document is
// written whole, title and text: SQLite's index keeps no copy of either
// (a contentless FTS5 table), so it cannot update one column alone.
func (s *Store) reindexPostBody(ctx context.Context, tx bun.Tx, p *Post) error {
	title := ""
	if p.Position == 1 {
		if err := tx.NewRaw("SELECT title FROM threads WHERE id = ?", p.ThreadID).Scan(ctx, &title); err != nil {
			return fmt.Errorf("reindex post: thread %s: %w", p.ThreadID, err)
		}
	}
	q := "UPDATE post_search SET title = ?, body = ? WHERE " + s.searchKey() + " = ?"
	if _, err := tx.NewRaw(q, title, searchText(p), p.ID).Exec(ctx); err != nil {
		return fmt.Errorf("reindex post: %w", err)
	}
	return nil
}

// unindexPost drops a deleted post's search document.
func (s *Store) unindexPost(ctx context.Context, tx bun.Tx, id ID) error {
	if _, err := tx.NewRaw("DELETE FROM post_search WHERE "+s.searchKey()+" = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("unindex post: %w", err)
	}
	return nil
}

// unindexThread drops the search documents of a deleted thread's posts:
// the index holds what a search may find, so a search need not look up
// each match's thread.
func (s *Store) unindexThread(ctx context.Context, tx bun.Tx, threadID ID) error {
	q := "DELETE FROM post_search WHERE " + s.searchKey() + " IN (SELECT id FROM posts WHERE thread_id = ?)"
	if _, err := tx.NewRaw(q, threadID).Exec(ctx); err != nil {
		return fmt.Errorf("unindex thread: %w", err)
	}
	return nil
}

// searchKey is the column of post_search that holds a post's id: SQLite's
// FTS5 table keys its rows by rowid, PostgreSQL's table has post_id.
func (s *Store) searchKey() string {
	if s.Dialect() == dialect.PG {
		return "post_id"
	}
	return "rowid"
}

// PlainText is the text of sanitized post HTML: block tags become spaces,
// inline tags vanish ("<a>@bob</a>." stays "@bob."), entities are decoded
// and runs of white space collapse to one space. It is what the regular
// expressions `(?is)</?(p|br|div|blockquote|pre|li|ul|ol|h[1-6]|tr|td|th|hr)\b[^>]*>`
// (replaced by a space) and then `<[^>]*>` (removed) do, by hand: every
// post stored is indexed, and the regular expressions were a third of
// the cost of storing a batch of posts.
func PlainText(h string) string {
	return collapseSpace(html.UnescapeString(removeTags(replaceBlockTags(h))))
}

// PlainTextPart splits h for a reader that needs only the start of its
// text (a search result's excerpt): text is PlainText of a prefix of h of
// at least n bytes, rest is what follows that prefix (empty when it is
// all of h), and PlainText(h) is text and PlainText(rest) joined by a
// space, or whichever of them is not empty. The prefix ends just after a
// '>' where no tag or entity runs on past it and its plain text ends in
// white space; when none of the first few places after n bytes is such a
// place, the prefix is h (each try reads the prefix again).
func PlainTextPart(h string, n int) (text, rest string) {
	for c, try := max(n, 1), 0; c < len(h) && try < 8; try++ {
		// Cut just after the next '>'.
		i := strings.IndexByte(h[c-1:], '>')
		if i < 0 {
			break
		}
		if c += i; c >= len(h) {
			break
		}
		// No '<' of the prefix may wait for a '>' beyond it (removeTags
		// would remove across the cut), and the text must end in white
		// space (so no entity or word runs on across it). A '>' closes
		// each block tag replaceBlockTags matches in the prefix at the
		// same place as in the whole: its name cannot hold the '>'.
		r := replaceBlockTags(h[:c])
		if lt := strings.LastIndexByte(r, '<'); lt < 0 || lt < strings.LastIndexByte(r, '>') {
			if x := removeTags(r); x != "" && asciiSpace[x[len(x)-1]] {
				return collapseSpace(html.UnescapeString(x)), h[c:]
			}
		}
		c++
	}
	return PlainText(h), ""
}

// collapseSpace is strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " "),
// copying each run of other characters whole (invalid bytes included, as
// given) instead of a character at a time, and telling ASCII space by a
// table (unicode.IsSpace, a call a byte, was two thirds of it): every
// search result's excerpt is made from the plain text of its whole post.
func collapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	word := -1 // where the run of characters being read began
	for i := 0; i < len(s); {
		space, n := asciiSpace[s[i]], 1
		if s[i] >= utf8.RuneSelf {
			var r rune
			r, n = utf8.DecodeRuneInString(s[i:])
			space = unicode.IsSpace(r)
		}
		if !space {
			if word < 0 {
				word = i
			}
		} else if word >= 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(s[word:i])
			word = -1
		}
		i += n
	}
	if word >= 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[word:])
	}
	return b.String()
}

// asciiSpace marks the bytes below utf8.RuneSelf that unicode.IsSpace
// reports as space.
var asciiSpace = [256]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// blockTagNames are the tags PlainText turns into a space.
var blockTagNames = []string{"p", "br", "div", "blockquote", "pre", "li", "ul", "ol",
	"h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th", "hr"}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// replaceBlockTags replaces each block tag (opening or closing, any case,
// up to the first '>') with a space.
func replaceBlockTags(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '<' {
			continue
		}
		j := i + 1
		if j < len(s) && s[j] == '/' {
			j++
		}
		matched := false
		for _, name := range blockTagNames {
			k := j + len(name)
			if k < len(s) && strings.EqualFold(s[j:k], name) && !isWordByte(s[k]) {
				matched = true
				j = k
				break
			}
		}
		if !matched {
			continue
		}
		end := strings.IndexByte(s[j:], '>')
		if end < 0 {
			continue
		}
		if last == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:i])
		b.WriteByte(' ')
		last = j + end + 1
		i = last - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// removeTags removes everything from each '<' to the next '>'.
func removeTags(s string) string {
	var b strings.Builder
	last := 0
	for {
		i := strings.IndexByte(s[last:], '<')
		if i < 0 {
			break
		}
		end := strings.IndexByte(s[last+i:], '>')
		if end < 0 {
			break
		}
		if last == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last : last+i])
		last += i + end + 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
