package node_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/node"
	"github.com/skein-forum/skein/storage"
)

// The multi-node rig: real nodes (node.New, as `skein serve` builds them)
// on loopback ports with their own SQLite files, members driving them
// through the web forms, and waits bounded by a deadline.

// testNode is a running node.
type testNode struct {
	t testing.TB
	*node.Node
	Base string
}

// quietLog keeps test output readable; SKEIN_TEST_LOG=1 shows node logs.
func quietLog() *slog.Logger {
	if os.Getenv("SKEIN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startNode starts a node on a fresh loopback port with its own data
// directory; it stops at cleanup. Retries are quick so recovery tests
// take moments, not minutes.
func startNode(t testing.TB) *testNode { return startNodeWith(t, nil) }

// startNodeWith is startNode with a chance to change the configuration
// first.
func startNodeWith(t testing.TB, edit func(*node.Config)) *testNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := node.Config{
		Listen: ln.Addr().String(), BaseURL: base, DataDir: t.TempDir(), Registration: "open",
		AllowPrivateNetworks: true, AllowHTTP: true, Version: "test", Log: quietLog(),
	}
	if edit != nil {
		edit(&cfg)
	}
	n, err := node.New(context.Background(), cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	n.Delivery.RetryBase = 50 * time.Millisecond
	n.Delivery.RetryMax = 500 * time.Millisecond
	n.Delivery.PollInterval = 100 * time.Millisecond
	n.Outbox.PollInterval = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node %s: %v", base, err)
		}
	})
	return &testNode{t: t, Node: n, Base: base}
}

// drained reports whether every outbox event is processed and every
// delivery job done: after that, nothing more will arrive anywhere.
func (n *testNode) drained() bool {
	ctx := context.Background()
	ev, err := n.Store.PendingEvents(ctx, 1)
	if err != nil {
		n.t.Fatal(err)
	}
	jobs, err := n.Store.ReadDB().NewSelect().Table("deliveries").Count(ctx)
	if err != nil {
		n.t.Fatal(err)
	}
	return len(ev) == 0 && jobs == 0
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// member is a visitor signed in to a node, whose forms must succeed.
type member struct {
	*visitor
	handle string
}

const testPassword = "correct horse battery staple"

// register signs a new member up through the registration form.
func (n *testNode) register(handle string) *member {
	n.t.Helper()
	m := &member{visitor: n.visitor(), handle: handle}
	m.post("/register", url.Values{"handle": {handle}, "display_name": {strings.ToUpper(handle[:1]) + handle[1:]},
		"password": {testPassword}, "password2": {testPassword}})
	return m
}

// account is the member's row.
func (m *member) account() *storage.Account {
	a, err := m.n.Store.MemberByHandle(context.Background(), m.handle)
	if err != nil {
		m.t.Fatal(err)
	}
	return a
}

// post sends a form and expects a 303; it returns the Location.
func (m *member) post(path string, form url.Values) string {
	m.t.Helper()
	a := m.send(path, form)
	if a.status != http.StatusSeeOther {
		m.t.Fatalf("POST %s: status %d, want 303: %.500s", path, a.status, a.body)
	}
	return a.location
}

// send sends a form as the member and returns the answer, whatever it is.
func (m *member) send(path string, form url.Values) answer {
	m.t.Helper()
	return m.do(http.MethodPost, path, form)
}

// get fetches a page as the member and returns its body.
func (m *member) get(path string) string {
	m.t.Helper()
	a := m.do(http.MethodGet, path, nil)
	if a.status != http.StatusOK {
		m.t.Fatalf("GET %s: status %d: %.300s", path, a.status, a.body)
	}
	return a.body
}

// visitor is a browser with a cookie jar that reports every answer as it
// is (no redirects followed).
type visitor struct {
	t testing.TB
	n *testNode
	c *http.Client
}

func (n *testNode) visitor() *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{t: n.t, n: n, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// answer is a response as the browser got it, its body read.
type answer struct {
	status   int
	body     string
	location string
	header   http.Header
}

// do sends a request to target (a path on the node, or a URL); a form
// goes as a browser on the node's page sends it, with its Origin.
func (v *visitor) do(method, target string, form url.Values) answer {
	v.t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = v.n.Base + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		v.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", v.n.Base)
	}
	resp, err := v.c.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location"), header: resp.Header}
}

func (v *visitor) get(target string) answer { return v.do(http.MethodGet, target, nil) }

func (v *visitor) post(target string, form url.Values) answer {
	return v.do(http.MethodPost, target, form)
}

func (a answer) want(t testing.TB, status int, parts ...string) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %.2000s", a.status, status, a.body)
	}
	for _, p := range parts {
		if !strings.Contains(a.body, p) {
			t.Errorf("answer lacks %q: %.3000s", p, a.body)
		}
	}
	return a
}

// newThread starts a thread in the node's default forum and returns its id.
func (m *member) newThread(title, body string) storage.ID {
	m.t.Helper()
	loc := m.post("/f/general/new", url.Values{"title": {title}, "body": {body}})
	id, err := storage.ParseID(strings.TrimPrefix(loc, "/t/"))
	if err != nil {
		m.t.Fatalf("new thread: redirected to %q", loc)
	}
	return id
}

// reply answers a thread and returns the new post's id.
func (m *member) reply(thread storage.ID, body string) storage.ID {
	m.t.Helper()
	return postIDFrom(m.t, m.post("/t/"+thread.String()+"/reply", url.Values{"body": {body}}))
}

// postIDFrom reads the post id from a permalink Location (…#p<id>).
func postIDFrom(t testing.TB, loc string) storage.ID {
	t.Helper()
	_, frag, _ := strings.Cut(loc, "#p")
	id, err := storage.ParseID(frag)
	if err != nil {
		t.Fatalf("no post id in %q", loc)
	}
	return id
}

// remoteFollow seeds an accepted follow of a local target by a remote
// actor, as the inbox records one after accepting a Follow; tests of the
// outbound half use it so they do not depend on the inbound half.
func (n *testNode) remoteFollow(actor *fakeActor, kind string, target storage.ID) *storage.Account {
	n.t.Helper()
	acc := n.knowRemote(actor)
	followID := actor.ID + "#follow-" + target.String()
	if _, err := n.Store.AddFollow(context.Background(), acc.ID, kind, target, &followID, true); err != nil {
		n.t.Fatal(err)
	}
	return acc
}

// waitFollowAccepted waits until the member's one follow of something
// on another server is accepted there.
func (n *testNode) waitFollowAccepted(what string, member storage.ID) {
	n.t.Helper()
	waitFor(n.t, what, waitLong, func() bool {
		fs, err := n.Store.RemoteFollowing(context.Background(), member, 10)
		return err == nil && len(fs) == 1 && fs[0].Accepted
	})
}

// waitMirror waits until the member's first follow of a thread on
// another server has its mirror here, and also holds when given, and
// returns the mirror.
func (n *testNode) waitMirror(what string, member storage.ID, also func(mirror storage.ID) bool) storage.ID {
	n.t.Helper()
	var mirror storage.ID
	waitFor(n.t, what, waitLong, func() bool {
		fs, err := n.Store.RemoteFollowing(context.Background(), member, 10)
		if err != nil || len(fs) == 0 || fs[0].MirrorID == 0 {
			return false
		}
		mirror = fs[0].MirrorID
		return also == nil || also(mirror)
	})
	return mirror
}

// forumID is the node's default forum.
func (n *testNode) forumID() storage.ID {
	f, err := n.Store.ForumBySlug(context.Background(), "general")
	if err != nil {
		n.t.Fatal(err)
	}
	return f.ID
}
