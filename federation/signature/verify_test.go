package signature

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func signedPOST(t testing.TB) *http.Request {
	t.Helper()
	r := newRequest(t, http.MethodPost, "https://forum.example/inbox", activity)
	if err := SignRequest(r, activity, testKeyID, testKey()); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVerifyRoundTrip(t *testing.T) {
	lookup := lookupFor(&testKey().PublicKey)
	r := signedPOST(t)
	v, err := Verify(r, activity, time.Now(), lookup)
	if err != nil {
		t.Fatal(err)
	}
	if v.KeyID != testKeyID || strings.Join(v.Headers, " ") != "(request-target) host date digest" {
		t.Errorf("Verified = %+v", v)
	}

	g := newRequest(t, http.MethodGet, "https://forum.example/c/general?page=2", nil)
	if err := SignRequest(g, nil, testKeyID, testKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(g, nil, time.Now(), lookup); err != nil {
		t.Fatalf("GET: %v", err)
	}
}

// Headers the sender did not sign do not enter the check: an
// Authorization header (which go-fed would take for a second signature)
// and any other; a header that was signed is read, so changing it breaks
// the signature.
func TestVerifyReadsOnlySignedHeaders(t *testing.T) {
	lookup := lookupFor(&testKey().PublicKey)
	r := signedPOST(t)
	r.Header.Set("Authorization", "Bearer abc")
	r.Header.Set("User-Agent", "Mastodon/4.3")
	r.Header.Add("X-Forwarded-For", "192.0.2.1")
	if _, err := Verify(r, activity, time.Now(), lookup); err != nil {
		t.Fatalf("with unsigned headers: %v", err)
	}
	// Date is a signed header read from the header map; Host is carried
	// apart (r.Host).
	d, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil {
		t.Fatal(err)
	}
	dated := r.Clone(r.Context())
	dated.Header.Set("Date", d.Add(-time.Second).Format(http.TimeFormat))
	if _, err := Verify(dated, activity, time.Now(), lookup); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("with another Date: %v, want ErrBadSignature", err)
	}
	r.Host = "other.example"
	if _, err := Verify(r, activity, time.Now(), lookup); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("with another Host: %v, want ErrBadSignature", err)
	}
}

func TestVerifyDoesNotModifyRequest(t *testing.T) {
	r := signedPOST(t)
	before := r.Header.Clone()
	if _, err := Verify(r, activity, time.Now(), lookupFor(&testKey().PublicKey)); err != nil {
		t.Fatal(err)
	}
	if len(before) != len(r.Header) || before.Get("Signature") != r.Header.Get("Signature") {
		t.Errorf("headers changed: %v -> %v", before, r.Header)
	}
}

// Requests signed the way Mastodon and others sign them, without go-fed.
func TestVerifyHandSigned(t *testing.T) {
	post := []string{"(request-target)", "host", "date", "digest"}
	get := []string{"(request-target)", "host", "date"}
	for _, tc := range []struct {
		name, method, algorithm, sep string
		headers                      []string
		body                         []byte
	}{
		{"mastodon POST", http.MethodPost, "rsa-sha256", ",", post, activity},
		{"hs2019", http.MethodPost, "hs2019", ",", post, activity},
		{"comma space", http.MethodPost, "rsa-sha256", ", ", post, activity},
		{"no algorithm", http.MethodPost, "", ",", post, activity},
		{"extra headers", http.MethodPost, "rsa-sha256", ",", append(post, "content-type"), activity},
		{"mastodon GET", http.MethodGet, "rsa-sha256", ",", get, nil},
		{"upper-case algorithm", http.MethodGet, "RSA-SHA256", ",", get, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest(t, tc.method, "https://forum.example/inbox?a=b", tc.body)
			r.Header.Set("Content-Type", "application/activity+json")
			handSign(t, r, tc.body, testKey(), tc.algorithm, tc.headers, tc.sep, time.Now())
			v, err := Verify(r, tc.body, time.Now(), lookupFor(&testKey().PublicKey))
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Headers) != len(tc.headers) {
				t.Errorf("Headers = %q", v.Headers)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	pub := &testKey().PublicKey
	now := time.Now()
	tampered := []byte(strings.Replace(string(activity), "Follow", "Block", 1))
	post := []string{"(request-target)", "host", "date", "digest"}

	for _, tc := range []struct {
		name string
		// build returns the request and the body the receiver read.
		build func(t *testing.T) (*http.Request, []byte)
		now   time.Time
		want  error
	}{
		{"unsigned", func(t *testing.T) (*http.Request, []byte) {
			return newRequest(t, http.MethodPost, "https://forum.example/inbox", activity), activity
		}, now, ErrUnsigned},
		{"tampered body", func(t *testing.T) (*http.Request, []byte) {
			return signedPOST(t), tampered
		}, now, ErrBadDigest},
		{"digest rewritten for tampered body", func(t *testing.T) (*http.Request, []byte) {
			r := signedPOST(t)
			sum := sha256.Sum256(tampered)
			r.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
			return r, tampered
		}, now, ErrBadSignature},
		{"lower-case digest algorithm still compared", func(t *testing.T) (*http.Request, []byte) {
			r := signedPOST(t)
			r.Header.Set("Digest", strings.Replace(r.Header.Get("Digest"), "SHA-256", "sha-256", 1))
			return r, tampered
		}, now, ErrBadDigest},
		{"digest without sha-256", func(t *testing.T) (*http.Request, []byte) {
			r := newRequest(t, http.MethodPost, "https://forum.example/inbox", activity)
			handSign(t, r, activity, testKey(), "rsa-sha256", post, ",", now)
			r.Header.Set("Digest", "SHA-512=AAAA")
			return r, activity
		}, now, ErrBadDigest},
		{"date two hours old", func(t *testing.T) (*http.Request, []byte) {
			return signedPOST(t), activity
		}, now.Add(2 * time.Hour), ErrStaleDate},
		{"date two hours ahead", func(t *testing.T) (*http.Request, []byte) {
			return signedPOST(t), activity
		}, now.Add(-2 * time.Hour), ErrStaleDate},
		{"date header replaced", func(t *testing.T) (*http.Request, []byte) {
			r := signedPOST(t)
			r.Header.Set("Date", now.Add(30*time.Second).UTC().Format(http.TimeFormat))
			return r, activity
		}, now, ErrBadSignature},
		{"POST without digest signed", func(t *testing.T) (*http.Request, []byte) {
			r := newRequest(t, http.MethodPost, "https://forum.example/inbox", activity)
			handSign(t, r, activity, testKey(), "rsa-sha256", []string{"(request-target)", "host", "date"}, ",", now)
			return r, activity
		}, now, ErrHeadersNotCovered},
		{"POST without host signed", func(t *testing.T) (*http.Request, []byte) {
			r := newRequest(t, http.MethodPost, "https://forum.example/inbox", activity)
			handSign(t, r, activity, testKey(), "rsa-sha256", []string{"(request-target)", "date", "digest"}, ",", now)
			return r, activity
		}, now, ErrHeadersNotCovered},
		{"GET with only date signed", func(t *testing.T) (*http.Request, []byte) {
			r := newRequest(t, http.MethodGet, "https://forum.example/c/general", nil)
			handSign(t, r, nil, testKey(), "rsa-sha256", []string{"date"}, ",", now)
			return r, nil
		}, now, ErrHeadersNotCovered},
		{"hmac algorithm", func(t *testing.T) (*http.Request, []byte) {
			r := newRequest(t, http.MethodPost, "https://forum.example/inbox", activity)
			handSign(t, r, activity, testKey(), "hmac-sha256", post, ",", now)
			return r, activity
		}, now, ErrAlgorithm},
		{"ed25519 algorithm", func(t *testing.T) (*http.Request, []byte) {
			r := newRequest(t, http.MethodPost, "https://forum.example/inbox", activity)
			handSign(t, r, activity, testKey(), "ed25519", post, ",", now)
			return r, activity
		}, now, ErrAlgorithm},
		{"signed for another path", func(t *testing.T) (*http.Request, []byte) {
			r := signedPOST(t)
			r.URL.Path = "/users/bob/inbox"
			return r, activity
		}, now, ErrBadSignature},
		{"signed for another host", func(t *testing.T) (*http.Request, []byte) {
			r := signedPOST(t)
			r.Host = "other.example"
			return r, activity
		}, now, ErrBadSignature},
		{"garbage header", func(t *testing.T) (*http.Request, []byte) {
			r := signedPOST(t)
			r.Header.Set("Signature", "garbage")
			return r, activity
		}, now, ErrMalformed},
		{"two signature headers", func(t *testing.T) (*http.Request, []byte) {
			r := signedPOST(t)
			r.Header.Add("Signature", r.Header.Get("Signature"))
			return r, activity
		}, now, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, body := tc.build(t)
			_, err := Verify(r, body, tc.now, lookupFor(pub))
			wantErr(t, err, tc.want)
		})
	}
}

func TestVerifyDateWindowEdges(t *testing.T) {
	r := signedPOST(t)
	date, _ := http.ParseTime(r.Header.Get("Date"))
	lookup := lookupFor(&testKey().PublicKey)
	for _, off := range []time.Duration{DateWindow, -DateWindow, time.Hour, -time.Hour} {
		if _, err := Verify(r, activity, date.Add(off), lookup); err != nil {
			t.Errorf("now = Date%+v: %v", off, err)
		}
	}
	for _, off := range []time.Duration{DateWindow + time.Second, -DateWindow - time.Second} {
		_, err := Verify(r, activity, date.Add(off), lookup)
		if !errors.Is(err, ErrStaleDate) {
			t.Errorf("now = Date%+v: err = %v, want ErrStaleDate", off, err)
		}
	}
}

func TestVerifyKeyProblems(t *testing.T) {
	other, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	r := signedPOST(t)
	_, err = Verify(r, activity, time.Now(), lookupFor(&other.PublicKey))
	wantErr(t, err, ErrBadSignature)

	lookupErr := errors.New("actor gone")
	_, err = Verify(r, activity, time.Now(), func(context.Context, string) (*rsa.PublicKey, error) { return nil, lookupErr })
	wantErr(t, err, ErrKeyLookup)
	wantErr(t, err, lookupErr)

	_, err = Verify(r, activity, time.Now(), func(context.Context, string) (*rsa.PublicKey, error) { return nil, nil })
	wantErr(t, err, ErrKeyLookup)
}

// A request that fails the cheap checks must not cost a key fetch.
func TestVerifyChecksBeforeLookup(t *testing.T) {
	calls := 0
	lookup := func(context.Context, string) (*rsa.PublicKey, error) {
		calls++
		return &testKey().PublicKey, nil
	}
	r := signedPOST(t)
	if _, err := Verify(r, []byte("other"), time.Now(), lookup); !errors.Is(err, ErrBadDigest) {
		t.Fatalf("err = %v", err)
	}
	if _, err := Verify(r, activity, time.Now().Add(3*time.Hour), lookup); !errors.Is(err, ErrStaleDate) {
		t.Fatalf("err = %v", err)
	}
	if calls != 0 {
		t.Errorf("lookup called %d times", calls)
	}
}

func BenchmarkVerify(b *testing.B) {
	r := signedPOST(b)
	lookup := lookupFor(&testKey().PublicKey)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(r, activity, now, lookup); err != nil {
			b.Fatal(err)
		}
	}
}
