package web

import (
	"bytes"
	"encoding/xml"
	"hash/crc32"
	"html"
	"net/http"
	"strconv"
	"time"

	"github.com/skein-forum/skein/httpcache"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

// Feeds: Atom (RFC 4287) and RSS 2.0 for the node and each forum (their
// newest threads, each with its opening post) and each thread (its newest
// posts). Readers poll them, so they carry validators and answer 304.

const feedEntries = 30

// feed is what both formats are written from.
type feed struct {
	Title    string
	Subtitle string
	PageURL  string // the HTML page the feed follows
	AtomURL  string
	RSSURL   string
	Updated  time.Time
	Entries  []feedEntry
}

type feedEntry struct {
	Title     string
	URL       string // the post's permalink; also the entry's id
	Author    string
	Published time.Time
	Updated   time.Time
	HTML      string // sanitized when it was written
}

// feedLink is a <link rel="alternate"> to a feed, for the page's head.
type feedLink struct {
	Atom  bool // Atom, else RSS
	Title string
	Href  string
}

// feedLinks advertises both formats of the feed whose Atom path is
// atomPath ("/feed.atom", "/f/slug/feed.atom").
func (s *Server) feedLinks(title, atomPath string) []feedLink {
	base := atomPath[:len(atomPath)-len("atom")]
	return []feedLink{
		{Atom: true, Title: title + " (Atom)", Href: s.URLs.Abs(atomPath)},
		{Title: title + " (RSS)", Href: s.URLs.Abs(base + "rss")},
	}
}

func (s *Server) nodeFeed(w http.ResponseWriter, r *http.Request) error {
	threads, err := s.Store.NewestThreads(r.Context(), 0, feedEntries)
	if err != nil {
		return err
	}
	subtitle := s.SiteDescription()
	if subtitle == "" {
		subtitle = "New threads on " + s.SiteName()
	}
	f := feed{Title: s.SiteName(), Subtitle: subtitle, PageURL: s.URLs.Abs("/"),
		AtomURL: s.URLs.Abs("/feed.atom"), RSSURL: s.URLs.Abs("/feed.rss")}
	s.threadEntries(w, r, &f, threads)
	return nil
}

func (s *Server) forumFeed(w http.ResponseWriter, r *http.Request) error {
	fo, err := s.Store.ForumBySlug(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	threads, err := s.Store.NewestThreads(r.Context(), fo.ID, feedEntries)
	if err != nil {
		return err
	}
	p := site.ForumPath(fo.Slug)
	f := feed{Title: fo.Title + " · " + s.SiteName(), Subtitle: fo.Description, PageURL: s.URLs.Abs(p),
		AtomURL: s.URLs.Abs(p + "/feed.atom"), RSSURL: s.URLs.Abs(p + "/feed.rss")}
	if f.Subtitle == "" {
		f.Subtitle = "New threads in " + fo.Title
	}
	s.threadEntries(w, r, &f, threads)
	return nil
}

// threadEntries fills a feed with threads, each shown by its first post.
func (s *Server) threadEntries(w http.ResponseWriter, r *http.Request, f *feed, threads []storage.ThreadInForum) {
	ids := make([]storage.ID, 0, len(threads))
	for _, t := range threads {
		if t.FirstPostID != nil {
			ids = append(ids, *t.FirstPostID)
		}
	}
	first, err := s.Store.PostsByID(r.Context(), ids)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	for _, t := range threads {
		p := first[derefID(t.FirstPostID)]
		if p == nil || p.IsDeleted() {
			continue
		}
		e := s.postEntry(p)
		e.Title = t.Title
		e.URL = s.URLs.Thread(t.ID)
		f.Entries = append(f.Entries, e)
		f.Updated = later(f.Updated, e.Updated)
	}
	s.writeFeed(w, r, f)
}

func (s *Server) threadFeed(w http.ResponseWriter, r *http.Request) error {
	id, ok := parseIDParam(r, "id")
	if !ok {
		return storage.ErrNotFound
	}
	t, err := s.Store.ThreadWithForum(r.Context(), id)
	if err != nil || t.DeletedAt != nil {
		return errorOr(err, storage.ErrNotFound)
	}
	posts, err := s.Store.LatestPosts(r.Context(), id, feedEntries)
	if err != nil {
		return err
	}
	p := site.ThreadPath(id)
	f := feed{Title: t.Title + " · " + s.SiteName(), Subtitle: "A thread in " + t.ForumTitle,
		PageURL: s.URLs.Abs(p), AtomURL: s.URLs.Abs(p + "/feed.atom"), RSSURL: s.URLs.Abs(p + "/feed.rss")}
	for i := range posts {
		e := s.postEntry(&posts[i])
		e.Title = t.Title
		if posts[i].Position > 1 {
			e.Title = "Re: " + t.Title + " (#" + strconv.FormatInt(posts[i].Position, 10) + ")"
		}
		f.Entries = append(f.Entries, e)
		f.Updated = later(f.Updated, e.Updated)
	}
	s.writeFeed(w, r, &f)
	return nil
}

// postEntry is a post as a feed entry. A post behind a content warning
// shows the warning and a link, never its text: feed readers show
// entries in full.
func (s *Server) postEntry(p *storage.Post) feedEntry {
	e := feedEntry{URL: s.URLs.Post(p.ID), Published: p.CreatedAt, Updated: p.CreatedAt, HTML: p.ViewHTML()}
	if w := p.Warning(); w != "" {
		e.HTML = "<p><strong>Content warning:</strong> " + html.EscapeString(w) + `</p><p><a href="` +
			html.EscapeString(e.URL) + `">Open the post to read it.</a></p>`
	}
	if p.EditedAt != nil {
		e.Updated = *p.EditedAt
	}
	if p.Author != nil {
		e.Author = p.Author.Name()
	}
	return e
}

// writeFeed answers in the format the path names, with validators.
func (s *Server) writeFeed(w http.ResponseWriter, r *http.Request, f *feed) {
	if f.Updated.IsZero() {
		f.Updated = time.Unix(0, 0)
	}
	var doc any
	contentType := "application/atom+xml; charset=utf-8"
	if len(r.URL.Path) > 4 && r.URL.Path[len(r.URL.Path)-4:] == ".rss" {
		doc, contentType = f.rss(), "application/rss+xml; charset=utf-8"
	} else {
		doc = f.atom()
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	if err := enc.Encode(doc); err != nil {
		s.serverError(w, r, err)
		return
	}
	body := buf.Bytes()
	etag := `"` + strconv.Itoa(len(body)) + "-" + strconv.FormatUint(uint64(crc32.Checksum(body, castagnoli)), 36) + `"`
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("ETag", etag)
	h.Set("Last-Modified", f.Updated.UTC().Format(http.TimeFormat))
	if httpcache.NotModified(r, etag, f.Updated) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// Atom, RFC 4287.
type atomFeed struct {
	XMLName  xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title    string      `xml:"title"`
	Subtitle string      `xml:"subtitle,omitempty"`
	ID       string      `xml:"id"`
	Updated  string      `xml:"updated"`
	Links    []atomLink  `xml:"link"`
	Entries  []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	Title     string     `xml:"title"`
	ID        string     `xml:"id"`
	Updated   string     `xml:"updated"`
	Published string     `xml:"published"`
	Author    atomAuthor `xml:"author"`
	Link      atomLink   `xml:"link"`
	Content   atomText   `xml:"content"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

func (f *feed) atom() *atomFeed {
	a := &atomFeed{
		Title: f.Title, Subtitle: f.Subtitle, ID: f.PageURL, Updated: f.Updated.UTC().Format(time.RFC3339),
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: f.AtomURL},
			{Rel: "alternate", Type: "text/html", Href: f.PageURL},
		},
	}
	for _, e := range f.Entries {
		author := e.Author
		if author == "" {
			author = "unknown"
		}
		a.Entries = append(a.Entries, atomEntry{
			Title: e.Title, ID: e.URL, Updated: e.Updated.UTC().Format(time.RFC3339),
			Published: e.Published.UTC().Format(time.RFC3339), Author: atomAuthor{Name: author},
			Link: atomLink{Rel: "alternate", Type: "text/html", Href: e.URL}, Content: atomText{Type: "html", Text: e.HTML},
		})
	}
	return a
}

// RSS 2.0, with Atom's self link and Dublin Core's creator (RSS's own
// author element wants an e-mail address).
type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	AtomNS  string     `xml:"xmlns:atom,attr"`
	DCNS    string     `xml:"xmlns:dc,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	Self          rssAtomLn `xml:"atom:link"`
	LastBuildDate string    `xml:"lastBuildDate"`
	Items         []rssItem `xml:"item"`
}

type rssAtomLn struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
	Href string `xml:"href,attr"`
}

type rssItem struct {
	Title       string  `xml:"title"`
	Link        string  `xml:"link"`
	GUID        rssGUID `xml:"guid"`
	PubDate     string  `xml:"pubDate"`
	Creator     string  `xml:"dc:creator,omitempty"`
	Description string  `xml:"description"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

func (f *feed) rss() *rssDoc {
	d := &rssDoc{Version: "2.0", AtomNS: "http://www.w3.org/2005/Atom", DCNS: "http://purl.org/dc/elements/1.1/",
		Channel: rssChannel{Title: f.Title, Link: f.PageURL, Description: f.Subtitle,
			Self:          rssAtomLn{Rel: "self", Type: "application/rss+xml", Href: f.RSSURL},
			LastBuildDate: f.Updated.UTC().Format(time.RFC1123Z)}}
	for _, e := range f.Entries {
		d.Channel.Items = append(d.Channel.Items, rssItem{Title: e.Title, Link: e.URL,
			GUID: rssGUID{IsPermaLink: "true", Value: e.URL}, PubDate: e.Published.UTC().Format(time.RFC1123Z),
			Creator: e.Author, Description: e.HTML})
	}
	return d
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func derefID(p *storage.ID) storage.ID {
	if p == nil {
		return 0
	}
	return *p
}

// errorOr returns err, or fallback when err is nil.
func errorOr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}
