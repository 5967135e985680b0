package signature

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var activity = []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Follow","actor":"https://remote.example/users/alice","object":"https://forum.example/c/general"}`)

func TestSignRequestPOSTHeaders(t *testing.T) {
	key := testKey()
	r := newRequest(t, http.MethodPost, "https://forum.example/inbox", activity)
	before := time.Now()
	if err := SignRequest(r, activity, testKeyID, key); err != nil {
		t.Fatal(err)
	}
	if r.Host != "forum.example" || r.Header.Get("Host") != "forum.example" {
		t.Errorf("Host = %q / header %q", r.Host, r.Header.Get("Host"))
	}
	date, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil || date.Before(before.Truncate(time.Second)) || date.After(time.Now()) {
		t.Errorf("Date = %q (%v)", r.Header.Get("Date"), err)
	}
	if !strings.HasSuffix(r.Header.Get("Date"), " GMT") {
		t.Errorf("Date %q is not in http.TimeFormat", r.Header.Get("Date"))
	}
	sum := sha256.Sum256(activity)
	if got, want := r.Header.Get("Digest"), "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("Digest = %q, want %q", got, want)
	}
	p, err := ParseSignatureHeader(r.Header.Get("Signature"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Headers, " "); got != "(request-target) host date digest" {
		t.Errorf("signed headers = %q", got)
	}
	if p.KeyID != testKeyID {
		t.Errorf("keyId = %q", p.KeyID)
	}
}

func TestSignRequestGETHasNoDigest(t *testing.T) {
	r := newRequest(t, http.MethodGet, "https://remote.example/users/alice", nil)
	if err := SignRequest(r, nil, testKeyID, testKey()); err != nil {
		t.Fatal(err)
	}
	if d := r.Header.Get("Digest"); d != "" {
		t.Errorf("GET got Digest %q", d)
	}
	p, err := ParseSignatureHeader(r.Header.Get("Signature"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Headers, " "); got != "(request-target) host date" {
		t.Errorf("signed headers = %q", got)
	}
}

// A retry signs the same request again; the old Digest must not block it.
func TestSignRequestTwice(t *testing.T) {
	r := newRequest(t, http.MethodPost, "https://forum.example/inbox", activity)
	for range 2 {
		if err := SignRequest(r, activity, testKeyID, testKey()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.Header.Values("Signature")); n != 1 {
		t.Fatalf("%d Signature headers", n)
	}
	if _, err := Verify(r, activity, time.Now(), lookupFor(&testKey().PublicKey)); err != nil {
		t.Fatal(err)
	}
}

// The signature must verify without go-fed: this pins the wire format to the
// draft rather than to whatever go-fed does. The path has an escaped space
// and a query, which go-fed alone would sign in decoded form.
func TestSignedRequestVerifiesIndependently(t *testing.T) {
	for _, tc := range []struct {
		method, url string
		body        []byte
	}{
		{http.MethodPost, "https://forum.example/inbox", activity},
		{http.MethodPost, "https://forum.example/t/a%20b/inbox?x=1&y=%2F", activity},
		{http.MethodGet, "https://remote.example/users/alice?page=true", nil},
	} {
		r := newRequest(t, tc.method, tc.url, tc.body)
		if err := SignRequest(r, tc.body, testKeyID, testKey()); err != nil {
			t.Fatal(err)
		}
		if err := independentVerify(r, &testKey().PublicKey); err != nil {
			t.Errorf("%s %s: independent verification: %v", tc.method, tc.url, err)
		}
	}
}

// Signing runs in parallel without shared state; run with -race.
func TestSignRequestConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			r, _ := http.NewRequest(http.MethodPost, "https://forum.example/inbox", nil)
			if err := SignRequest(r, activity, testKeyID, testKey()); err != nil {
				errs <- err
				return
			}
			if _, err := Verify(r, activity, time.Now(), lookupFor(&testKey().PublicKey)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Through a real server, Host lives in r.Host rather than the header map and
// the path is parsed from the wire.
func TestVerifyOverHTTP(t *testing.T) {
	var gotErr error
	var verified *Verified
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		verified, gotErr = Verify(r, body, time.Now(), lookupFor(&testKey().PublicKey))
	}))
	defer srv.Close()

	r := newRequest(t, http.MethodPost, srv.URL+"/t/caf%C3%A9/inbox?x=1", activity)
	r.Header.Set("Content-Type", "application/activity+json")
	if err := SignRequest(r, activity, testKeyID, testKey()); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if gotErr != nil {
		t.Fatalf("server-side Verify: %v", gotErr)
	}
	if verified.KeyID != testKeyID {
		t.Errorf("KeyID = %q", verified.KeyID)
	}
}

func BenchmarkSign(b *testing.B) {
	key := testKey()
	b.ReportAllocs()
	for b.Loop() {
		r, _ := http.NewRequest(http.MethodPost, "https://forum.example/inbox", nil)
		if err := SignRequest(r, activity, testKeyID, key); err != nil {
			b.Fatal(err)
		}
	}
}
