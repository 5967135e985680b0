package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skein-forum/skein/cmd/skein/skeintest"
	"github.com/skein-forum/skein/federation/fedtest"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// cluster is what an admin scaling out runs: several `skein serve`
// processes (the real binary) on one PostgreSQL database, behind a
// round-robin reverse proxy that keeps the public Host.
type cluster struct {
	t     *testing.T
	base  string   // the proxy: the forum's public URL
	procs []string // each process's own address
	dsn   string
	fx    *storagetest.Fixtures
	hits  []atomic.Int64 // requests the proxy sent to each process
	db    *storage.Store // the database, opened by the test (see store)
}

func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	dsn := os.Getenv(storagetest.PostgresEnv)
	if dsn == "" {
		t.Skipf("%s is not set", storagetest.PostgresEnv)
	}
	c := &cluster{t: t, dsn: storagetest.NewPostgresSchema(t, dsn), hits: make([]atomic.Int64, n)}
	// The standard fixtures, written once before the processes start.
	s := storagetest.OpenWith(t, storage.Options{DatabaseURL: c.dsn})
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.fx = storagetest.Seed(t, s)
	s.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.base = "http://" + ln.Addr().String()
	var targets []*url.URL
	for i := range n {
		addr := skeintest.FreeAddr(t)
		c.procs = append(c.procs, "http://"+addr)
		u, _ := url.Parse("http://" + addr)
		targets = append(targets, u)
		cmd := exec.Command(binary, "serve", "--listen", addr, "--base-url", c.base, "--database-url", c.dsn,
			"--data", t.TempDir(), "--allow-private-networks", "--allow-http", "--trusted-proxy", "127.0.0.1",
			"--log-level", "warn", "--db-max-open", "4")
		done, logs := startServe(t, cmd)
		t.Cleanup(func() {
			cmd.Process.Signal(os.Interrupt)
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
			}
			if t.Failed() {
				t.Logf("process %d logs:\n%s", i, logs.String())
			}
		})
		waitReady(t, "http://"+addr+"/readyz", done, logs)
	}
	var next atomic.Int64
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		i := int(next.Add(1)) % n
		c.hits[i].Add(1)
		r.SetURL(targets[i])
		r.Out.Host = r.In.Host // the public host: signatures and links use it
		r.SetXForwarded()
	}}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return c
}

// browser is a visitor with a cookie jar, talking to the public URL
// unless told otherwise.
func (c *cluster) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// post sends a same-origin form to base+path (base: the proxy or one
// process), as address ip when ip is set.
func (c *cluster) post(client *http.Client, base, path string, form url.Values, ip string) int {
	c.t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
	req.Host = strings.TrimPrefix(c.base, "http://")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatalf("POST %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// sendVia POSTs a signed activity of a to one process directly, signed
// for and addressed to the public host, as if the proxy had chosen it.
func sendVia(t *testing.T, a *fedtest.Actor, process, publicBase string, act map[string]any) int {
	t.Helper()
	body, err := a.Marshal(act)
	if err != nil {
		t.Fatal(err)
	}
	req, err := a.NewPost(publicBase+"/inbox", body) // signed with the public Host
	if err != nil {
		t.Fatal(err)
	}
	req.URL = mustURL(process + "/inbox")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// byID counts accepted deliveries of type typ per activity id.
func byID(remote *fedtest.Server, typ string) map[string]int {
	out := map[string]int{}
	for _, d := range remote.Received("", typ) {
		id, _ := d.Activity["id"].(string)
		out[id]++
	}
	return out
}

func eventually(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two processes on one PostgreSQL behind a round-robin proxy behave as
// one forum: federation in and out, each activity delivered once, one
// session valid on both, one sign-in limit for both, and a domain
// suspend refused by both within a second.
func TestTwoProcessesOnOnePostgres(t *testing.T) {
	c := startCluster(t, 2)
	ctx := context.Background()
	remote := fedtest.New(t, fedtest.Mastodon)
	zed := remote.Actor("zed")
	host := strings.TrimPrefix(c.base, "http://")
	threadURL := c.base + "/t/" + c.fx.Thread.ID.String()

	// The federation loop: zed follows the thread (through the proxy)
	// and is accepted.
	if code, body, err := zed.Post(ctx, c.base+"/inbox", zed.Follow(threadURL)); err != nil || code != http.StatusAccepted {
		t.Fatalf("follow: %d %s %v", code, body, err)
	}
	remote.AwaitType(t, 20*time.Second, "", "Accept", 1)

	// Sessions: alice signs in through the proxy; her cookie works on
	// each process directly.
	alice := c.browser()
	if code := c.post(alice, c.base, "/signin", url.Values{"handle": {"alice"}, "password": {storagetest.Password}}, ""); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}
	session := alice.Jar.Cookies(mustURL(c.base))
	for i, p := range c.procs {
		if code := c.settingsWith(session, p); code != http.StatusOK {
			t.Fatalf("process %d does not know alice's session: %d", i, code)
		}
	}

	// Fan-out exactly once: each of several replies reaches zed once (as
	// the thread's Announce of the Note), though two processes' outbox
	// and delivery workers run.
	for i := range 4 {
		if code := c.post(alice, c.base, "/t/"+c.fx.Thread.ID.String()+"/reply",
			url.Values{"body": {"Reply number " + string(rune('a'+i)) + " from the cluster."}}, ""); code != http.StatusSeeOther {
			t.Fatalf("reply %d: %d", i, code)
		}
	}
	remote.AwaitType(t, 30*time.Second, "", "Announce", 4)
	c.awaitDrained()
	if got := byID(remote, "Accept"); len(got) != 1 {
		t.Errorf("accepts of zed's follow: %v, want one", got)
	} else {
		for id, n := range got {
			if n != 1 {
				t.Errorf("%s delivered %d times", id, n)
			}
		}
	}
	if got := byID(remote, "Announce"); len(got) != 4 {
		t.Errorf("%d distinct announces, want 4: %v", len(got), got)
	} else {
		for id, n := range got {
			if n != 1 {
				t.Errorf("%s delivered %d times", id, n)
			}
		}
	}

	// Inbound: zed's reply shows on the thread, whichever process reads.
	if code, body, err := zed.Post(ctx, c.base+"/inbox", zed.Create(zed.Note(threadURL, "Greetings from the remote kitchen."))); err != nil || code != http.StatusAccepted {
		t.Fatalf("remote reply: %d %s %v", code, body, err)
	}
	eventually(t, "zed's reply is on the thread on both processes", 20*time.Second, func() bool {
		for _, p := range c.procs {
			if !strings.Contains(getHost(t, p+"/t/"+c.fx.Thread.ID.String(), host), "Greetings from the remote kitchen") {
				return false
			}
		}
		return true
	})

	// Signing out through one process ends the session on the other.
	if code := c.post(alice, c.procs[0], "/signout", url.Values{}, ""); code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", code)
	}
	if code := c.settingsWith(session, c.procs[1]); code == http.StatusOK {
		t.Error("the other process still takes alice's session after she signed out")
	}

	// Sign-in limits: failures sent to both processes count once.
	guesser := c.browser()
	for i := range 5 {
		p := c.procs[i%2]
		if code := c.post(guesser, p, "/signin", url.Values{"handle": {"bob"}, "password": {"guess"}}, "198.51.100.23"); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	for i, p := range c.procs {
		if code := c.post(guesser, p, "/signin", url.Values{"handle": {"bob"}, "password": {"guess"}}, "198.51.100.23"); code != http.StatusTooManyRequests {
			t.Fatalf("process %d let a sixth guess through: %d", i, code)
		}
	}
	// Bob himself, from his address, signs in.
	if code := c.post(c.browser(), c.procs[1], "/signin", url.Values{"handle": {"bob"}, "password": {storagetest.Password}}, "192.0.2.77"); code != http.StatusSeeOther {
		t.Fatalf("bob from his own address: %d", code)
	}

	// A domain suspend from the shell: both processes refuse zed within
	// a second.
	if code, _, stderr := skein(t, "", "domain", "block", remote.Host, "--severity", "suspend", "--database-url", c.dsn, "--data", t.TempDir()); code != 0 {
		t.Fatalf("domain block: %s", stderr)
	}
	blocked := time.Now()
	for _, p := range c.procs {
		eventually(t, "process refuses the suspended host", time.Second-time.Since(blocked), func() bool {
			return sendVia(t, zed, p, c.base, zed.Like(c.base+"/p/"+c.fx.Posts[0].ID.String(), c.base+"/u/alice")) == http.StatusForbidden
		})
	}
	// What the suspended host stored is gone, whichever process reads.
	for i, p := range c.procs {
		if strings.Contains(getHost(t, p+"/t/"+c.fx.Thread.ID.String(), host), "Greetings from the remote kitchen") {
			t.Errorf("process %d still shows zed's reply after the suspend", i)
		}
	}
	for i := range c.hits {
		if c.hits[i].Load() == 0 {
			t.Errorf("the proxy sent nothing to process %d", i)
		}
	}
}

// A Create and, at once, the Delete of the same note, sent as a remote
// server does, sixty times through the proxy (so the two land on
// different processes): no note may be visible afterwards.
func TestCreateThenDeleteAcrossProcesses(t *testing.T) { createThenDelete(t, 2) }

// The same with three processes.
func TestCreateThenDeleteAcrossThreeProcesses(t *testing.T) { createThenDelete(t, 3) }

func createThenDelete(t *testing.T, processes int) {
	c := startCluster(t, processes)
	ctx := context.Background()
	remote := fedtest.New(t, fedtest.Mastodon)
	zed := remote.Actor("zed")
	host := strings.TrimPrefix(c.base, "http://")
	threadURL := c.base + "/t/" + c.fx.Thread.ID.String()
	const pairs = 60
	for i := range pairs {
		note := zed.Note(threadURL, fmt.Sprintf("Gone soon, number %d.", i))
		for _, act := range []map[string]any{zed.Create(note), zed.Delete(note)} {
			if code, body, err := zed.Post(ctx, c.base+"/inbox", act); err != nil || code != http.StatusAccepted {
				t.Fatalf("pair %d: %d %s %v", i, code, body, err)
			}
		}
	}
	// A reply nobody deletes shows the Creates were applied at all.
	if code, body, err := zed.Post(ctx, c.base+"/inbox", zed.Create(zed.Note(threadURL, "This one stays."))); err != nil || code != http.StatusAccepted {
		t.Fatalf("last reply: %d %s %v", code, body, err)
	}
	c.awaitDrained()
	zedAccount, err := c.store().AccountByAPID(ctx, zed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.count("SELECT count(*) FROM posts WHERE author_id = ? AND deleted_at IS NULL", zedAccount.ID); n != 1 {
		t.Errorf("zed has %d live posts, want 1 (%d of %d deleted notes visible)", n, n-1, pairs)
	}
	for i, p := range c.procs {
		page := getHost(t, p+"/t/"+c.fx.Thread.ID.String(), host)
		if strings.Contains(page, "Gone soon") {
			t.Errorf("process %d shows a deleted note", i)
		}
	}
}

// settingsWith GETs /settings from one process with the given cookies
// and returns the status: 200 when they hold a live session.
func (c *cluster) settingsWith(cookies []*http.Cookie, process string) int {
	c.t.Helper()
	req, _ := http.NewRequest("GET", process+"/settings", nil)
	req.Host = strings.TrimPrefix(c.base, "http://")
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// store opens the cluster's database, as one more process would.
func (c *cluster) store() *storage.Store {
	c.t.Helper()
	if c.db == nil {
		c.db = storagetest.OpenWith(c.t, storage.Options{DatabaseURL: c.dsn})
	}
	return c.db
}

// count runs a COUNT query on the cluster's database.
func (c *cluster) count(query string, args ...any) int {
	c.t.Helper()
	var n int
	if err := c.store().ReadDB().NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// awaitDrained waits until no process has anything left to apply or send:
// every inbox item and outbox event processed, every delivery done.
// After that nothing more arrives anywhere, so counts are final.
func (c *cluster) awaitDrained() {
	c.t.Helper()
	eventually(c.t, "the queues to drain", 60*time.Second, func() bool {
		return c.count(`SELECT (SELECT count(*) FROM inbox_items WHERE done_at IS NULL)
			+ (SELECT count(*) FROM outbox_events WHERE processed_at IS NULL)
			+ (SELECT count(*) FROM deliveries)`) == 0
	})
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// getHost GETs url with the public Host and returns the body.
func getHost(t *testing.T, u, host string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
