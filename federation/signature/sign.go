package signature

import (
	"crypto/rsa"
	"fmt"
	"net/http"
	"time"

	"github.com/go-fed/httpsig"
)

// Signed header sets. Mastodon signs and expects exactly these; other
// servers add more, which Verify accepts.
var (
	getHeaders  = []string{httpsig.RequestTarget, "host", "date"}
	bodyHeaders = []string{httpsig.RequestTarget, "host", "date", "digest"}
)

// SignRequest sets the Host, Date and (when body is not nil) Digest headers
// of r and signs it with key under keyID. body must be exactly what will be
// sent; pass nil for a GET. Signing an already signed request replaces the
// old signature, so a retry may sign again.
//
// Each call builds its own go-fed signer because signers are not safe for
// concurrent use and building one is cheap next to the RSA operation; this
// keeps fan-out signing parallel without a lock.
func SignRequest(r *http.Request, body []byte, keyID string, key *rsa.PrivateKey) error {
	headers := getHeaders
	if body != nil {
		headers = bodyHeaders
	}
	return SignHeaders(r, body, keyID, key, headers, time.Now())
}

// SignHeaders is [SignRequest] over the given signed headers, in order
// ("(request-target)" is the pseudo-header), with date as the Date
// header: for a test server that signs the way another server does, or
// forges. Headers other than Host, Date and Digest must already be set.
func SignHeaders(r *http.Request, body []byte, keyID string, key *rsa.PrivateKey, headers []string, date time.Time) error {
	if r.URL == nil {
		return fmt.Errorf("sign request: no URL")
	}
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		return fmt.Errorf("sign request: new signer: %w", err)
	}

	if r.Host == "" {
		r.Host = r.URL.Host
	}
	// net/http sends r.Host and ignores Header["Host"], but go-fed reads the
	// header map; keep both the same.
	r.Header.Set("Host", r.Host)
	r.Header.Set("Date", date.UTC().Format(http.TimeFormat))
	// go-fed refuses to overwrite a Digest.
	r.Header.Del("Digest")
	r.Header.Del("Signature")

	// go-fed writes the decoded r.URL.Path into (request-target), but the
	// receiver sees the escaped path that goes on the wire. Sign a shallow
	// copy whose Path is the escaped form; the copy shares r.Header, so the
	// Digest and Signature land on r.
	shadow := *r
	u := *r.URL
	u.Path, u.RawPath = r.URL.EscapedPath(), ""
	shadow.URL = &u
	if err := signer.SignRequest(key, keyID, &shadow, body); err != nil {
		return fmt.Errorf("sign request %s %s: %w", r.Method, r.URL.Redacted(), err)
	}
	return nil
}
