package fedtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation/fedtest"
	"github.com/skein-forum/skein/federation/signature"
)

var styles = []fedtest.Style{fedtest.Mastodon, fedtest.GoToSocial, fedtest.Lemmy}

// Every style's actors sign what every style's inboxes accept: the
// receiving side fetches the key as its style says (a GoToSocial key id
// serves a stub, and its documents want signed GETs) and checks that the
// key's owner is the activity's actor.
func TestStylesDeliverToEachOther(t *testing.T) {
	ctx := context.Background()
	for _, from := range styles {
		for _, to := range styles {
			t.Run(from.String()+"→"+to.String(), func(t *testing.T) {
				sender, receiver := fedtest.New(t, from), fedtest.New(t, to)
				ana, zoe := sender.Actor("ana"), receiver.Actor("zoe")
				follow := ana.Follow(zoe.ID)
				code, body, err := ana.Post(ctx, zoe.Inbox(), follow)
				if err != nil || code != http.StatusAccepted {
					t.Fatalf("Follow: %d %v %s", code, err, body)
				}
				got := zoe.Received("Follow")
				if len(got) != 1 || got[0].Signer != ana.ID || got[0].Activity["id"] != follow["id"] {
					t.Fatalf("received %+v", got)
				}
				if zoe.SharedInbox() != "" {
					if code, _, _ := ana.Post(ctx, zoe.SharedInbox(), ana.Undo(follow)); code != http.StatusAccepted {
						t.Fatalf("Undo to the shared inbox: %d", code)
					}
					if n := len(receiver.Received("/inbox", "Undo")); n != 1 {
						t.Fatalf("shared inbox got %d Undos", n)
					}
				}
			})
		}
	}
}

// What an inbox refuses, and the reasons it gives the test.
func TestInboxRefuses(t *testing.T) {
	var mu sync.Mutex
	var reported []string
	receiver := fedtest.NewWith(t, fedtest.Mastodon, fedtest.Options{Errorf: func(f string, args ...any) {
		mu.Lock()
		reported = append(reported, fmt.Sprintf(f, args...))
		mu.Unlock()
	}})
	sender := fedtest.New(t, fedtest.GoToSocial)
	ana, zoe := sender.Actor("ana"), receiver.Actor("zoe")
	like := func() []byte { b, _ := ana.Marshal(ana.Like(zoe.ID+"/statuses/1", zoe.ID)); return b }
	send := func(req *http.Request) int {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// signedWith is ana's Like to zoe, signed as edit makes ana's signing.
	signedWith := func(edit func(s *fedtest.Signing)) func() *http.Request {
		return func() *http.Request {
			body := like()
			req, _ := http.NewRequest(http.MethodPost, zoe.Inbox(), bytes.NewReader(body))
			s := ana.Signing(http.MethodPost)
			edit(&s)
			if err := fedtest.Sign(req, body, s); err != nil {
				t.Fatal(err)
			}
			return req
		}
	}
	cases := []struct {
		name   string
		req    func() *http.Request
		want   int
		report bool // a mistake no working sender makes
	}{
		{"signed by another key", signedWith(func(s *fedtest.Signing) {
			s.Key = fedtest.Key(7)
			if fedtest.Key(7) == ana.Key {
				s.Key = fedtest.Key(6)
			}
		}), http.StatusUnauthorized, false},
		{"body changed after signing", func() *http.Request {
			req, _ := ana.NewPost(zoe.Inbox(), like())
			tampered := bytes.Replace(like(), []byte("Like"), []byte("Lyke"), 1)
			req.Body, req.ContentLength = readCloser(tampered), int64(len(tampered))
			return req
		}, http.StatusUnauthorized, false},
		{"Date two hours old", signedWith(func(s *fedtest.Signing) {
			s.Date = time.Now().Add(-2 * time.Hour)
		}), http.StatusUnauthorized, false},
		{"Digest not signed", signedWith(func(s *fedtest.Signing) {
			s.Headers = []string{"(request-target)", "host", "date"}
		}), http.StatusUnauthorized, false},
		{"an activity of someone else", func() *http.Request {
			act := ana.Like(zoe.ID+"/statuses/1", zoe.ID)
			act["actor"] = sender.Actor("mallory").ID
			body, _ := json.Marshal(act)
			req, _ := ana.NewPost(zoe.Inbox(), body)
			return req
		}, http.StatusUnauthorized, true},
		{"not JSON", func() *http.Request {
			req, _ := ana.NewPost(zoe.Inbox(), []byte("<html>"))
			return req
		}, http.StatusBadRequest, true},
	}
	for _, c := range cases {
		mu.Lock()
		reported = nil
		mu.Unlock()
		if got := send(c.req()); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
		mu.Lock()
		if (len(reported) > 0) != c.report {
			t.Errorf("%s: reported %q", c.name, reported)
		}
		mu.Unlock()
	}
	if n := len(receiver.Received("", "")); n != 0 {
		t.Errorf("%d refused deliveries count as received", n)
	}
	all := receiver.Deliveries()
	if len(all) != len(cases) || all[0].Accepted() || all[0].Err == nil {
		t.Errorf("deliveries on record: %d, first %+v", len(all), all[0])
	}
}

// The GoToSocial style serves and sends what the real GoToSocial did in
// testdata/gotosocial: the same properties in each document, the same
// scalar-or-array shapes, the same signed headers and content type.
func TestGoToSocialStyleMatchesCapture(t *testing.T) {
	ctx := context.Background()
	gts, remote := fedtest.New(t, fedtest.GoToSocial), fedtest.New(t, fedtest.Mastodon)
	ana, zoe := gts.Actor("ana"), remote.Actor("zoe")
	fixture := func(name string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(fedtest.Fixture("gotosocial/"+name), &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m
	}

	// Documents: the actor only to a signed GET, the key stub to anyone.
	if code, _ := get(t, ana.ID); code != http.StatusUnauthorized {
		t.Errorf("unsigned GET of the actor: %d, want 401", code)
	}
	code, body, err := zoe.Get(ctx, ana.ID)
	if err != nil || code != http.StatusOK {
		t.Fatalf("signed GET of the actor: %d %v", code, err)
	}
	sameShape(t, "actor", fixture("actor.json"), decode(t, body))
	code, body = get(t, ana.KeyID())
	if code != http.StatusOK {
		t.Fatalf("GET of the key id: %d", code)
	}
	stub := decode(t, body)
	sameShape(t, "key stub", fixture("key-stub.json"), stub)
	if stub["id"] != ana.ID || stub["inbox"] != nil {
		t.Errorf("the key stub is %v, want the owner's id and no inbox", stub)
	}
	_, body = get(t, gts.URL+"/.well-known/webfinger?resource=acct:"+ana.Handle())
	sameShape(t, "webfinger", fixture("webfinger.json"), decode(t, body))
	if resp, err := http.Post(gts.URL+"/inbox", "application/activity+json", strings.NewReader("{}")); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /inbox: %v %v, want 404 (no shared inbox)", resp.StatusCode, err)
	}

	// Activities, in the order the capture made them.
	note := zoe.Note("", "Does anyone proof overnight?")
	reply := ana.Note(note["id"].(string), "Every time.", fedtest.Mention{ID: zoe.ID, Handle: zoe.Handle()})
	follow := ana.Follow(zoe.ID)
	like := ana.Like(note["id"].(string), zoe.ID)
	sent := []struct {
		fixture  string
		activity map[string]any
	}{
		{"follow", follow},
		{"create-reply", ana.Create(reply)},
		{"like", like},
		{"undo-like", ana.Undo(like)},
		{"update", ana.Update(fedtest.Edited(reply, "Every single time."))},
		{"delete", ana.Delete(reply)},
		{"undo-follow", ana.Undo(follow)},
	}
	for _, s := range sent {
		if code, body, err := ana.Post(ctx, zoe.Inbox(), s.activity); err != nil || code != http.StatusAccepted {
			t.Fatalf("%s: %d %v %s", s.fixture, code, err, body)
		}
	}
	got := zoe.Received("")
	for i, s := range sent {
		sameShape(t, s.fixture, fixture(s.fixture+".json"), got[i].Activity)
		want := parseHTTP(t, fedtest.Fixture("gotosocial/"+s.fixture+".http"))
		sig, err := signature.ParseSignatureHeader(got[i].Header.Get("Signature"))
		if err != nil {
			t.Fatal(err)
		}
		wantSig, _ := signature.ParseSignatureHeader(want.Get("Signature"))
		if !slices.Equal(sig.Headers, wantSig.Headers) || sig.Algorithm != wantSig.Algorithm || sig.KeyID != ana.KeyID() {
			t.Errorf("%s signed as %+v, GoToSocial signs as %+v", s.fixture, sig, wantSig)
		}
		if ct := got[i].Header.Get("Content-Type"); ct != want.Get("Content-Type") {
			t.Errorf("%s: Content-Type %q, GoToSocial sends %q", s.fixture, ct, want.Get("Content-Type"))
		}
	}
	// Its GETs are signed over (request-target) host date, as it signed
	// the GET of get-actor.http.
	wantGet := parseHTTP(t, fedtest.Fixture("gotosocial/get-actor.http"))
	ana.Get(ctx, zoe.ID)
	reqs := remote.Requests()
	last := reqs[len(reqs)-1]
	sig, _ := signature.ParseSignatureHeader(last.Header.Get("Signature"))
	wantSig, _ := signature.ParseSignatureHeader(wantGet.Get("Signature"))
	if !slices.Equal(sig.Headers, wantSig.Headers) || last.Header.Get("Accept") != wantGet.Get("Accept") {
		t.Errorf("GET signed over %v with Accept %q; GoToSocial: %v, %q", sig.Headers, last.Header.Get("Accept"), wantSig.Headers, wantGet.Get("Accept"))
	}
}

// A Mastodon-style actor publishes its key in its document and a shared
// inbox and featured collection, and signs the content type too.
func TestMastodonStyle(t *testing.T) {
	ctx := context.Background()
	m, other := fedtest.New(t, fedtest.Mastodon), fedtest.New(t, fedtest.Mastodon)
	ana, zoe := m.Actor("ana"), other.Actor("zoe")
	code, body := get(t, ana.ID)
	if code != http.StatusOK {
		t.Fatalf("unsigned GET of the actor: %d", code)
	}
	doc := decode(t, body)
	if doc["publicKey"].(map[string]any)["id"] != ana.ID+"#main-key" ||
		doc["endpoints"].(map[string]any)["sharedInbox"] != m.URL+"/inbox" || doc["featured"] != ana.ID+"/collections/featured" {
		t.Errorf("actor document %v", doc)
	}
	if code, _ := get(t, ana.ID+"/collections/featured"); code != http.StatusOK {
		t.Errorf("featured collection: %d", code)
	}
	if code, _, _ := ana.Post(ctx, zoe.SharedInbox(), ana.Follow(zoe.ID)); code != http.StatusAccepted {
		t.Fatalf("Follow: %d", code)
	}
	d := other.Received("/inbox", "Follow")[0]
	sig, _ := signature.ParseSignatureHeader(d.Header.Get("Signature"))
	if strings.Join(sig.Headers, " ") != "(request-target) host date digest content-type" || sig.Algorithm != "rsa-sha256" {
		t.Errorf("signature %+v", sig)
	}
	// Authorized fetch: documents only to signed GETs.
	secure := fedtest.NewWith(t, fedtest.Mastodon, fedtest.Options{AuthorizedFetch: true})
	if code, _ := get(t, secure.Actor("bob").ID); code != http.StatusUnauthorized {
		t.Errorf("unsigned GET under authorized fetch: %d", code)
	}
	if code, _, _ := ana.Get(ctx, secure.Actor("bob").ID); code != http.StatusOK {
		t.Errorf("signed GET under authorized fetch: %d", code)
	}
}

// A Lemmy community announces what a member sent it, embedded, to the
// community's followers.
func TestLemmyGroupAnnounces(t *testing.T) {
	ctx := context.Background()
	lemmy, follower := fedtest.New(t, fedtest.Lemmy), fedtest.New(t, fedtest.Mastodon)
	group, member, fan := lemmy.Group("bread"), lemmy.Actor("ana"), follower.Actor("fan")
	if group.ID != lemmy.URL+"/c/bread" || member.ID != lemmy.URL+"/u/ana" {
		t.Fatalf("paths %s %s", group.ID, member.ID)
	}
	code, body := get(t, group.ID)
	if doc := decode(t, body); code != http.StatusOK || doc["type"] != "Group" || doc["attributedTo"] == nil {
		t.Fatalf("group document %d %v", code, doc)
	}
	create := member.Create(member.Note("", "Rye or spelt?"))
	if code, _, _ := group.Announce(ctx, fan.SharedInbox(), create); code != http.StatusAccepted {
		t.Fatalf("Announce: %d", code)
	}
	an := follower.Received("/inbox", "Announce")[0]
	if an.Signer != group.ID || an.Object()["id"] != create["id"] || an.Object()["actor"] != member.ID {
		t.Errorf("Announce %v", an.Activity)
	}
}

// Responders make an inbox fail or stall; Await waits for arrivals.
func TestRespondersAndAwait(t *testing.T) {
	ctx := context.Background()
	receiver, sender := fedtest.New(t, fedtest.Mastodon), fedtest.New(t, fedtest.Mastodon)
	zoe, ana := receiver.Actor("zoe"), sender.Actor("ana")
	receiver.Respond(fedtest.Status(func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusAccepted
	}))
	codes := []int{}
	for range 3 {
		code, _, _ := ana.Post(ctx, zoe.Inbox(), ana.Like(zoe.ID+"/statuses/1", zoe.ID))
		codes = append(codes, code)
	}
	if !slices.Equal(codes, []int{503, 503, 202}) {
		t.Errorf("answers %v", codes)
	}
	if posts, _ := receiver.InboxStats(); posts != 3 || len(zoe.Received("Like")) != 1 {
		t.Errorf("%d posts, %d received", posts, len(zoe.Received("Like")))
	}

	release := make(chan struct{})
	receiver.Respond(fedtest.Hold(release))
	done := make(chan []fedtest.Delivery)
	go func() {
		got, err := receiver.Await(ctx, 2, func(d fedtest.Delivery) bool { return d.Type() == "Like" })
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	go ana.Post(ctx, zoe.Inbox(), ana.Like(zoe.ID+"/statuses/2", zoe.ID))
	waitUntil(t, func() bool { _, inFlight := receiver.InboxStats(); return inFlight == 1 })
	select {
	case <-done:
		t.Fatal("Await returned while the POST was held")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if got := <-done; len(got) != 2 || got[1].ObjectID() != zoe.ID+"/statuses/2" {
		t.Errorf("Await returned %v", got)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := receiver.Await(short, 3, nil); err == nil {
		t.Error("Await for what never comes returned no error")
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sameShape fails unless got has the properties of want, nested, with
// the same kinds of values (a string where want has a string, an array
// where it has an array): the real server's shapes, not its values.
func sameShape(t *testing.T, what string, want, got map[string]any) {
	t.Helper()
	if w, g := slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got)); !slices.Equal(w, g) {
		t.Errorf("%s: properties %v, the real server's %v", what, g, w)
		return
	}
	for k, wv := range want {
		gv := got[k]
		if kind(wv) != kind(gv) {
			t.Errorf("%s.%s is a %s, the real server's a %s", what, k, kind(gv), kind(wv))
			continue
		}
		if wm, ok := wv.(map[string]any); ok && k != "@context" {
			sameShape(t, what+"."+k, wm, gv.(map[string]any))
		}
	}
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "bool"
	case float64:
		return "number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return m
}

// parseHTTP reads the headers of a captured request.
func parseHTTP(t *testing.T, b []byte) http.Header {
	t.Helper()
	h := http.Header{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		if k, v, ok := strings.Cut(line, ": "); ok {
			h.Add(k, v)
		}
	}
	return h
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func readCloser(b []byte) nopCloser { return nopCloser{bytes.NewReader(b)} }

// Deliver retries what each style retries, and only that.
func TestDeliverRetriesAsTheStyleDoes(t *testing.T) {
	ctx := context.Background()
	receiver := fedtest.New(t, fedtest.Mastodon)
	zoe := receiver.Actor("zoe")
	var answers []int
	receiver.Respond(fedtest.Status(func(n int) int { return answers[n-1] }))
	cases := []struct {
		style   fedtest.Style
		answers []int
		want    []int
	}{
		{fedtest.GoToSocial, []int{503, 429, 202}, []int{503, 429, 202}},
		{fedtest.GoToSocial, []int{401, 202}, []int{401}},
		{fedtest.GoToSocial, []int{500, 500, 500, 500}, []int{500, 500, 500}},
		{fedtest.Mastodon, []int{401, 408, 202}, []int{401, 408, 202}},
		{fedtest.Mastodon, []int{404, 202}, []int{404}},
		{fedtest.Mastodon, []int{501, 202}, []int{501}},
	}
	for _, c := range cases {
		sender := fedtest.New(t, c.style)
		ana := sender.Actor("ana")
		// Answers by POST number, counting those of the cases before.
		before, _ := receiver.InboxStats()
		answers = append(make([]int, before), c.answers...)
		got, err := ana.Deliver(ctx, zoe.Inbox(), ana.Like(zoe.ID+"/statuses/1", zoe.ID), 3, time.Millisecond)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s answered %v: tried %v (%v), want %v", c.style, c.answers, got, err, c.want)
		}
	}
}
