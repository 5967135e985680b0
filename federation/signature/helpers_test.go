package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// testKey is generated once: RSA-2048 generation dominates the suite's time.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := GenerateKey()
	if err != nil {
		panic(err)
	}
	return k
})

const testKeyID = "https://remote.example/users/alice#main-key"

func lookupFor(pub *rsa.PublicKey) KeyLookup {
	return func(_ context.Context, keyID string) (*rsa.PublicKey, error) {
		if keyID != testKeyID {
			return nil, fmt.Errorf("unknown key %q", keyID)
		}
		return pub, nil
	}
}

func newRequest(t testing.TB, method, url string, body []byte) *http.Request {
	t.Helper()
	var r *http.Request
	var err error
	if body != nil {
		r, err = http.NewRequest(method, url, bytes.NewReader(body))
	} else {
		r, err = http.NewRequest(method, url, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// handSign signs r without go-fed, the way Mastodon's Request class does:
// it sets Host, Date and Digest, builds the signing string from headers and
// writes the Signature header with the given separator between parameters.
func handSign(t testing.TB, r *http.Request, body []byte, key *rsa.PrivateKey, algorithm string, headers []string, sep string, date time.Time) {
	t.Helper()
	r.Header.Set("Host", r.URL.Host)
	r.Header.Set("Date", date.UTC().Format(http.TimeFormat))
	if body != nil {
		sum := sha256.Sum256(body)
		r.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
	}
	sum := sha256.Sum256([]byte(signingString(r, headers)))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	params := []string{`keyId="` + testKeyID + `"`}
	if algorithm != "" {
		params = append(params, `algorithm="`+algorithm+`"`)
	}
	params = append(params,
		`headers="`+strings.Join(headers, " ")+`"`,
		`signature="`+base64.StdEncoding.EncodeToString(sig)+`"`)
	r.Header.Set("Signature", strings.Join(params, sep))
}

// signingString is the draft-cavage signing string, written from the spec
// and independent of both go-fed and the package under test.
func signingString(r *http.Request, headers []string) string {
	lines := make([]string, len(headers))
	for i, h := range headers {
		if h == "(request-target)" {
			lines[i] = h + ": " + strings.ToLower(r.Method) + " " + r.URL.RequestURI()
			continue
		}
		v := r.Header.Get(h)
		if h == "host" && v == "" {
			v = r.Host
		}
		lines[i] = h + ": " + v
	}
	return strings.Join(lines, "\n")
}

var sigParam = regexp.MustCompile(`(\w+)="([^"]*)"`)

// independentVerify checks r's signature with crypto/rsa only.
func independentVerify(r *http.Request, pub *rsa.PublicKey) error {
	params := map[string]string{}
	for _, m := range sigParam.FindAllStringSubmatch(r.Header.Get("Signature"), -1) {
		params[m[1]] = m[2]
	}
	if params["keyId"] != testKeyID {
		return fmt.Errorf("keyId = %q", params["keyId"])
	}
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(signingString(r, strings.Fields(params["headers"]))))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
