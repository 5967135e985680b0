package fedtest

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/skein-forum/skein/federation/signature"
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
	date := s.Date
	if date.IsZero() {
		date = time.Now()
	}
	if err := signature.SignHeaders(r, body, s.KeyID, s.Key, s.Headers, date); err != nil {
		return fmt.Errorf("fedtest: %w", err)
	}
	if s.Algorithm != "" && s.Algorithm != "hs2019" {
		// go-fed always writes hs2019; the algorithm is not signed.
		r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `algorithm="hs2019"`, `algorithm="`+s.Algorithm+`"`, 1))
	}
	return nil
}
