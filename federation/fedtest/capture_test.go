package fedtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/fedtest"
)

// TestCaptureGoToSocial records, from a real GoToSocial, the documents it
// serves and the activities it POSTs to a fedtest server that plays the
// remote its user follows, replies to, likes and unfollows, and writes
// them, hosts normalised, to testdata/gotosocial. It runs only when asked:
//
//	../../../shared/peers/gotosocial/start /tmp/gts 18731 ana
//	FEDTEST_GOTOSOCIAL=http://localhost:18731 FEDTEST_GOTOSOCIAL_TOKEN=/tmp/gts/ana.token \
//	  go test ./federation/fedtest/ -run CaptureGoToSocial -v
//
// It also checks what the GoToSocial style of this package assumes: path
// key ids that serve a key stub, signed GETs, no shared inbox, no retry
// of a 4xx.
func TestCaptureGoToSocial(t *testing.T) {
	base, tokenFile := os.Getenv("FEDTEST_GOTOSOCIAL"), os.Getenv("FEDTEST_GOTOSOCIAL_TOKEN")
	if base == "" || tokenFile == "" {
		t.Skip("set FEDTEST_GOTOSOCIAL and FEDTEST_GOTOSOCIAL_TOKEN to capture from a running GoToSocial")
	}
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	user := strings.TrimSuffix(filepath.Base(tokenFile), ".token")
	gts := &gtsClient{t: t, base: base, token: strings.TrimSpace(string(token))}
	gtsHost := strings.TrimPrefix(base, "http://")
	ctx := context.Background()

	remote := fedtest.NewWith(t, fedtest.Mastodon, fedtest.Options{Logf: t.Logf})
	zoe := remote.Actor("zoe")
	// Inboxes that refuse, on a GoToSocial-style server (no shared
	// inbox, signed GETs only): one with 503 three times, one with 401
	// always.
	refusing := fedtest.NewWith(t, fedtest.GoToSocial, fedtest.Options{Logf: t.Logf})
	yan, xen := refusing.Actor("yan"), refusing.Actor("xen")
	var mu sync.Mutex
	refusals := map[string][]time.Time{}
	refusing.Respond(func(n int, w http.ResponseWriter, r *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case yan.InboxPath():
			refusals["yan"] = append(refusals["yan"], time.Now())
			if len(refusals["yan"]) <= 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return http.StatusServiceUnavailable
			}
		case xen.InboxPath():
			refusals["xen"] = append(refusals["xen"], time.Now())
			w.WriteHeader(http.StatusUnauthorized)
			return http.StatusUnauthorized
		}
		return 0
	})
	out := map[string][]byte{}
	save := func(name string, b []byte) { out[name] = b }

	// Documents, fetched as zoe.
	actorID := base + "/users/" + user
	if code, body, err := zoe.Get(ctx, actorID); err != nil || code != http.StatusOK {
		t.Fatalf("signed GET of the actor: %d %v %s", code, err, body)
	} else {
		save("actor.json", body)
	}
	if code, _ := plainGet(t, actorID, "application/activity+json"); code != http.StatusUnauthorized {
		t.Errorf("unsigned GET of the actor: %d, want 401", code)
	}
	_, stub := plainGet(t, actorID+"/main-key", "application/activity+json")
	save("key-stub.json", stub)
	_, stub = plainGet(t, base+"/users/"+gtsHost+"/main-key", "application/activity+json")
	save("instance-key-stub.json", stub)
	_, wf := plainGet(t, base+"/.well-known/webfinger?resource="+url.QueryEscape("acct:"+user+"@"+gtsHost), "application/jrd+json")
	save("webfinger.json", wf)
	_, ni := plainGet(t, base+"/.well-known/nodeinfo", "application/json")
	save("nodeinfo-index.json", ni)
	_, ni = plainGet(t, base+"/nodeinfo/2.0", "application/json")
	save("nodeinfo.json", ni)
	if code, _ := plainPost(t, base+"/inbox"); code != http.StatusNotFound {
		t.Errorf("POST /inbox: %d, want 404 (no shared inbox)", code)
	}

	// The user finds zoe, follows her and is accepted.
	zoeAcct := gts.resolveAccount(zoe.ID)
	gts.call("POST", "/api/v1/accounts/"+zoeAcct+"/follow", nil)
	follow := remote.AwaitType(t, 30*time.Second, "", "Follow", 1)[0]
	if code, body, err := zoe.Post(ctx, actorID+"/inbox", map[string]any{"id": zoe.ID + "#accepts/1", "type": "Accept",
		"object": follow.Activity}); err != nil || code/100 != 2 {
		t.Fatalf("Accept to %s: %d %v %s", user, code, err, body)
	}

	// zoe posts; the user finds the post, replies with a mention, likes
	// it, unlikes it, edits the reply and deletes it.
	note := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": zoe.ID + "/statuses/1", "type": "Note",
		"attributedTo": zoe.ID, "content": "<p>Does anyone proof overnight in the fridge?</p>",
		"published": time.Now().UTC().Format(time.RFC3339), "to": []any{fedtest.Public}, "cc": []any{zoe.Followers()},
		"url": remote.URL + "/@zoe/1"}
	remote.Publish(note)
	noteAPI := gts.resolveStatus(note["id"].(string))
	reply := gts.call("POST", "/api/v1/statuses", url.Values{"status": {"@zoe@" + remote.Host + " Every time: 12 hours at 4 degrees."},
		"in_reply_to_id": {noteAPI}, "visibility": {"public"}})
	replyAPI, replyURI := reply["id"].(string), reply["uri"].(string)
	create := remote.AwaitType(t, 30*time.Second, "", "Create", 1)[0]
	if code, body, err := zoe.Get(ctx, replyURI); err != nil || code != http.StatusOK {
		t.Fatalf("signed GET of the reply: %d %v %s", code, err, body)
	} else {
		save("note.json", body)
	}
	gts.call("POST", "/api/v1/statuses/"+noteAPI+"/favourite", nil)
	like := remote.AwaitType(t, 30*time.Second, "", "Like", 1)[0]
	gts.call("POST", "/api/v1/statuses/"+noteAPI+"/unfavourite", nil)
	undoLike := remote.AwaitType(t, 30*time.Second, "", "Undo", 1)[0]
	gts.call("PUT", "/api/v1/statuses/"+replyAPI, url.Values{"status": {"@zoe@" + remote.Host + " Every time: 14 hours at 4 degrees."}})
	update := remote.AwaitType(t, 30*time.Second, "", "Update", 1)[0]
	gts.call("DELETE", "/api/v1/statuses/"+replyAPI, nil)
	del := remote.AwaitType(t, 30*time.Second, "", "Delete", 1)[0]
	gts.call("POST", "/api/v1/accounts/"+zoeAcct+"/unfollow", nil)
	undoFollow := remote.AwaitType(t, 30*time.Second, "", "Undo", 2)[1]
	for name, d := range map[string]fedtest.Delivery{"follow": follow, "create-reply": create, "like": like, "undo-like": undoLike,
		"update": update, "delete": del, "undo-follow": undoFollow} {
		save(name+".json", d.Body)
		save(name+".http", httpText("POST", d.Inbox, d.Header))
	}

	// The GETs GoToSocial made of zoe and her post.
	for _, r := range remote.Requests() {
		switch {
		case r.Method == "GET" && r.Path == "/users/zoe" && out["get-actor.http"] == nil:
			save("get-actor.http", httpText("GET", r.Path, r.Header))
		case r.Method == "GET" && r.Path == "/users/zoe/statuses/1" && out["get-note.http"] == nil:
			save("get-note.http", httpText("GET", r.Path, r.Header))
		}
	}

	// Retries: follow the refusing inboxes and watch for a minute.
	gts.call("POST", "/api/v1/accounts/"+gts.resolveAccount(yan.ID)+"/follow", nil)
	gts.call("POST", "/api/v1/accounts/"+gts.resolveAccount(xen.ID)+"/follow", nil)
	refusing.AwaitType(t, 3*time.Minute, yan.InboxPath(), "Follow", 1)
	time.Sleep(30 * time.Second)
	mu.Lock()
	var notes []string
	for _, who := range []string{"yan", "xen"} {
		var gaps []string
		for i, at := range refusals[who] {
			if i > 0 {
				gaps = append(gaps, at.Sub(refusals[who][i-1]).Round(100*time.Millisecond).String())
			}
		}
		notes = append(notes, fmt.Sprintf("%s: %d POSTs, gaps %v", who, len(refusals[who]), gaps))
	}
	xenPosts := len(refusals["xen"])
	mu.Unlock()
	for _, r := range refusing.Requests() {
		notes = append(notes, fmt.Sprintf("%s %s %s", r.At.Format("15:04:05.000"), r.Method, r.Path))
	}
	save("retries.txt", []byte(strings.Join(notes, "\n")+"\n"))
	if xenPosts != 1 {
		t.Errorf("an inbox answering 401 got %d POSTs, want 1 (no retry of a 4xx)", xenPosts)
	}

	// Normalise hosts and write.
	dir := filepath.Join("testdata", "gotosocial")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	names := slices.Sorted(mapKeys(out))
	for _, name := range names {
		b := out[name]
		if strings.HasSuffix(name, ".json") {
			b = indentJSON(t, name, b)
		}
		s := strings.ReplaceAll(string(b), base, "http://gotosocial.example")
		s = strings.ReplaceAll(s, gtsHost, "gotosocial.example")
		s = strings.ReplaceAll(s, remote.URL, "http://remote.example")
		s = strings.ReplaceAll(s, remote.Host, "remote.example")
		s = strings.ReplaceAll(s, refusing.URL, "http://refusing.example")
		s = strings.ReplaceAll(s, refusing.Host, "refusing.example")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d files to %s: %s", len(names), dir, strings.Join(names, " "))
	for _, n := range notes {
		t.Log(n)
	}
}

func mapKeys(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// httpText is a request's line and headers as they arrived, sorted, less
// the ones that say nothing about the sender.
func httpText(method, path string, h http.Header) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\n", method, path)
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	return []byte(b.String())
}

// indentJSON indents a document, keeping its keys in the order they came.
func indentJSON(t *testing.T, name string, b []byte) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, bytes.TrimSpace(b), "", "  "); err != nil {
		t.Fatalf("%s: %v: %s", name, err, b)
	}
	return append(out.Bytes(), '\n')
}

func plainGet(t *testing.T, u, accept string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func plainPost(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(u, "application/activity+json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// gtsClient drives GoToSocial through its Mastodon client API.
type gtsClient struct {
	t     *testing.T
	base  string
	token string
}

func (c *gtsClient) call(method, path string, form url.Values) map[string]any {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	req.Header.Set("Authorization", "Bearer "+c.token)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func (c *gtsClient) search(q, typ string) []any {
	c.t.Helper()
	res := c.call("GET", "/api/v2/search?"+url.Values{"q": {q}, "resolve": {"true"}, "type": {typ}}.Encode(), nil)
	list, _ := res[typ].([]any)
	if len(list) == 0 {
		c.t.Fatalf("search %s for %s: nothing: %v", typ, q, res)
	}
	return list
}

func (c *gtsClient) resolveAccount(actorID string) string {
	c.t.Helper()
	return c.search(actorID, "accounts")[0].(map[string]any)["id"].(string)
}

func (c *gtsClient) resolveStatus(noteID string) string {
	c.t.Helper()
	return c.search(noteID, "statuses")[0].(map[string]any)["id"].(string)
}
