package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

type searchData struct {
	Query      string
	Searched   bool // a query with words in it was given
	Results    []searchResult
	Items      template.HTML // the results' list items, each after a newline
	Page       int
	Start      int // the number of the page's first result
	Prev, Next string
}

type searchResult struct {
	Title      template.HTML // the thread's title, matches marked
	Snippet    template.HTML // text around the first match, matches marked
	Path       string        // the post's permalink
	Position   int64
	AuthorName string
	AuthorLink string
	Posted     string
	PostedAt   string
}

// writeItem writes the result's list item to b, as the template
//
//	<li>
//	<h2><a href="{{.Path}}"><bdi>{{.Title}}</bdi></a> <span class="meta">#{{.Position}}</span></h2>
//	<p class="snippet">{{.Snippet}}</p>
//	<p class="meta">{{if .AuthorName}}by <a href="{{.AuthorLink}}"><bdi>{{.AuthorName}}</bdi></a> · {{end}}<time datetime="{{.PostedAt}}">{{.Posted}}</time></p>
//	</li>
//
// writes it, byte for byte (TestSearchResultItem), without the
// template's twelve escaping calls through reflection a result, which
// were a fifth of the CPU of a search run afresh.
func (res *searchResult) writeItem(b *strings.Builder) {
	b.Grow(300 + len(res.Title) + len(res.Snippet))
	b.WriteString(`<li>` + "\n" + `<h2><a href="`)
	b.WriteString(hrefValue(res.Path))
	b.WriteString(`"><bdi>`)
	b.WriteString(string(res.Title))
	b.WriteString(`</bdi></a> <span class="meta">#`)
	b.WriteString(strconv.FormatInt(res.Position, 10))
	b.WriteString(`</span></h2>` + "\n" + `<p class="snippet">`)
	b.WriteString(string(res.Snippet))
	b.WriteString(`</p>` + "\n" + `<p class="meta">`)
	if res.AuthorName != "" {
		b.WriteString(`by <a href="`)
		b.WriteString(hrefValue(res.AuthorLink))
		b.WriteString(`"><bdi>`)
		b.WriteString(templateEscaper.Replace(res.AuthorName))
		b.WriteString(`</bdi></a> · `)
	}
	b.WriteString(`<time datetime="`)
	b.WriteString(templateEscaper.Replace(res.PostedAt))
	b.WriteString(`">`)
	b.WriteString(templateEscaper.Replace(res.Posted))
	b.WriteString(`</time></p>` + "\n" + `</li>`)
}

// templateEscaper escapes text as html/template does in element content
// and quoted attributes.
var templateEscaper = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")

// hrefTemplate is html/template's handling of a link, for the links
// hrefValue cannot pass as they are.
var hrefTemplate = template.Must(template.New("href").Parse(`<a href="{{.}}">`))

// hrefValue is link as html/template writes it in a quoted href: a path
// or an http(s) URL of characters that neither its normalizing nor its
// escaping changes is written as it is (every link of the site's own,
// most remote ones); anything else goes through the template itself.
func hrefValue(link string) string {
	if strings.HasPrefix(link, "/") || strings.HasPrefix(link, "https://") || strings.HasPrefix(link, "http://") {
		plain := true
		for i := 0; i < len(link) && plain; i++ {
			c := link[i]
			plain = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/:?#=@,;!$*[]", c) >= 0
		}
		if plain {
			return link
		}
	}
	var b strings.Builder
	if err := hrefTemplate.Execute(&b, link); err != nil {
		return "#"
	}
	return strings.TrimSuffix(strings.TrimPrefix(b.String(), `<a href="`), `">`)
}

// search finds posts and thread titles holding every word of ?q=, best
// match first, paged with ?page=.
func (s *Server) search(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	data := searchData{Query: strings.TrimSpace(q.Get("q")), Page: 1}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > storage.MaxSearchPage {
			s.notFound(w, r)
			return nil
		}
		data.Page = n
	}
	// A guest's page of results is the same for every guest until the
	// index changes (or the people on it change: guestCacheTTL). Without
	// a guest cache (--guest-cache=0) the version is not worth reading.
	version := int64(-1)
	if viewerFrom(r) == nil && s.guestCache != nil {
		if v, err := s.Store.SearchVersion(r.Context()); err == nil {
			version = v
		}
		if version >= 0 && s.serveCachedGuestPage(w, r, version) {
			return nil
		}
	}
	data.Start = (data.Page-1)*storage.SearchPageSize + 1
	terms := storage.SearchTerms(data.Query)
	data.Searched = len(terms) > 0
	if data.Searched {
		hits, more, err := s.Store.Search(r.Context(), data.Query, data.Page)
		if err != nil {
			return err
		}
		data.Results = make([]searchResult, 0, len(hits))
		for i := range hits {
			h := &hits[i]
			res := searchResult{
				Title:    highlight(h.ThreadTitle, terms),
				Snippet:  highlight(excerpt(h.ViewHTML(), terms, 240), terms),
				Path:     s.path(site.PostPath(h.ID)),
				Position: h.Position,
				Posted:   formatDate(h.CreatedAt),
				PostedAt: formatDateTime(h.CreatedAt),
			}
			if w := h.Warning(); w != "" {
				// The text behind a warning stays hidden; the warning's own
				// words may be what matched.
				res.Snippet = highlight("Content warning: "+w, terms)
			}
			if h.Author != nil {
				res.AuthorName, res.AuthorLink = h.Author.Name(), s.authorLink(h.Author)
			}
			data.Results = append(data.Results, res)
		}
		// One string for the template to write, not a range of twenty.
		var items strings.Builder
		for i := range data.Results {
			items.WriteString("\n")
			data.Results[i].writeItem(&items)
		}
		data.Items = template.HTML(items.String())
		link := func(page int) string {
			return s.path("/search?q=" + url.QueryEscape(data.Query) + "&page=" + strconv.Itoa(page))
		}
		if data.Page > 1 {
			data.Prev = link(data.Page - 1)
		}
		if more {
			data.Next = link(data.Page + 1)
		}
	}
	title := "Search"
	if data.Query != "" {
		title = "Search: " + data.Query
	}
	p := sitePage(r, title, "Search the threads and posts of "+s.SiteName()+".", s.URLs.Abs("/search"), data)
	p.Prev, p.Next, p.NoIndex = data.Prev, data.Next, true
	s.renderCached(w, r, "search", p, time.Time{}, version)
	return nil
}

// words yields the [start, end) byte offsets of each run of letters and
// digits in text: the words the search terms are made of, as
// `[\p{L}\p{N}]+` finds them, without a regular expression (every hit
// of every search is scanned twice).
func words(text string) func(yield func(start, end int) bool) {
	return func(yield func(start, end int) bool) {
		start := -1
		for i, r := range text {
			if unicode.IsLetter(r) || unicode.IsNumber(r) {
				if start < 0 {
					start = i
				}
				continue
			}
			if start >= 0 {
				if !yield(start, i) {
					return
				}
				start = -1
			}
		}
		if start >= 0 {
			yield(start, len(text))
		}
	}
}

// stem cuts the common English endings off a search term, so highlighting
// marks roughly what the stemming databases matched: "baking" marks
// "baked" and "bake".
func stem(term string) string {
	for _, suffix := range []string{"ing", "ed", "es", "s", "e"} {
		if r, ok := strings.CutSuffix(term, suffix); ok && len([]rune(r)) >= 3 {
			return r
		}
	}
	return term
}

// matchesTerm reports whether the lower-case word starts with a stem.
// An ASCII word is compared byte by byte, without lower-casing a copy
// (every word of every result's excerpt up to the first match, and
// every word of the excerpt and title, is tried).
func matchesTerm(word string, stems []string) bool {
	for i := 0; i < len(word); i++ {
		if word[i] >= utf8.RuneSelf {
			w := strings.ToLower(word)
			for _, s := range stems {
				if strings.HasPrefix(w, s) {
					return true
				}
			}
			return false
		}
	}
	for _, s := range stems {
		if len(s) <= len(word) && asciiLowerPrefix(word, s) {
			return true
		}
	}
	return false
}

// asciiLowerPrefix reports whether ASCII word, lower-cased, starts with
// prefix, which is no longer.
func asciiLowerPrefix(word, prefix string) bool {
	for i := 0; i < len(prefix); i++ {
		c := word[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

func stems(terms []string) []string {
	out := make([]string, len(terms))
	for i, t := range terms {
		out[i] = stem(t)
	}
	return out
}

// highlight escapes text and wraps each word that matches a term in
// <mark>.
func highlight(text string, terms []string) template.HTML {
	st := stems(terms)
	var b strings.Builder
	b.Grow(len(text) + 64)
	last := 0
	for from, to := range words(text) {
		if !matchesTerm(text[from:to], st) {
			continue
		}
		htmlEscaper.WriteString(&b, text[last:from])
		b.WriteString("<mark>")
		htmlEscaper.WriteString(&b, text[from:to])
		b.WriteString("</mark>")
		last = to
	}
	htmlEscaper.WriteString(&b, text[last:])
	return template.HTML(b.String())
}

// htmlEscaper is html.EscapeString's, to escape into a builder without a
// string a piece.
var htmlEscaper = strings.NewReplacer(`&`, "&amp;", `'`, "&#39;", `<`, "&lt;", `>`, "&gt;", `"`, "&#34;")

// excerpt is snippet(storage.PlainText(postHTML), terms, n) made from as
// little of the post as gives the same: the plain text of a prefix that
// holds the whole excerpt, read on part by part until it does. A post's whole
// plain text for a 240-byte excerpt was a tenth of a search run afresh.
func excerpt(postHTML string, terms []string, n int) string {
	var text string
	searched := 0 // the words of text[:searched] hold no match
	for rest, size := postHTML, 4*n; ; size *= 2 {
		var part string
		part, rest = storage.PlainTextPart(rest, size)
		if text != "" && part != "" {
			text += " "
		}
		text += part
		s, ok, found := cutSnippet(text, searched, rest == "", terms, n)
		if ok {
			return s
		}
		if !found {
			// No word runs across the space before the next part.
			searched = len(text)
		}
	}
}

// snippet cuts about n bytes of text around the first matching word, on
// word boundaries, with ellipses where it cut.
func snippet(text string, terms []string, n int) string {
	s, _, _ := cutSnippet(text, 0, true, terms, n)
	return s
}

// cutSnippet is snippet of text, which is all of the text when whole;
// when not, the text goes on after a space, and ok reports whether the
// snippet lies within what is there, and so is the whole text's (its
// first match and both ends found there). When whole, ok is true. The
// words of text[:searched] are known to hold no match; found reports
// whether text holds one.
func cutSnippet(text string, searched int, whole bool, terms []string, n int) (s string, ok, found bool) {
	if whole && len(text) <= n {
		return text, true, false
	}
	st := stems(terms)
	start := 0
	for from, to := range words(text[searched:]) {
		if matchesTerm(text[searched+from:searched+to], st) {
			start, found = max(0, searched+from-n/3), true
			break
		}
	}
	if !whole && (!found || start+n >= len(text)) {
		return "", false, found
	}
	end := min(len(text), start+n)
	// Move both ends to spaces, so no word (or UTF-8 sequence) is cut.
	if start > 0 {
		if i := strings.IndexByte(text[start:], ' '); i >= 0 && start+i < end {
			start += i + 1
		}
	}
	if end < len(text) {
		if i := strings.LastIndexByte(text[start:end], ' '); i > 0 {
			end = start + i
		}
	}
	out := text[start:end]
	if start > 0 {
		out = "…" + out
	}
	if end < len(text) {
		out += "…"
	}
	return out, true, found
}
