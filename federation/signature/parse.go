package signature

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Limits on the Signature header. A 4096-bit RSA signature is 684 base64
// characters; the rest is a keyId URL and a short header list, so anything
// near these limits is not a real signature.
const (
	maxHeaderLen   = 8 << 10
	maxParams      = 16
	maxHeaderNames = 32
)

// Params are the parameters of a Signature header.
type Params struct {
	KeyID     string
	Algorithm string   // lower case; empty when the sender left it out
	Headers   []string // lower case, in signing order
	Signature []byte   // decoded from base64
	Created   int64    // (created), 0 when absent
	Expires   int64    // (expires), 0 when absent
}

// ParseSignatureHeader parses the value of a Signature header.
//
// It is more tolerant than go-fed/httpsig about layout: parameters may be
// separated by ", " and surrounded by spaces or tabs, names are matched
// case-insensitively and unknown parameters are ignored. It is strict about
// content: duplicate parameters, empty values, unterminated quotes, a missing
// keyId or signature and undecodable base64 are errors wrapping ErrMalformed.
func ParseSignatureHeader(h string) (*Params, error) {
	if len(h) > maxHeaderLen {
		return nil, fmt.Errorf("%w: header is %d bytes, limit %d", ErrMalformed, len(h), maxHeaderLen)
	}
	p := &Params{}
	seen := make(map[string]bool, 4)
	rest := h
	for n := 0; ; n++ {
		if n == maxParams {
			return nil, fmt.Errorf("%w: more than %d parameters", ErrMalformed, maxParams)
		}
		var name, value string
		var err error
		name, value, rest, err = nextParam(rest)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: duplicate parameter %q", ErrMalformed, name)
		}
		seen[name] = true
		if err := p.set(name, value); err != nil {
			return nil, err
		}
		rest = trimSpace(rest)
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return nil, fmt.Errorf("%w: expected ',' after parameter %q", ErrMalformed, name)
		}
		rest = rest[1:]
	}
	if p.KeyID == "" {
		return nil, fmt.Errorf("%w: missing keyId", ErrMalformed)
	}
	if p.Signature == nil {
		return nil, fmt.Errorf("%w: missing signature", ErrMalformed)
	}
	if p.Headers == nil {
		// The draft's default when "headers" is absent.
		p.Headers = []string{"date"}
	}
	return p, nil
}

// nextParam reads `name=value` or `name="value"` from the start of s (after
// optional whitespace) and returns the lower-cased name, the unquoted value
// and the remaining input.
func nextParam(s string) (name, value, rest string, err error) {
	s = trimSpace(s)
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	if i == 0 {
		return "", "", "", fmt.Errorf("%w: expected a parameter name at %q", ErrMalformed, clip(s))
	}
	name = strings.ToLower(s[:i])
	s = trimSpace(s[i:])
	if s == "" || s[0] != '=' {
		return "", "", "", fmt.Errorf("%w: parameter %q has no '='", ErrMalformed, name)
	}
	s = trimSpace(s[1:])
	if s != "" && s[0] == '"' {
		// Nearly every value is quoted plainly: taken as it stands, the
		// 344 base64 characters of a signature cost no byte-by-byte copy.
		if end := strings.IndexByte(s[1:], '"'); end > 0 && plainQuoted(s[1:1+end]) {
			return name, s[1 : 1+end], s[2+end:], nil
		}
		var b strings.Builder
		for i = 1; i < len(s); i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				// RFC 9110 quoted-pair; nobody needs it in practice, but an
				// escaped quote must not end the string.
				i++
				c = s[i]
			} else if c == '"' {
				if b.Len() == 0 {
					return "", "", "", fmt.Errorf("%w: parameter %q is empty", ErrMalformed, name)
				}
				return name, b.String(), s[i+1:], nil
			}
			if c < 0x20 && c != '\t' || c == 0x7f {
				return "", "", "", fmt.Errorf("%w: control character in parameter %q", ErrMalformed, name)
			}
			b.WriteByte(c)
		}
		return "", "", "", fmt.Errorf("%w: unterminated quote in parameter %q", ErrMalformed, name)
	}
	i = 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	if i == 0 {
		return "", "", "", fmt.Errorf("%w: parameter %q is empty", ErrMalformed, name)
	}
	return name, s[:i], s[i:], nil
}

// plainQuoted reports whether v, the inside of a quoted value up to its
// first quote, holds no backslash and no control character: the slow
// path's reading of it would be v itself.
func plainQuoted(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\\' || c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func (p *Params) set(name, value string) error {
	switch name {
	case "keyid":
		p.KeyID = value
	case "algorithm":
		p.Algorithm = strings.ToLower(value)
	case "headers":
		names := strings.Fields(strings.ToLower(value))
		if len(names) == 0 {
			return fmt.Errorf("%w: empty headers list", ErrMalformed)
		}
		if len(names) > maxHeaderNames {
			return fmt.Errorf("%w: more than %d signed headers", ErrMalformed, maxHeaderNames)
		}
		for i, n := range names {
			if !isHeaderName(n) {
				return fmt.Errorf("%w: %q is not a header name", ErrMalformed, clip(n))
			}
			for _, prev := range names[:i] {
				if prev == n {
					return fmt.Errorf("%w: header %q listed twice", ErrMalformed, n)
				}
			}
		}
		p.Headers = names
	case "signature":
		sig, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			// A few implementations drop the padding.
			sig, err = base64.RawStdEncoding.DecodeString(value)
		}
		if err != nil || len(sig) == 0 {
			return fmt.Errorf("%w: signature is not base64", ErrMalformed)
		}
		p.Signature = sig
	case "created", "expires":
		v, err := strconv.ParseInt(value, 10, 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("%w: %s is not a positive integer", ErrMalformed, name)
		}
		if name == "created" {
			p.Created = v
		} else {
			p.Expires = v
		}
	}
	return nil
}

// isHeaderName reports whether n is a field name (an RFC 9110 token) or
// a pseudo-header such as (request-target). Anything else, invalid UTF-8
// included, is refused rather than carried into the signing string.
func isHeaderName(n string) bool {
	if len(n) > 2 && n[0] == '(' && n[len(n)-1] == ')' {
		n = n[1 : len(n)-1]
	}
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !isTokenChar(n[i]) {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c may appear in an RFC 9110 token.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func trimSpace(s string) string {
	return strings.TrimLeft(s, " \t")
}

// clip shortens s for an error message so garbage input is not echoed at length.
func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}
