package federation

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/skein-forum/skein/storage"
)

// pageQuery is a parsed collection query: nothing (the collection itself),
// or page=true with at most one cursor parameter.
type pageQuery struct {
	isPage bool
	key    string // cursor parameter name, "" for the first page
	value  string
}

var errBadCursor = errors.New("bad page cursor")

// parsePageQuery reads a raw query string. It accepts only page=true and one
// of the named cursor parameters, each at most once; anything else is an
// error, never a panic.
func parsePageQuery(raw string, cursors ...string) (pageQuery, error) {
	var q pageQuery
	if raw == "" {
		return q, nil
	}
	if len(raw) > 256 {
		return q, errBadCursor
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, errBadCursor
	}
	for k, v := range vals {
		if len(v) != 1 {
			return q, errBadCursor
		}
		switch {
		case k == "page":
			if v[0] != "true" {
				return q, errBadCursor
			}
			q.isPage = true
		case slices.Contains(cursors, k) && q.key == "":
			q.key, q.value = k, v[0]
		default:
			return q, errBadCursor
		}
	}
	if !q.isPage {
		return q, errBadCursor
	}
	return q, nil
}

// String is the canonical query: what the node links to and uses as the
// page's id.
func (q pageQuery) String() string {
	if !q.isPage {
		return ""
	}
	if q.key == "" {
		return "page=true"
	}
	return "page=true&" + q.key + "=" + url.QueryEscape(q.value)
}

// parsePostsCursor reads the query of a thread's posts collection:
// "" (the collection) or page=true&from=N, N a post position that starts a
// page (1, 21, 41, ...). Positions are fixed and gapless, so the position
// is the keyset: any page costs one index range.
func parsePostsCursor(raw string) (q pageQuery, from int64, err error) {
	q, err = parsePageQuery(raw, "from")
	if err != nil || !q.isPage {
		return q, 0, err
	}
	if q.key == "" {
		// page=true alone is the first page; links always name from=1.
		q.key, q.value = "from", "1"
	}
	from, err = strconv.ParseInt(q.value, 10, 64)
	if err != nil || from < 1 || from > 1<<50 || strconv.FormatInt(from, 10) != q.value || (from-1)%PostsPageSize != 0 {
		return q, 0, errBadCursor
	}
	return q, from, nil
}

// parsePositionCursor reads page=true[&KEY=N], N a thread position (a
// post's replies are paged by the positions of the replies).
func parsePositionCursor(raw, key string) (q pageQuery, pos int64, err error) {
	q, err = parsePageQuery(raw, key)
	if err != nil || q.key == "" {
		return q, 0, err
	}
	pos, err = strconv.ParseInt(q.value, 10, 64)
	if err != nil || pos < 1 || pos > 1<<50 || strconv.FormatInt(pos, 10) != q.value {
		return q, 0, errBadCursor
	}
	return q, pos, nil
}

// parseIDCursor reads page=true[&KEY=ID] for the keyset-paged collections.
func parseIDCursor(raw string, keys ...string) (q pageQuery, id storage.ID, err error) {
	q, err = parsePageQuery(raw, keys...)
	if err != nil || q.key == "" {
		return q, 0, err
	}
	id, err = storage.ParseID(q.value)
	if err != nil {
		return q, 0, errBadCursor
	}
	return q, id, nil
}

// canonical redirects a request whose query is valid but asks for other
// values than the node's own spelling of it (page=true alone for the
// first page of a collection that names it), so a document's id is the
// page it was fetched as. The order and the escaping of the parameters
// are no reason: a proxy in front of the node may reorder them (Go's
// httputil.ReverseProxy with SetURL sorts them), and a redirect back
// would loop. It reports whether it answered.
func canonical(w http.ResponseWriter, r *http.Request, q pageQuery) bool {
	if sameQuery(r.URL.RawQuery, q) {
		return false
	}
	target := r.URL.Path
	if c := q.String(); c != "" {
		target += "?" + c
	}
	w.Header().Add("Vary", "Accept")
	http.Redirect(w, r, target, http.StatusFound)
	return true
}

// sameQuery reports whether raw names exactly q's parameters and values,
// in any order and escaping.
func sameQuery(raw string, q pageQuery) bool {
	if raw == q.String() {
		return true
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return false
	}
	want, _ := url.ParseQuery(q.String())
	return maps.EqualFunc(vals, want, slices.Equal)
}
