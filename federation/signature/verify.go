package signature

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// Errors returned by Verify, wrapped with detail. An inbox answers
// ErrMalformed with 400 and the others with 401; the sentinel's text is a
// short reason safe to send back.
var (
	ErrUnsigned          = errors.New("request is not signed")
	ErrMalformed         = errors.New("malformed signature")
	ErrAlgorithm         = errors.New("unsupported signature algorithm")
	ErrHeadersNotCovered = errors.New("required headers not signed")
	ErrStaleDate         = errors.New("date outside the accepted window")
	ErrBadDigest         = errors.New("digest does not match body")
	ErrKeyLookup         = errors.New("signing key not available")
	ErrBadSignature      = errors.New("signature does not verify")
)

// DateWindow is how far the Date header may be from the receiver's clock in
// either direction: Mastodon's 5 minutes plus the hour of clock skew it
// tolerates.
const DateWindow = time.Hour + 5*time.Minute

// Verified describes a request whose signature checked out.
type Verified struct {
	KeyID   string
	Headers []string // signed headers, lower case, in signing order
}

// KeyLookup returns the public key for a keyId, usually from a cache of
// remote actors or by fetching the actor.
type KeyLookup func(ctx context.Context, keyID string) (*rsa.PublicKey, error)

// Verify checks the Signature header of r against body, the exact bytes of
// the request body (nil for a GET), at time now.
//
// The cheap checks run first so a bad request costs no key fetch: header
// syntax, algorithm, the set of signed headers, the Date window and the
// Digest. Only then is lookup called with r's context, and the signature
// checked. Verify does not modify r.
//
// Verify does not check that the key belongs to the activity's actor; the
// caller must.
func Verify(r *http.Request, body []byte, now time.Time, lookup KeyLookup) (*Verified, error) {
	raw := r.Header.Values("Signature")
	if len(raw) == 0 {
		return nil, ErrUnsigned
	}
	if len(raw) > 1 {
		return nil, fmt.Errorf("%w: %d Signature headers", ErrMalformed, len(raw))
	}
	p, err := ParseSignatureHeader(raw[0])
	if err != nil {
		return nil, err
	}

	// hs2019 leaves the algorithm to the key; Mastodon uses it with RSA
	// keys and RSA-SHA256, which is all we verify. The draft makes the
	// parameter optional, so its absence means the same.
	switch p.Algorithm {
	case "rsa-sha256", "hs2019", "":
	default:
		return nil, fmt.Errorf("%w: %q", ErrAlgorithm, p.Algorithm)
	}

	needsBody := r.Method != http.MethodGet && r.Method != http.MethodHead
	required := getHeaders
	if needsBody {
		required = bodyHeaders
	}
	for _, h := range required {
		if !slices.Contains(p.Headers, h) {
			return nil, fmt.Errorf("%w: %q missing from %q", ErrHeadersNotCovered, h, strings.Join(p.Headers, " "))
		}
	}

	date, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil {
		return nil, fmt.Errorf("%w: unparseable Date %q", ErrStaleDate, clip(r.Header.Get("Date")))
	}
	if d := now.Sub(date); d > DateWindow || d < -DateWindow {
		return nil, fmt.Errorf("%w: Date %s is %s from now", ErrStaleDate, date.Format(time.RFC3339), d.Round(time.Second))
	}

	// A signed Digest is checked even on a GET: it is part of what the
	// sender vouched for.
	if slices.Contains(p.Headers, "digest") {
		if err := checkDigest(r.Header.Values("Digest"), body); err != nil {
			return nil, err
		}
	}

	if err := checkTimestamps(p, now); err != nil {
		return nil, err
	}

	pub, err := lookup(r.Context(), p.KeyID)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrKeyLookup, p.KeyID, err)
	}
	if pub == nil {
		return nil, fmt.Errorf("%w: %q: no key", ErrKeyLookup, p.KeyID)
	}
	if err := verifyRSA(r, p, pub); err != nil {
		return nil, fmt.Errorf("%w: keyId %q: %w", ErrBadSignature, p.KeyID, err)
	}
	return &Verified{KeyID: p.KeyID, Headers: p.Headers}, nil
}

// checkDigest finds the SHA-256 entry among the Digest values (RFC 3230
// allows several, comma separated, algorithm names case-insensitive) and
// compares it with the body's hash in constant time.
func checkDigest(values []string, body []byte) error {
	if len(values) == 0 {
		return fmt.Errorf("%w: Digest header missing", ErrBadDigest)
	}
	sum := sha256.Sum256(body)
	for _, v := range values {
		for entry := range strings.SplitSeq(v, ",") {
			alg, enc, ok := strings.Cut(strings.TrimSpace(entry), "=")
			if !ok || !strings.EqualFold(alg, "sha-256") {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(enc)
			if err != nil {
				return fmt.Errorf("%w: SHA-256 value is not base64", ErrBadDigest)
			}
			if subtle.ConstantTimeCompare(got, sum[:]) != 1 {
				return fmt.Errorf("%w: SHA-256 differs", ErrBadDigest)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: no SHA-256 entry", ErrBadDigest)
}

// checkTimestamps applies the hs2019 (created) and (expires) parameters
// against our clock; go-fed would compare them with time.Now and a 10 s
// margin, which is stricter than the Date window we allow.
func checkTimestamps(p *Params, now time.Time) error {
	if p.Created != 0 && time.Unix(p.Created, 0).Sub(now) > DateWindow {
		return fmt.Errorf("%w: created is in the future", ErrStaleDate)
	}
	if p.Expires != 0 && now.Sub(time.Unix(p.Expires, 0)) > DateWindow {
		return fmt.Errorf("%w: signature expired", ErrStaleDate)
	}
	return nil
}

// verifyRSA lets go-fed build the signing string and check the RSA-SHA256
// signature. go-fed's own header parser rejects ", " separators and reads
// created/expires against time.Now, so it is handed a canonical header
// rebuilt from our parse (created/expires already checked, so left out
// unless signed) on a copy of the request; r itself is not touched.
func verifyRSA(r *http.Request, p *Params, pub *rsa.PublicKey) error {
	var b bytes.Buffer
	b.Grow(64 + 16*len(p.Headers) + base64.StdEncoding.EncodedLen(len(p.Signature)))
	// The keyId is not needed by go-fed and could contain a comma, which its
	// parser would split on.
	b.WriteString(`keyId="k",headers="`)
	b.WriteString(strings.Join(p.Headers, " "))
	b.WriteString(`",signature="`)
	b.WriteString(base64.StdEncoding.EncodeToString(p.Signature))
	b.WriteByte('"')
	if slices.Contains(p.Headers, "(created)") {
		b.WriteString(",created=" + strconv.FormatInt(p.Created, 10))
	}
	if slices.Contains(p.Headers, "(expires)") {
		b.WriteString(",expires=" + strconv.FormatInt(p.Expires, 10))
	}

	// Only what go-fed reads: the signed headers (their values shared,
	// go-fed reads them only), Host and the rebuilt Signature; not a
	// copy of every header the sender sent. Authorization is left out,
	// as go-fed would otherwise take it for a second signature.
	h := make(http.Header, len(p.Headers)+2)
	for _, name := range p.Headers {
		if strings.HasPrefix(name, "(") {
			continue
		}
		if k := textproto.CanonicalMIMEHeaderKey(name); k != "Authorization" {
			if v, ok := r.Header[k]; ok {
				h[k] = v
			}
		}
	}
	h.Set("Signature", b.String())
	if r.Host != "" {
		// Servers move Host out of the header map into r.Host, which is
		// also what routed the request here.
		h.Set("Host", r.Host)
	}
	// The sender signed the escaped path it put on the wire (see SignRequest).
	u := *r.URL
	u.Path, u.RawPath = r.URL.EscapedPath(), ""
	shadow := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: h}

	v, err := httpsig.NewVerifier(shadow)
	if err != nil {
		return err
	}
	return v.Verify(pub, httpsig.RSA_SHA256)
}
