package web

import (
	"bytes"
	"embed"
	"fmt"
	"hash/crc32"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skein-forum/skein/httpcache"
	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
)

//go:embed templates/*.html
var templateFiles embed.FS

// page is what the layout of every page needs; Data is the page's own.
type page struct {
	Title       string // the page's own title; the layout adds the site name
	Description string // og:description and meta description
	Canonical   string // absolute URL
	Alternate   string // absolute URL of the ActivityPub document, if any
	OGType      string // "website", "article", "profile"
	Prev, Next  string // rel=prev/next links of paged pages
	Feeds       []feedLink
	NoIndex     bool // pages search engines should not keep (search results)
	Viewer      *storage.Account
	Here        string // site path of a page a guest may want to come back to after signing in
	Site        *Server
	Data        any
}

// parseTemplates builds one template set per page: the layout, the shared
// partials and the page's own file, parsed once at start-up.
func (s *Server) parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(s.funcs()).
		ParseFS(templateFiles, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template)
	for _, name := range names {
		name = strings.TrimPrefix(name, "templates/")
		if name == "layout.html" || name == "partials.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFiles, "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		pages[strings.TrimSuffix(name, ".html")] = t
	}
	return pages, nil
}

// funcs are the helpers templates call: links go through site's path
// builders, under the base URL's prefix.
func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		"path":       s.path,
		"forumPath":  func(slug string) string { return s.path(site.ForumPath(slug)) },
		"threadPath": func(id storage.ID) string { return s.path(site.ThreadPath(id)) },
		"threadPage": func(id storage.ID, page int64) string { return s.path(site.ThreadPagePath(id, page)) },
		"postPath":   func(id storage.ID) string { return s.path(site.PostPath(id)) },
		"postURL":    func(id storage.ID) string { return s.URLs.Post(id) },
		"anchor":     site.PostAnchor,
		"memberPath": func(handle string) string { return s.path(site.MemberPath(handle)) },
		"authorLink": s.authorLink,
		"handleOf":   s.fediverseHandle,
		"date":       formatDate,
		"when":       formatWhen,
		"datetime":   formatDateTime,
		"num":        thousands,
		"trusted":    func(html string) template.HTML { return template.HTML(html) }, // sanitized when written
		"add":        func(a, b int64) int64 { return a + b },
		"static":     s.staticPath,
		"memberRow":  newMemberRow,
		"initial":    initial,
		"cwField":    func(id, value string) cwField { return cwField{ID: id, Value: value} },
		"formToken":  formTokenValue,
		"attachFields": func(prefix string, media []attachmentField) attachFields {
			return attachFields{Prefix: prefix, Media: media, On: s.media != nil, Max: storage.MaxAttachments}
		},
	}
}

// attachFields is a composer's images: those attached so far and the
// file picker, when the node takes images (On).
type attachFields struct {
	Prefix string // of the element ids
	Media  []attachmentField
	On     bool
	Max    int
}

// cwField is the content warning input of a composer.
type cwField struct{ ID, Value string }

// authorLink is where an author's name links: the member's profile here,
// or a remote actor's own page.
func (s *Server) authorLink(a *storage.Account) string {
	if a == nil {
		return ""
	}
	if a.IsLocal() {
		return s.path(site.MemberPath(a.Handle))
	}
	if a.URL != "" {
		return a.URL
	}
	if a.APID != nil {
		return *a.APID
	}
	return ""
}

// fediverseHandle is an account's full address: @name@host.
func (s *Server) fediverseHandle(a *storage.Account) string {
	if a == nil {
		return ""
	}
	if a.IsLocal() {
		return "@" + s.URLs.Handle(a.Handle)
	}
	return "@" + a.Acct()
}

// initial is the first letter of a name, for the avatar of members who
// have none.
func initial(name string) string {
	for _, r := range name {
		return strings.ToUpper(string(r))
	}
	return "?"
}

// formatDate is how pages show a day: "26 November 2026".
func formatDate(t time.Time) string { return t.UTC().Format("2 January 2006") }

// formatWhen is a moment as pages print it: the day and the time, in UTC
// so a page cached for guests is right for everyone; the script rewrites
// it in the reader's time zone, and recent ones as "5 minutes ago".
func formatWhen(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") }

// formatDateTime is the machine-readable form for <time datetime>.
func formatDateTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// thousands writes 1307 as "1,307".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes a page into a buffer, so a template error becomes a 500
// page instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	buf := s.execute(w, r, name, p)
	if buf == nil {
		return
	}
	defer bufPool.Put(buf)
	writeHTML(w, status, buf.Bytes())
}

// renderCached is render for pages that may answer 304: the ETag is a
// checksum of the bytes the viewer would get, so any change the page shows
// (a like, an edit, a new reply, who is signed in) changes it. A guest's
// page is kept in the guest page cache under version, the version of the
// thread or forum it shows; a negative version keeps nothing.
func (s *Server) renderCached(w http.ResponseWriter, r *http.Request, name string, p *page, modified time.Time, version int64) {
	buf := s.execute(w, r, name, p)
	if buf == nil {
		return
	}
	defer bufPool.Put(buf)
	viewer := "g"
	if p.Viewer != nil {
		viewer = p.Viewer.ID.String()
	}
	etag := `W/"` + viewer + "-" + strconv.Itoa(buf.Len()) + "-" +
		strconv.FormatUint(uint64(crc32.Checksum(buf.Bytes(), castagnoli)), 36) + `"`
	if p.Viewer == nil && version >= 0 {
		s.keepForGuests(r, version, buf.Bytes(), etag, modified)
	}
	s.writeCachable(w, r, buf.Bytes(), etag, modified, p.Viewer != nil)
}

// writeCachable writes a page with its validators, or 304 when the
// browser's copy is current. Pages made for one member are private. body
// is the caller's to change (see writeHTML).
func (s *Server) writeCachable(w http.ResponseWriter, r *http.Request, body []byte, etag string, modified time.Time, private bool) {
	if !writeValidators(w, r, etag, modified, private) {
		writeHTML(w, http.StatusOK, body)
	}
}

// writeValidators sets a page's caching headers and answers 304 when the
// browser's copy is current, which it reports: then the page is done.
func writeValidators(w http.ResponseWriter, r *http.Request, etag string, modified time.Time, private bool) bool {
	h := w.Header()
	if private {
		h.Set("Cache-Control", "private, no-cache")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", etag)
	if !modified.IsZero() {
		h.Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
	}
	if httpcache.NotModified(r, etag, modified) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	return false
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (s *Server) execute(w http.ResponseWriter, r *http.Request, name string, p *page) *bytes.Buffer {
	t, ok := s.pages[name]
	if !ok {
		if name == "error" {
			http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
			return nil
		}
		s.serverError(w, r, fmt.Errorf("no template %q", name))
		return nil
	}
	p.Site = s
	if p.Here == "" && r.Method == http.MethodGet && p.Viewer == nil {
		p.Here = strings.TrimPrefix(r.URL.RequestURI(), s.prefix)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	if err := t.ExecuteTemplate(buf, "layout", p); err != nil {
		bufPool.Put(buf)
		if name == "error" {
			http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
			return nil
		}
		s.serverError(w, r, fmt.Errorf("render %s: %w", name, err))
		return nil
	}
	return buf
}

// writeHTML writes a page, which it may change: the caller's own bytes.
func writeHTML(w http.ResponseWriter, status int, body []byte) {
	fillFormTokens(body)
	writeBody(w, status, body)
}

// writeBody writes a page whose composer tokens are filled in already.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// errorData is the page shown for 403, 404, 429 and 500.
type errorData struct {
	Status  int
	Heading string
	Message string
}

// errorPage renders a friendly error page with the given status.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, message string) {
	heading := map[int]string{
		http.StatusBadRequest:            "That did not work",
		http.StatusForbidden:             "Not allowed",
		http.StatusNotFound:              "Page not found",
		http.StatusGone:                  "Gone",
		http.StatusRequestEntityTooLarge: "Too long",
		http.StatusTooManyRequests:       "Slow down",
		http.StatusInternalServerError:   "Something went wrong",
	}[status]
	if heading == "" {
		heading = http.StatusText(status)
	}
	if status == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "60")
	}
	s.notice(w, r, status, heading, message)
}

// renderPage renders a page of the site's own ("website" to Open Graph)
// with no description of its own: forms, admin and message pages.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name, title, canonical string, data any) {
	s.render(w, r, status, name, sitePage(r, title, "", canonical, data))
}

// sitePage is a page of the site's own ("website" to Open Graph) as the
// viewer sees it: forms, lists, admin and message pages. Callers add
// what else the page has (paging links, NoIndex, feeds).
func sitePage(r *http.Request, title, description, canonical string, data any) *page {
	return &page{Title: title, Description: description, Canonical: canonical, OGType: "website", Viewer: viewerFrom(r), Data: data}
}

// notice shows a short message page, such as the answer to a form that
// has nothing else to show.
func (s *Server) notice(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	w.Header().Set("Cache-Control", "no-store")
	s.renderPage(w, r, status, "error", heading, s.URLs.Abs(r.URL.Path), errorData{Status: status, Heading: heading, Message: message})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound, "There is nothing at this address. It may have been moved or deleted.")
}

func (s *Server) notFoundHandler(w http.ResponseWriter, r *http.Request) { s.notFound(w, r) }

func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, message string) {
	s.errorPage(w, r, http.StatusForbidden, message)
}

// serverError logs a real fault and shows a page that leaks nothing.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The client went away mid-request: nothing failed that an admin
		// must hear about, and under load these would flood the log.
		s.Log.Debug("web request abandoned", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	if storage.Unavailable(err) {
		s.Log.Warn("web request refused by a busy database", "method", r.Method, "path", r.URL.Path, "err", err)
		retryLater(w)
		s.errorPage(w, r, http.StatusServiceUnavailable, "The forum's database is busy and nothing was changed. Go back and try again in a moment.")
		return
	}
	s.Log.Error("web request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	s.errorPage(w, r, http.StatusInternalServerError, "The forum could not answer this request. Please try again in a moment.")
}

// redirect answers a form with 303 See Other to a site path.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, sitePath string) {
	http.Redirect(w, r, s.path(sitePath), http.StatusSeeOther)
}
