package storage

import (
	"strings"

	"github.com/skein-forum/skein/markup"
)

// Storing a post is serial on SQLite's one writer, so what storing a
// NewPost computes from the post alone, with no database, is better done
// by its caller beforehand: [NewPost.Prepare]. The writer then only
// looks up what was prepared. It still decides everything that needs
// the database (which mentions name the thread or the author replied
// to, who is notified), and what was never prepared, or was prepared
// from text that changed since, it computes itself as before.

// postPrep is what [NewPost.Prepare] computed, and from what.
type postPrep struct {
	// The text it was computed from: a NewPost whose text changed after
	// Prepare is checked and read again.
	source, html, summaryIn string

	summary string // the content warning, cleaned (cleanSummary)
	err     error  // why the text is refused, or nil
	search  string // the body of the search document (searchText)
	// leading is the run of mentions the HTML opens with, for
	// leadingMentions; nil when it cannot open with any.
	leading *markup.Leading
}

// Prepare does ahead of storing np the work that needs no database:
// checking its text and content warning, the text of its search document
// and reading the mentions its HTML opens with. Storing a prepared post
// stores exactly what storing it unprepared would, for less of the
// writer's time; the inbox prepares each remote post on the goroutine of
// the request that brought it. A field changed after Prepare undoes it
// (np is then prepared inside the transaction as before).
func (np *NewPost) Prepare() {
	pr := &postPrep{source: np.Source, html: np.HTML, summaryIn: np.Summary}
	pr.summary, pr.err = checkText(np.Source, np.HTML, np.Summary)
	if pr.err == nil {
		pr.search = searchText(&Post{HTML: np.HTML, Summary: pr.summary})
		if mayLeadWithMentions(np.HTML) {
			l := markup.ReadLeading(np.HTML)
			pr.leading = &l
		}
	}
	np.prep = pr
}

// prepared is what Prepare found for np, or nil when np was not
// prepared or its text changed since. Comparing the strings costs next
// to nothing when they are the ones Prepare saw (same length and data).
func (np *NewPost) prepared() *postPrep {
	pr := np.prep
	if pr == nil || pr.html != np.HTML || pr.source != np.Source || pr.summaryIn != np.Summary {
		return nil
	}
	return pr
}

// checkedText is checkText of np's text, prepared or not.
func (np *NewPost) checkedText() (summary string, err error) {
	if pr := np.prepared(); pr != nil {
		return pr.summary, pr.err
	}
	return checkText(np.Source, np.HTML, np.Summary)
}

// checkText checks a new post's body and returns its content warning,
// cleaned.
func checkText(source, html, summary string) (string, error) {
	if err := validateBody(source, html); err != nil {
		return "", err
	}
	return cleanSummary(summary)
}

// mayLeadWithMentions reports whether HTML may open with mentions that
// leadingMentions would leave out of view.
func mayLeadWithMentions(html string) bool {
	return strings.HasPrefix(html, "<p>") && strings.Contains(html, "mention")
}

// leadingOf is the run of mentions np's HTML opens with, if prepared.
func (np *NewPost) leadingOf() *markup.Leading {
	if pr := np.prepared(); pr != nil {
		return pr.leading
	}
	return nil
}

// searchText is the body of the search document of pp's post: prepared
// when its NewPost was, computed now otherwise.
func (pp *placedPost) searchText() string {
	if pr := pp.np.prepared(); pr != nil && pr.err == nil && pp.post.HTML == pr.html && pp.post.Summary == pr.summary {
		return pr.search
	}
	return searchText(pp.post)
}
