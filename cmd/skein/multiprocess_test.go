package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/signature"
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
		addr := freeAddr(t)
		c.procs = append(c.procs, "http://"+addr)
		u, _ := url.Parse("http://" + addr)
		targets = append(targets, u)
		cmd := exec.Command(binary, "serve", "--listen", addr, "--base-url", c.base, "--database-url", c.dsn,
			"--data", t.TempDir(), "--allow-private-networks", "--allow-http", "--trusted-proxy", "127.0.0.1",
			"--log-level", "warn", "--db-max-open", "4")
		var logs bytes.Buffer
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
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
		waitReady(t, "http://"+addr+"/readyz", done, &logs)
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

// remote is a fediverse server on loopback with one actor: it serves
// the actor's document and key, signs what the actor sends, and counts
// every delivery per activity id.
type remote struct {
	t   *testing.T
	srv *httptest.Server
	id  string
	key *rsa.PrivateKey

	mu  sync.Mutex
	got map[string][]map[string]any // activity id → each delivery of it
}

func newRemote(t *testing.T) *remote {
	key, err := signature.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	r := &remote{t: t, key: key, got: make(map[string][]map[string]any)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/zed", func(w http.ResponseWriter, _ *http.Request) {
		pem, _ := signature.EncodePublicKeyPEM(&key.PublicKey)
		w.Header().Set("Content-Type", "application/activity+json")
		json.NewEncoder(w).Encode(map[string]any{
			"@context": []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
			"id":       r.id, "type": "Person", "preferredUsername": "zed", "inbox": r.id + "/inbox",
			"outbox": r.id + "/outbox", "followers": r.id + "/followers",
			"publicKey": map[string]string{"id": r.id + "#main-key", "owner": r.id, "publicKeyPem": pem},
		})
	})
	mux.HandleFunc("POST /users/zed/inbox", func(w http.ResponseWriter, req *http.Request) {
		var act map[string]any
		if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&act); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		id, _ := act["id"].(string)
		r.mu.Lock()
		r.got[id] = append(r.got[id], act)
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	r.id = r.srv.URL + "/users/zed"
	return r
}

// received lists the deliveries of type typ, by activity id.
func (r *remote) received(typ string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for id, list := range r.got {
		if list[0]["type"] == typ {
			out[id] = len(list)
		}
	}
	return out
}

// send POSTs a signed activity of zed to inbox, with host as the Host.
func (r *remote) send(inbox, host string, act map[string]any) int {
	r.t.Helper()
	act["@context"] = "https://www.w3.org/ns/activitystreams"
	act["actor"] = r.id
	body, _ := json.Marshal(act)
	req, _ := http.NewRequest("POST", inbox, bytes.NewReader(body))
	req.Host = host
	req.Header.Set("Content-Type", "application/activity+json")
	if err := signature.SignRequest(req, body, r.id+"#main-key", r.key); err != nil {
		r.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
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
	zed := newRemote(t)
	host := strings.TrimPrefix(c.base, "http://")
	threadURL := c.base + "/t/" + c.fx.Thread.ID.String()

	// The federation loop: zed follows the thread (through the proxy)
	// and is accepted.
	if code := zed.send(c.base+"/inbox", host, map[string]any{"id": zed.id + "#follow-1", "type": "Follow", "object": threadURL}); code != http.StatusAccepted {
		t.Fatalf("follow: %d", code)
	}
	eventually(t, "zed's follow is accepted", 20*time.Second, func() bool { return len(zed.received("Accept")) == 1 })

	// Sessions: alice signs in through the proxy; her cookie works on
	// each process directly.
	alice := c.browser()
	if code := c.post(alice, c.base, "/signin", url.Values{"handle": {"alice"}, "password": {storagetest.Password}}, ""); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}
	for i, p := range c.procs {
		req, _ := http.NewRequest("GET", p+"/settings", nil)
		req.Host = host
		for _, ck := range alice.Jar.Cookies(mustURL(c.base)) {
			req.AddCookie(ck)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("process %d does not know alice's session: %d", i, resp.StatusCode)
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
	eventually(t, "four replies delivered", 30*time.Second, func() bool { return len(zed.received("Announce")) >= 4 })
	time.Sleep(time.Second) // a duplicate would be on its way by now
	for id, n := range zed.received("Announce") {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}

	// Inbound: zed's reply shows on the thread, whichever process reads.
	note := zed.id + "/statuses/1"
	if code := zed.send(c.base+"/inbox", host, map[string]any{"id": note + "/activity", "type": "Create",
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"},
		"object": map[string]any{"id": note, "type": "Note", "attributedTo": zed.id, "inReplyTo": threadURL,
			"content": "<p>Greetings from the remote kitchen.</p>", "to": []string{"https://www.w3.org/ns/activitystreams#Public"}}}); code != http.StatusAccepted {
		t.Fatalf("remote reply: %d", code)
	}
	eventually(t, "zed's reply is on the thread on both processes", 20*time.Second, func() bool {
		for _, p := range c.procs {
			if !strings.Contains(getHost(t, p+"/t/"+c.fx.Thread.ID.String(), host), "Greetings from the remote kitchen") {
				return false
			}
		}
		return true
	})

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
	zedHost := strings.TrimPrefix(zed.srv.URL, "http://")
	if code, _, stderr := skein(t, "", "domain", "block", zedHost, "--severity", "suspend", "--database-url", c.dsn, "--data", t.TempDir()); code != 0 {
		t.Fatalf("domain block: %s", stderr)
	}
	blocked := time.Now()
	for i, p := range c.procs {
		eventually(t, "process refuses the suspended host", time.Second-time.Since(blocked), func() bool {
			return zed.send(p+"/inbox", host, map[string]any{"id": zed.id + "#like-" + string(rune('a'+i)), "type": "Like",
				"object": c.base + "/p/" + c.fx.Posts[0].ID.String()}) == http.StatusForbidden
		})
	}
	for i := range c.hits {
		if c.hits[i].Load() == 0 {
			t.Errorf("the proxy sent nothing to process %d", i)
		}
	}
}

// A Create and, at once, the Delete of the same note, sent as a remote
// server does (through the proxy, so the two may land on different
// processes): the post must not be visible afterwards.
func TestCreateThenDeleteAcrossProcesses(t *testing.T) {
	t.Skip("activities of one actor are applied out of order: ordering work pending")
	c := startCluster(t, 2)
	zed := newRemote(t)
	host := strings.TrimPrefix(c.base, "http://")
	threadURL := c.base + "/t/" + c.fx.Thread.ID.String()
	const pairs = 20
	for i := range pairs {
		note := zed.id + "/statuses/cd" + string(rune('a'+i))
		zed.send(c.base+"/inbox", host, map[string]any{"id": note + "/activity", "type": "Create",
			"to": []string{"https://www.w3.org/ns/activitystreams#Public"},
			"object": map[string]any{"id": note, "type": "Note", "attributedTo": zed.id, "inReplyTo": threadURL,
				"content": "<p>gone soon " + string(rune('a'+i)) + "</p>", "to": []string{"https://www.w3.org/ns/activitystreams#Public"}}})
		zed.send(c.base+"/inbox", host, map[string]any{"id": note + "#delete", "type": "Delete", "object": note})
	}
	time.Sleep(3 * time.Second) // let both inbox workers drain
	for _, p := range c.procs {
		if page := getHost(t, p+"/t/"+c.fx.Thread.ID.String(), host); strings.Contains(page, "gone soon") {
			t.Fatal("a deleted note is visible")
		}
	}
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
