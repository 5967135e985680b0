package fedtest

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// Signing says how to sign one request. An [Actor] fills it in the way its
// style signs; a test changes what it wants to forge.
type Signing struct {
	KeyID string
	Key   *rsa.PrivateKey
	// Headers are the signed headers, in order; "(request-target)" is the
	// pseudo-header.
	Headers []string
	// Algorithm is what the Signature header names: "hs2019" (go-fed's
	// and GoToSocial's) or "rsa-sha256" (Mastodon's). The signature is
	// RSA-SHA256 either way.
	Algorithm string
	// Date is the Date header; zero is now.
	Date time.Time
}

// Sign sets the Host, Date and, when body is not nil, Digest headers of r
// and signs it as s says. body must be exactly what will be sent (nil for
// a GET). Headers named in s.Headers other than those must already be set.
func Sign(r *http.Request, body []byte, s Signing) error {
	if s.Key == nil || s.KeyID == "" {
		return errors.New("fedtest: sign: no key")
	}
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, s.Headers, httpsig.Signature, 0)
	if err != nil {
		return fmt.Errorf("fedtest: sign: %w", err)
	}
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	// go-fed reads Host from the header map; net/http sends r.Host.
	r.Header.Set("Host", r.Host)
	date := s.Date
	if date.IsZero() {
		date = time.Now()
	}
	r.Header.Set("Date", date.UTC().Format(http.TimeFormat))
	r.Header.Del("Digest")
	r.Header.Del("Signature")
	// The receiver sees the escaped path on the wire; go-fed would sign
	// the decoded one. Sign a copy with the escaped path (sharing r's
	// headers, so the Digest and Signature land on r).
	shadow := *r
	u := *r.URL
	u.Path, u.RawPath = r.URL.EscapedPath(), ""
	shadow.URL = &u
	if err := signer.SignRequest(s.Key, s.KeyID, &shadow, body); err != nil {
		return fmt.Errorf("fedtest: sign %s %s: %w", r.Method, r.URL, err)
	}
	if s.Algorithm != "" && s.Algorithm != "hs2019" {
		// go-fed always writes hs2019; the algorithm is not signed.
		r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `algorithm="hs2019"`, `algorithm="`+s.Algorithm+`"`, 1))
	}
	return nil
}
