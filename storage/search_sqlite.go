package storage

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/schema"
)

// Search on SQLite. FTS5's bm25 weighs each term by how many posts hold
// it, and counts them on every query by walking the term's whole list of
// posts: for a word in 40% of a million posts that count alone takes
// longer than a search may. So bm25 ranks a query only when every term is
// rare (in at most searchRareTerm posts), and then ranks all its matches;
// a query with a common word takes its newest searchWindow matches (the
// index stops there, so a common word costs what a rare one does) and
// lists those whose thread title holds every term first, then the rest,
// newest first.
//
// Either way the results are the first searchWindow of that order (every
// page a reader may open), and a search lists only its page's ids: the
// 500 ids of the whole window through the driver, a row at a time, were
// the dearest part of a search run afresh. It then reads the page's
// posts by id. A page's ids are kept in a small cache keyed by the query,
// the page and the index's version (FTS5's structure record, which every
// write to the index changes), so a repeated query, common on a forum,
// reads one row and the page's posts while nothing was posted, edited or
// deleted.

const (
	// searchWindow is how many ids a search lists: every page a reader
	// may open.
	searchWindow = MaxSearchPage * SearchPageSize
	// commonTermTTL is how long a term found common is believed common
	// without counting again (deletions rarely make it rare).
	commonTermTTL = time.Hour
	// maxCommonTerms bounds the memory of common terms.
	maxCommonTerms = 10000
	// DefaultSearchCache is how many pages of search results a store
	// keeps (21 ids each) unless Options.SearchCache says otherwise.
	DefaultSearchCache = 256
)

// searchRareTerm is the most posts a term may be in for bm25 to rank it:
// counting them, and scoring up to that many matches, stays within a few
// milliseconds. A variable for the tests.
var searchRareTerm = 1000

// The prepared statements of the SQLite search (see [hotReads]). A
// LIMIT or OFFSET is written "+?", not "?": SQLite (3.51) reads a bare
// bound LIMIT as a constant when it plans the statement, and so plans it
// again whenever the value is bound, which is on every run (4-5% of a
// search run afresh on a million posts went to preparing its statements
// again, 3.5% on 18,000). "+?" is an expression, evaluated when the
// statement runs; FTS5 makes no use of a LIMIT in its plan.
const (
	// searchIndexVersion: FTS5's structure record (rowid 10 of the
	// index's data table), rewritten by every change to the index.
	searchIndexVersion = "SELECT block FROM post_search_data WHERE id = 10"
	// searchRanked: the FTS5 query, how many ids and how many to skip;
	// best first. Title words weigh more than body words; bm25 is lower
	// for better.
	searchRanked = "SELECT rowid FROM post_search WHERE post_search MATCH ? ORDER BY bm25(post_search, 4.0, 1.0), rowid DESC LIMIT +? OFFSET +?"
	// searchNth: the FTS5 query and n; the id of the n+1th newest match.
	searchNth = "SELECT rowid FROM post_search WHERE post_search MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET +?"
	// searchNewestFrom: the FTS5 query, the lowest id and the most ids;
	// newest first.
	searchNewestFrom = "SELECT rowid FROM post_search WHERE post_search MATCH ? AND rowid >= ? ORDER BY rowid DESC LIMIT +?"
	// searchFrom: the FTS5 query and the lowest id; oldest first, which
	// FTS5 walks for a third to a half of what newest first costs.
	searchFrom = "SELECT rowid FROM post_search WHERE post_search MATCH ? AND rowid >= ?"
	// searchCountTo: an FTS5 query and a bound; how many posts match, up
	// to the bound.
	searchCountTo = "SELECT count(*) FROM (SELECT 1 FROM post_search WHERE post_search MATCH ? LIMIT +?)"
	// searchPostsByID, after the column list (searchHitColumns):
	// SearchPageSize+1 ids (0 for none). The index holds live posts of
	// live threads; the conditions are a safety net.
	searchPostsByID = `
	FROM posts AS p
	JOIN threads AS t ON t.id = p.thread_id
	LEFT JOIN accounts AS a ON a.id = p.author_id
	WHERE p.deleted_at IS NULL AND t.deleted_at IS NULL AND p.id IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// The columns a page of results reads: what the results page shows of a
// post (its link, number, date, text without its leading mentions, or
// its content warning) and of its author (the name and where it links).
// Reading only these, not every column of the post and its author
// (among them the post's Markdown source and the author's key), made the
// page query half as dear; the other fields of a SearchHit are zero on
// SQLite.
var (
	searchPostColumns   = []string{"id", "thread_id", "author_id", "position", "html", "lead_from", "lead_to", "summary", "sensitive", "created_at"}
	searchAuthorColumns = []string{"id", "handle", "domain", "display_name", "url", "ap_id"}
)

// searchHitColumns is the column list of the page query, for
// searchPostsByID.
func searchHitColumns() string {
	return "p." + strings.Join(searchPostColumns, ", p.") + ", t.title, a." + strings.Join(searchAuthorColumns, ", a.")
}

// searchHitFields are the model fields of searchPostColumns and
// searchAuthorColumns, scanned the way bun scans them.
type searchHitFields struct {
	post, author []*schema.Field
}

func newSearchHitFields(post, account *schema.Table) (*searchHitFields, error) {
	pick := func(t *schema.Table, cols []string) ([]*schema.Field, error) {
		out := make([]*schema.Field, len(cols))
		for i, c := range cols {
			if out[i] = t.FieldMap[c]; out[i] == nil {
				return nil, fmt.Errorf("search columns: %s has no column %s", t.Name, c)
			}
		}
		return out, nil
	}
	var f searchHitFields
	var err error
	if f.post, err = pick(post, searchPostColumns); err != nil {
		return nil, err
	}
	if f.author, err = pick(account, searchAuthorColumns); err != nil {
		return nil, err
	}
	return &f, nil
}

func (s *Store) searchSQLite(ctx context.Context, terms []string, page int) ([]SearchHit, error) {
	h, err := s.hotReads(ctx)
	if err != nil {
		return nil, err
	}
	ids, err := s.searchIDs(ctx, h, terms, page)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	args := make([]any, SearchPageSize+1)
	for i := range args {
		args[i] = ID(0)
		if i < len(ids) {
			args[i] = ids[i]
		}
	}
	rows, err := h.searchByID.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	hits, err := h.scanSearchHits(rows)
	if err != nil {
		return nil, err
	}
	order := make(map[ID]int, len(ids))
	for i, id := range ids {
		order[id] = i
	}
	slices.SortFunc(hits, func(a, b SearchHit) int { return order[a.ID] - order[b.ID] })
	return hits, nil
}

// searchIDs lists the ids of a page of the posts that match terms, best
// first, and the first of the next page if there is one: from the cache
// when the index has not changed since.
func (s *Store) searchIDs(ctx context.Context, h *hotReads, terms []string, page int) ([]ID, error) {
	match := ftsPhrases(terms)
	key := strconv.Itoa(page) + " " + match
	var version []byte
	if s.results.limit > 0 {
		if err := h.searchVersion.QueryRowContext(ctx).Scan(&version); err != nil {
			return nil, err
		}
		if ids, ok := s.results.get(key, version); ok {
			return ids, nil
		}
	}
	from := (page - 1) * SearchPageSize
	ids, err := s.rankIDs(ctx, h, terms, match, from, min(from+SearchPageSize+1, searchWindow))
	if err != nil {
		return nil, err
	}
	if s.results.limit > 0 {
		s.results.put(key, version, ids)
	}
	return ids, nil
}

// SearchVersion is a number that changes whenever what a search may find
// changes (a post written, edited or deleted, a thread deleted): a hash
// of the index's structure record, one primary-key read. It is -1 when
// there is none to go by (PostgreSQL), and then nothing a search shows
// may be cached. It does not depend on the store's own cache of results
// (Options.SearchCache): the web view's page cache has its own setting.
func (s *Store) SearchVersion(ctx context.Context) (int64, error) {
	if s.Dialect() == dialect.PG {
		return -1, nil
	}
	h, err := s.hotReads(ctx)
	if err != nil {
		return 0, err
	}
	var version []byte
	if err := h.searchVersion.QueryRowContext(ctx).Scan(&version); err != nil {
		return 0, fmt.Errorf("search version: %w", err)
	}
	f := fnv.New64a()
	f.Write(version)
	return int64(f.Sum64() >> 1), nil
}

// rankIDs asks the index for the ids of the matches of terms from the
// from-th to before the to-th (0-based, to at most searchWindow), best
// first.
func (s *Store) rankIDs(ctx context.Context, h *hotReads, terms []string, match string, from, to int) ([]ID, error) {
	if from >= to {
		return nil, nil
	}
	rare, err := s.rareTerms(ctx, h, terms)
	if err != nil {
		return nil, err
	}
	if rare {
		// Every term is in at most searchRareTerm posts, so are all the
		// matches: bm25 ranks them all, and SQLite skips to the page.
		return queryIDs(ctx, h.searchRanked, match, to-from, from)
	}
	// The window is the newest searchWindow matches: those from the
	// oldest of them on (from the first post on, when fewer match).
	var floor ID
	if err := h.searchNth.QueryRowContext(ctx, match, searchWindow-1).Scan(&floor); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	// The window's posts whose thread title holds every term (a thread's
	// opening post carries its title) go first, newest first; they are
	// few, and FTS5 lists them cheaper oldest first.
	titled, err := queryIDs(ctx, h.searchFrom, "{title} : ("+match+")", floor)
	if err != nil {
		return nil, err
	}
	slices.Reverse(titled)
	var ids []ID
	if from < len(titled) {
		ids = append(ids, titled[from:min(to, len(titled))]...)
	}
	if to <= len(titled) {
		return ids, nil
	}
	// Then the others, newest first, as far as the to-th result: the
	// first to-len(titled) of the window without the titled ones, all
	// among its newest to. Both lists are newest first, so the titled
	// ones are passed over in one walk.
	newest, err := queryIDs(ctx, h.searchNewestFrom, match, floor, to)
	if err != nil {
		return nil, err
	}
	skip, n := max(0, from-len(titled)), to-len(titled)
	i, t := 0, 0
	for _, id := range newest {
		for t < len(titled) && titled[t] > id {
			t++
		}
		if t < len(titled) && titled[t] == id {
			continue
		}
		if i >= skip && i < n {
			ids = append(ids, id)
		}
		i++
	}
	return ids, nil
}

// rareTerms reports whether every term is in at most searchRareTerm
// posts, counting each up to that bound.
func (s *Store) rareTerms(ctx context.Context, h *hotReads, terms []string) (bool, error) {
	for _, t := range terms {
		if s.common.has(t) {
			return false, nil
		}
	}
	for _, t := range terms {
		var n int
		if err := h.searchCountTo.QueryRowContext(ctx, ftsPhrases([]string{t}), searchRareTerm+1).Scan(&n); err != nil {
			return false, err
		}
		if n > searchRareTerm {
			s.common.add(t)
			return false, nil
		}
	}
	return true, nil
}

// ftsPhrases quotes each term: a phrase of one word, never an operator.
func ftsPhrases(terms []string) string {
	return `"` + strings.Join(terms, `" "`) + `"`
}

// commonTerms remembers the terms found in more than searchRareTerm
// posts, so a common word is counted once an hour, not on every search.
type commonTerms struct {
	mu    sync.Mutex
	found map[string]time.Time
}

func (c *commonTerms) has(term string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.found[term]
	return ok && time.Since(at) < commonTermTTL
}

func (c *commonTerms) add(term string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.found == nil || len(c.found) >= maxCommonTerms {
		c.found = map[string]time.Time{}
	}
	c.found[term] = time.Now()
}

// searchCache keeps the id lists of the last limit searches, each with
// the index version it was made at; the oldest goes first when it is
// full. An entry of an older version is a miss (and is replaced).
type searchCache struct {
	limit   int
	mu      sync.Mutex
	entries map[string]searchResult
	order   []string // keys, oldest first
}

type searchResult struct {
	version []byte
	ids     []ID
}

func (c *searchCache) get(key string, version []byte) ([]ID, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e.ids, ok && bytes.Equal(e.version, version)
}

func (c *searchCache) put(key string, version []byte, ids []ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]searchResult{}
	}
	if _, ok := c.entries[key]; !ok {
		if len(c.order) >= c.limit {
			delete(c.entries, c.order[0])
			c.order = c.order[1:]
		}
		c.order = append(c.order, key)
	}
	c.entries[key] = searchResult{version: version, ids: ids}
}

// queryIDs runs a statement whose rows are one id each.
func queryIDs(ctx context.Context, st *sql.Stmt, args ...any) ([]ID, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ID
	for rows.Next() {
		var id ID
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// scanSearchHits reads rows of searchHitColumns and closes them.
func (h *hotReads) scanSearchHits(rows *sql.Rows) ([]SearchHit, error) {
	defer rows.Close()
	f := h.searchHit
	np, na := len(f.post), len(f.author)
	rv := newRowValues(np + 1 + na)
	var out []SearchHit
	for rows.Next() {
		if err := rv.scan(rows); err != nil {
			return nil, err
		}
		out = append(out, SearchHit{})
		hit := &out[len(out)-1]
		if err := scanSomeFields(f.post, &hit.Post, rv.vals[:np]); err != nil {
			return nil, err
		}
		switch t := rv.vals[np].(type) {
		case string:
			hit.ThreadTitle = t
		case []byte:
			hit.ThreadTitle = string(t)
		}
		if rv.vals[np+1] == nil {
			continue // no author row (LEFT JOIN)
		}
		hit.Author = new(Account)
		if err := scanSomeFields(f.author, hit.Author, rv.vals[np+1:]); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// scanSomeFields fills the given fields of the struct dst points to from
// vals, in order, the way bun does.
func scanSomeFields(fields []*schema.Field, dst any, vals []any) error {
	v := reflect.ValueOf(dst).Elem()
	for i, f := range fields {
		if err := f.ScanValue(v, vals[i]); err != nil {
			return fmt.Errorf("scan %s: %w", f.Name, err)
		}
	}
	return nil
}

// Segment upkeep. FTS5 writes each transaction's new documents as a new
// segment and merges four segments of a level into one as it writes
// (automerge), so a live index keeps ten to fifteen segments, and every
// search seeks each of its terms in each of them: on a million posts
// that was most of a search's index time (0.4-2.4 ms of CPU for an id
// list against 0.05-0.3 ms on one segment). Merging further is left to
// idle time, so posting pays nothing for it.

// searchIdleBeforeMerge is how long no post may have been indexed before
// [Store.MergeSearchIndex] does any work. A variable for the tests.
var searchIdleBeforeMerge = 10 * time.Second

// MergeSearchIndex merges the segments of the search index by about
// pages pages (of 4 KB), merging any level that holds two segments (the
// 'usermerge' setting), and reports whether there is more to merge. It
// does nothing (and reports false) while posts are being written: when a
// post was indexed in the last searchIdleBeforeMerge, or on PostgreSQL,
// whose index needs no such upkeep. A node calls it when idle, each step
// a short write of its own, so posts wait for at most one step.
func (s *Store) MergeSearchIndex(ctx context.Context, pages int) (more bool, err error) {
	if s.Dialect() == dialect.PG || time.Since(time.Unix(0, s.indexedAt.Load())) < searchIdleBeforeMerge {
		return false, nil
	}
	// total_changes() counts the rows this connection wrote: the merge
	// wrote some unless it had nothing to do (FTS5's own test).
	conn, err := s.w.DB.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("merge search index: %w", err)
	}
	defer conn.Close()
	var before, after int64
	if err := conn.QueryRowContext(ctx, "SELECT total_changes()").Scan(&before); err != nil {
		return false, fmt.Errorf("merge search index: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO post_search(post_search, rank) VALUES('merge', ?)", pages); err != nil {
		return false, fmt.Errorf("merge search index: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT total_changes()").Scan(&after); err != nil {
		return false, fmt.Errorf("merge search index: %w", err)
	}
	return after-before >= 2, nil
}

// OptimizeSearchIndex merges the whole search index into one segment in
// one write: for the end of a bulk load (the seeder), not a live node (on
// a million posts it rewrites some 600 MB). A no-op on PostgreSQL.
func (s *Store) OptimizeSearchIndex(ctx context.Context) error {
	if s.Dialect() == dialect.PG {
		return nil
	}
	if _, err := s.w.ExecContext(ctx, "INSERT INTO post_search(post_search) VALUES('optimize')"); err != nil {
		return fmt.Errorf("optimize search index: %w", err)
	}
	return nil
}
