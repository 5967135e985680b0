package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/skein-forum/skein/site"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
	"github.com/skein-forum/skein/web"
)

// testSite is a node with the standard fixtures behind a real HTTP server:
// the web routes, plus a stand-in federation handler that marks what it
// answers, mounted the way cmd/skein mounts it.
type testSite struct {
	t     *testing.T
	Store *storage.Store
	Web   *web.Server
	FX    *storagetest.Fixtures
	URL   string
	URLs  *site.URLs
	mu    sync.Mutex
	inbox []string // bodies the stand-in /inbox received
}

func (ts *testSite) inboxBodies() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.inbox...)
}

const apMarker = `{"marker":"activitypub"}`

func newSite(t *testing.T) *testSite {
	t.Helper()
	return newSiteWith(t, nil)
}

// newSiteWith is newSite with a change to the web configuration.
func newSiteWith(t *testing.T, configure func(*web.Config)) *testSite {
	t.Helper()
	store := storagetest.Open(t, "sqlite")
	fx := storagetest.Seed(t, store)
	ts := &testSite{t: t, Store: store, FX: fx}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	ts.URL = srv.URL
	ts.URLs = site.MustNew(srv.URL)
	ap := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/activity+json")
		io.WriteString(w, apMarker)
	})
	cfg := web.Config{
		Store:        store,
		URLs:         ts.URLs,
		Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		SiteName:     "Test Kitchen Forum",
		Registration: web.RegistrationOpen,
		ActivityPub:  ap,
	}
	if configure != nil {
		configure(&cfg)
	}
	s, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Web = s
	mux := http.NewServeMux()
	s.Register(mux)
	mux.HandleFunc("POST /inbox", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ts.mu.Lock()
		ts.inbox = append(ts.inbox, string(b))
		ts.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	srv.Config.Handler = s.Handler(mux)
	return ts
}

// browser is one visitor with its own cookie jar. It does not follow
// redirects, so tests see them.
type browser struct {
	t    *testing.T
	site *testSite
	c    *http.Client
}

func (ts *testSite) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: ts.t, site: ts, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	*http.Response
	Body string
}

func (b *browser) do(req *http.Request) *response {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return &response{Response: resp, Body: string(body)}
}

func (b *browser) get(path string, header ...string) *response {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.site.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

// post sends a form as a browser on the same site does.
func (b *browser) post(path string, form url.Values) *response {
	b.t.Helper()
	return b.postWith(path, form, "Origin", b.site.URL, "Sec-Fetch-Site", "same-origin")
}

func (b *browser) postWith(path string, form url.Values, header ...string) *response {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.site.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

// signIn signs the browser in as handle with the fixture password.
func (b *browser) signIn(handle string) {
	b.t.Helper()
	r := b.post("/signin", url.Values{"handle": {handle}, "password": {storagetest.Password}})
	if r.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign in %s: status %d\n%s", handle, r.StatusCode, r.Body)
	}
}

func (r *response) wantStatus(t *testing.T, code int) *response {
	t.Helper()
	if r.StatusCode != code {
		t.Fatalf("%s %s: status %d, want %d\n%.3000s", r.Request.Method, r.Request.URL, r.StatusCode, code, r.Body)
	}
	return r
}

func (r *response) wantContains(t *testing.T, parts ...string) *response {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.Body, p) {
			t.Errorf("%s %s: body lacks %q\n%.4000s", r.Request.Method, r.Request.URL, p, r.Body)
		}
	}
	return r
}

func (r *response) wantLacks(t *testing.T, parts ...string) *response {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(r.Body, p) {
			t.Errorf("%s %s: body should not contain %q", r.Request.Method, r.Request.URL, p)
		}
	}
	return r
}

// location is the path (and query, fragment) a redirect points to.
func (r *response) location(t *testing.T) string {
	t.Helper()
	loc := r.Header.Get("Location")
	if loc == "" {
		t.Fatalf("%s %s: no Location (status %d)", r.Request.Method, r.Request.URL, r.StatusCode)
	}
	return loc
}

func (ts *testSite) thread(id storage.ID) *storage.Thread {
	ts.t.Helper()
	return stored(ts, ts.Store.ThreadByID, id)
}

func (ts *testSite) account(id storage.ID) *storage.Account {
	ts.t.Helper()
	return stored(ts, ts.Store.AccountByID, id)
}

// stored is what load reads by id as it is now, failing the test when it
// cannot.
func stored[T any](ts *testSite, load func(context.Context, storage.ID) (T, error), id storage.ID) T {
	ts.t.Helper()
	v, err := load(context.Background(), id)
	if err != nil {
		ts.t.Fatalf("load %s: %v", id, err)
	}
	return v
}
