package node_test

import (
	"context"
	"database/sql"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uptrace/bun/driver/sqliteshim"
)

// Database faults: when the database refuses a write (busy past its
// timeout, or the disk full), an inbox answers 503 with Retry-After so
// the sender retries, a member's form comes back with a clear error and
// their text, and nothing is half-written. Once the database recovers,
// the same requests succeed.
func TestDatabaseBusyOrFullRefusesCleanly(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	remote := newFakeRemote(t, false)
	zed, yan := remote.actor("zed"), remote.actor("yan")
	alice := n.register("alice")
	thread := alice.newThread("Busy kitchen", "First post.")
	firstID := mustThread(t, n, thread).firstPost()
	firstURL := n.URLs.Post(firstID)
	// zed is known (its key is on file); yan will be new, so its key
	// must be stored on the way in.
	if code := zed.send(t, n.Base+"/inbox", map[string]any{"id": zed.ID + "#like-1", "type": "Like", "object": firstURL}); code != http.StatusAccepted {
		t.Fatalf("like: %d", code)
	}
	// Applying the like writes rows of its own: let it finish first.
	waitFor(t, "the like to be applied", waitLong, n.inboxSettled)
	db := n.Store.DB()
	dataDir := filepath.Dir(dbPath(t, n))

	faults := []struct {
		name  string
		start func(t *testing.T) (stop func())
	}{
		{"busy", func(t *testing.T) func() {
			// Another process holds the write lock longer than the node's
			// busy timeout (shortened here from 10 s).
			if _, err := db.ExecContext(ctx, "PRAGMA busy_timeout = 200"); err != nil {
				t.Fatal(err)
			}
			other, err := sql.Open(sqliteshim.ShimName, "file:"+filepath.Join(dataDir, "skein.db"))
			if err != nil {
				t.Fatal(err)
			}
			conn, err := other.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
				t.Fatal(err)
			}
			return func() {
				_, _ = conn.ExecContext(ctx, "ROLLBACK")
				conn.Close()
				other.Close()
				_, _ = db.ExecContext(ctx, "PRAGMA busy_timeout = 10000")
			}
		}},
		{"disk full", func(t *testing.T) func() {
			// The database may not grow by a page: what a full disk does.
			var pages int
			if err := db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
				t.Fatal(err)
			}
			return func() { _, _ = db.ExecContext(ctx, "PRAGMA max_page_count = 1073741823") }
		}},
	}
	for i, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			// Long enough to need new pages; plain words, so the page
			// shows them as typed.
			text := fmt.Sprintf("Fault %d text kept. ", i) + strings.Repeat("Proofing notes for the record. ", 1800)
			note := func(a *fakeActor, k string) map[string]any {
				return map[string]any{"id": a.ID + "#create-" + k, "type": "Create", "object": map[string]any{
					"id": a.ID + "/statuses/" + k, "type": "Note", "attributedTo": a.ID, "inReplyTo": firstURL,
					"content": "<p>" + text + "</p>", "to": []any{"https://www.w3.org/ns/activitystreams#Public"}}}
			}
			key := fmt.Sprintf("fault%d", i)
			before := tableCounts(t, n)
			stop := f.start(t)

			for _, a := range []*fakeActor{zed, yan} {
				act := note(a, key)
				act["actor"] = a.ID
				req := forgery{url: n.Base + "/inbox", body: mustJSON(t, act), keyID: a.ID + "#main-key"}.request(t)
				resp, err := hostileClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
					t.Errorf("inbox POST by %s: status %d, Retry-After %q; want 503 with Retry-After", a.Name, resp.StatusCode, resp.Header.Get("Retry-After"))
				}
			}
			forms := []struct {
				path string
				form url.Values
				kept []string
			}{
				{"/t/" + thread.String() + "/reply", url.Values{"body": {text}}, []string{text}},
				{"/f/general/new", url.Values{"title": {fmt.Sprintf("Fault %d title", i)}, "body": {text}}, []string{fmt.Sprintf("Fault %d title", i), text}},
				{"/p/" + firstID.String() + "/edit", url.Values{"body": {text}}, []string{text}},
			}
			for _, fm := range forms {
				code, page, retry := formPage(t, alice, fm.path, fm.form)
				if code != http.StatusServiceUnavailable || retry == "" {
					t.Errorf("POST %s: status %d, Retry-After %q; want 503", fm.path, code, retry)
				}
				if !strings.Contains(page, "could not save") {
					t.Errorf("POST %s: the page does not say what happened", fm.path)
				}
				for _, k := range fm.kept {
					if !strings.Contains(page, html.EscapeString(k)) {
						t.Errorf("POST %s: the typed text is not on the page again", fm.path)
					}
				}
			}
			stop()
			if after := tableCounts(t, n); after != before {
				t.Errorf("rows changed while the database refused writes: %v, then %v", before, after)
			}

			// Recovered: the same requests go through.
			for _, a := range []*fakeActor{zed, yan} {
				if code := a.send(t, n.Base+"/inbox", note(a, key)); code != http.StatusAccepted {
					t.Errorf("retry by %s: %d", a.Name, code)
				}
			}
			alice.reply(thread, text)
			waitFor(t, "the retried replies to be stored", waitLong, func() bool {
				var k int
				_ = db.QueryRowContext(ctx, "SELECT count(*) FROM posts WHERE ap_id IN (?, ?)",
					zed.ID+"/statuses/"+key, yan.ID+"/statuses/"+key).Scan(&k)
				return k == 2
			})
		})
	}
}

// dbPath is the node's SQLite file.
func dbPath(t *testing.T, n *testNode) string {
	t.Helper()
	var seq int
	var name, file string
	if err := n.Store.DB().QueryRowContext(context.Background(), "PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
		t.Fatal(err)
	}
	return file
}

// tableCounts counts the rows a post, a thread or an inbox POST writes.
// (A new signer's actor may be stored on the way: that is a whole row of
// its own, kept whatever happens to the activity.)
func tableCounts(t *testing.T, n *testNode) [4]int {
	t.Helper()
	var c [4]int
	for i, table := range []string{"posts", "threads", "outbox_events", "inbox_items"} {
		if err := n.Store.DB().QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&c[i]); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// formPage posts a form as m and returns the status, the page and its
// Retry-After.
func formPage(t *testing.T, m *member, path string, form url.Values) (int, string, string) {
	t.Helper()
	a := m.send(path, form)
	return a.status, a.body, a.header.Get("Retry-After")
}
