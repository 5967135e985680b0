package node_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/fedtest"
	"github.com/skein-forum/skein/node"
)

// The rig of the hostile-input suite ([TestHostileInput]): one running node whose clock
// the test can move, remote hosts that serve whatever documents a case
// needs (huge, lying, redirecting, hanging), raw signed requests with
// every knob a forger has, and a scan of the content tables for a case's
// marker.

// hostileNode is a running node with a movable federation clock.
type hostileNode struct {
	*testNode
	skew atomic.Int64 // nanoseconds added to the node's clock
}

func startHostileNode(t testing.TB, edit func(*node.Config)) *hostileNode {
	t.Helper()
	h := &hostileNode{}
	h.testNode = startNodeWith(t, func(c *node.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(h.skew.Load())) }
		if edit != nil {
			edit(c)
		}
	})
	return h
}

// hostileHost is a remote server on loopback: a Mastodon-style fedtest
// server whose actors sign with remoteKey; on serves anything else at a
// path, and Hits counts requests by path.
type hostileHost struct {
	*fedtest.Server
}

func newHostileHost(t testing.TB) *hostileHost {
	t.Helper()
	return &hostileHost{fedtest.NewWith(t, fedtest.Mastodon, fedtest.Options{Key: remoteKey()})}
}

// on serves fn at path from now on.
func (h *hostileHost) on(path string, fn http.HandlerFunc) { h.Handle(path, fn) }

// hitsOn counts requests for path; "" counts all.
func (h *hostileHost) hitsOn(path string) int { return h.Hits(path) }

func (h *hostileHost) url(path string) string   { return h.URL + path }
func (h *hostileHost) actor(name string) string { return h.Actor(name).ID }
func (h *hostileHost) keyID(name string) string { return h.Actor(name).KeyID() }

// actorDoc is the Person a host serves at /users/NAME, to change.
func (h *hostileHost) actorDoc(name string) map[string]any { return h.Actor(name).Document() }

// hang answers nothing until the client gives up.
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func writeJSON(w http.ResponseWriter, doc any) {
	w.Header().Set("Content-Type", "application/activity+json")
	_ = json.NewEncoder(w).Encode(doc)
}

// forgery is one raw POST to an inbox, as a hostile sender builds it.
type forgery struct {
	url         string
	body        []byte
	contentType string          // default application/activity+json
	keyID       string          // "" sends it unsigned
	key         *rsa.PrivateKey // default remoteKey
	headers     []string        // signed headers; default Mastodon's
	date        time.Time       // Date; default now
	after       func(r *http.Request)
}

// request builds the signed request; build it again to send it again.
func (f forgery) request(t testing.TB) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url, bytes.NewReader(f.body))
	if err != nil {
		t.Fatal(err)
	}
	ct := f.contentType
	if ct == "" {
		ct = "application/activity+json"
	}
	req.Header.Set("Content-Type", ct)
	if f.keyID != "" {
		key := f.key
		if key == nil {
			key = remoteKey()
		}
		headers := f.headers
		if headers == nil {
			headers = []string{"(request-target)", "host", "date", "digest"}
		}
		if err := fedtest.Sign(req, f.body, fedtest.Signing{KeyID: f.keyID, Key: key, Headers: headers, Date: f.date}); err != nil {
			t.Fatal(err)
		}
	}
	if f.after != nil {
		f.after(req)
	}
	return req
}

// hostileClient gives every request the 10 s: a request that
// takes longer fails as a hang.
var hostileClient = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// send sends req and returns the status; a hang or a broken connection
// fails the test.
func send(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := hostileClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v (a hang or a dropped connection)", req.Method, req.URL.Path, err)
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(body)
}

// newMarker is a string no node writes by itself.
func newMarker(i int) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("mk%02dz%s", i, hex.EncodeToString(b[:]))
}

// contentTables hold what the node shows and federates; the inbox queue
// (inbox_items) is left out: it keeps what arrived, applied or not, for
// a day, and shows it to no one.
var contentTables = []string{"posts", "threads", "accounts", "follows", "likes", "reports",
	"post_search", "activities", "outbox_events", "forums"}

// findMarker returns "table: value" for the first row holding marker in
// any column, or "".
func findMarker(t testing.TB, db *sql.DB, marker string) string {
	t.Helper()
	for _, table := range contentTables {
		rows, err := db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				t.Fatalf("scan %s: %v", table, err)
			}
			for i, v := range vals {
				var s string
				switch x := v.(type) {
				case string:
					s = x
				case []byte:
					s = string(x)
				default:
					continue
				}
				if strings.Contains(s, marker) {
					rows.Close()
					return fmt.Sprintf("%s.%s: %.120q", table, cols[i], s)
				}
			}
		}
		rows.Close()
	}
	return ""
}

// settleInbox waits until the inbox worker has tried every item due: what
// is left waits for a retry it was given.
func (h *hostileNode) settleInbox(t testing.TB) {
	t.Helper()
	waitFor(t, "the inbox worker to try every item", 15*time.Second, func() bool {
		var n int
		err := h.Store.DB().DB.QueryRow(`SELECT count(*) FROM inbox_items WHERE done_at IS NULL
			AND (lease_until IS NOT NULL OR next_attempt_at <= ?)`, time.Now().UTC()).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && h.Inbox != nil {
			h.Inbox.Notify()
		}
		return n == 0
	})
}

// itemOutcome is what became of the inbox item whose body holds marker:
// found, done, and the reason recorded.
func (h *hostileNode) itemOutcome(t testing.TB, marker string) (found, done bool, lastError string) {
	t.Helper()
	var doneAt sql.NullString
	err := h.Store.DB().DB.QueryRow(`SELECT i.done_at, i.last_error FROM inbox_items i
		JOIN inbox_bodies b ON b.item_id = i.id WHERE b.body LIKE ?`, "%"+marker+"%").Scan(&doneAt, &lastError)
	if err == sql.ErrNoRows {
		return false, false, ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return true, doneAt.Valid, lastError
}

// stillServes fails the test unless the node answers its health check
// and a thread page.
func (h *hostileNode) stillServes(t testing.TB, threadPath string) {
	t.Helper()
	for _, p := range []string{"/healthz", threadPath} {
		resp, err := hostileClient.Get(h.Base + p)
		if err != nil {
			t.Fatalf("node stopped serving %s: %v", p, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
	}
}

// mustJSON marshals an activity, with the ActivityStreams context unless
// it has one.
func mustJSON(t testing.TB, m map[string]any) []byte {
	t.Helper()
	if _, ok := m["@context"]; !ok {
		m["@context"] = "https://www.w3.org/ns/activitystreams"
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postField reads one column of a post.
func postField(t testing.TB, n *testNode, col, apOrID string, args ...any) string {
	t.Helper()
	var s sql.NullString
	if err := n.Store.DB().DB.QueryRow("SELECT "+col+" FROM posts WHERE "+apOrID, args...).Scan(&s); err != nil {
		t.Fatalf("post %s: %v", col, err)
	}
	return s.String
}
