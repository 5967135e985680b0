package signature

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const sigB64 = "dGVzdA==" // "test"

func TestParseSignatureHeader(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Params
	}{
		{"mastodon", `keyId="https://a.example/users/x#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="` + sigB64 + `"`,
			Params{KeyID: "https://a.example/users/x#main-key", Algorithm: "rsa-sha256", Headers: []string{"(request-target)", "host", "date", "digest"}}},
		{"comma space", `keyId="k", algorithm="hs2019", headers="(request-target) host date", signature="` + sigB64 + `"`,
			Params{KeyID: "k", Algorithm: "hs2019", Headers: []string{"(request-target)", "host", "date"}}},
		{"spaces and tabs", " keyId = \"k\" ,\tsignature=\"" + sigB64 + "\" ,headers=\"host  date\" ",
			Params{KeyID: "k", Headers: []string{"host", "date"}}},
		{"case-insensitive names and values", `KEYID="k",Algorithm="RSA-SHA256",Headers="Host Date",Signature="` + sigB64 + `"`,
			Params{KeyID: "k", Algorithm: "rsa-sha256", Headers: []string{"host", "date"}}},
		{"default headers", `keyId="k",signature="` + sigB64 + `"`,
			Params{KeyID: "k", Headers: []string{"date"}}},
		{"unknown parameter ignored", `keyId="k",foo="bar",signature="` + sigB64 + `"`,
			Params{KeyID: "k", Headers: []string{"date"}}},
		{"comma inside quotes", `keyId="https://a.example/u/a,b",signature="` + sigB64 + `"`,
			Params{KeyID: "https://a.example/u/a,b", Headers: []string{"date"}}},
		{"quoted-pair", `keyId="https://a.example/u/a\"b\\c",signature="` + sigB64 + `"`,
			Params{KeyID: `https://a.example/u/a"b\c`, Headers: []string{"date"}}},
		{"unpadded base64", `keyId="k",signature="dGVzdA"`,
			Params{KeyID: "k", Headers: []string{"date"}}},
		{"created and expires", `keyId="k",created=1700000000,expires=1700000300,headers="(created) (expires)",signature="` + sigB64 + `"`,
			Params{KeyID: "k", Headers: []string{"(created)", "(expires)"}, Created: 1700000000, Expires: 1700000300}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseSignatureHeader(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if p.KeyID != tc.want.KeyID || p.Algorithm != tc.want.Algorithm || !slices.Equal(p.Headers, tc.want.Headers) ||
				p.Created != tc.want.Created || p.Expires != tc.want.Expires || string(p.Signature) != "test" {
				t.Errorf("got %+v\nwant %+v", *p, tc.want)
			}
		})
	}
}

func TestParseSignatureHeaderRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"garbage",
		"keyId",
		`keyId=`,
		`keyId="k"`,
		`signature="` + sigB64 + `"`,
		`keyId="",signature="` + sigB64 + `"`,
		`keyId="k",signature=""`,
		`keyId="k",signature="!!!not base64"`,
		`keyId="k,signature="` + sigB64 + `"`,
		`keyId="k",keyId="j",signature="` + sigB64 + `"`,
		`keyId="k",KeyID="j",signature="` + sigB64 + `"`,
		`keyId="k" signature="` + sigB64 + `"`,
		`keyId="k",,signature="` + sigB64 + `"`,
		`keyId="k",signature="` + sigB64 + `",`,
		`keyId="k",headers="",signature="` + sigB64 + `"`,
		`keyId="k",headers="date date",signature="` + sigB64 + `"`,
		`keyId="k",created=soon,signature="` + sigB64 + `"`,
		`keyId="k",expires=-5,signature="` + sigB64 + `"`,
		"keyId=\"k\x00\",signature=\"" + sigB64 + "\"",
		"keyId=\"k\x7f\",signature=\"" + sigB64 + "\"",
		"keyId=\"k\x1b[0m\",signature=\"" + sigB64 + "\"",
		`keyId="k\`,
		`="k"`,
		"keyId=\"" + strings.Repeat("a", maxHeaderLen) + "\",signature=\"" + sigB64 + "\"",
		strings.Repeat(`a="b",`, maxParams) + `keyId="k",signature="` + sigB64 + `"`,
		`keyId="k",headers="` + strings.Repeat("h", 1) + strings.Repeat(" x", maxHeaderNames) + `",signature="` + sigB64 + `"`,
	} {
		p, err := ParseSignatureHeader(in)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseSignatureHeader(%.60q) = %+v, %v; want ErrMalformed", in, p, err)
		}
	}
}

// formatParams writes p back as a header, escaping per RFC 9110 quoted-string.
func formatParams(p *Params) string {
	q := func(s string) string {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	parts := []string{"keyId=" + q(p.KeyID), "headers=" + q(strings.Join(p.Headers, " "))}
	if p.Algorithm != "" {
		parts = append(parts, "algorithm="+q(p.Algorithm))
	}
	if p.Created != 0 {
		parts = append(parts, "created="+strconv.FormatInt(p.Created, 10))
	}
	if p.Expires != 0 {
		parts = append(parts, "expires="+strconv.FormatInt(p.Expires, 10))
	}
	return strings.Join(append(parts, "signature="+q(string(base64Std(p.Signature)))), ", ")
}

// FuzzParseSignatureHeader checks that no input panics and that whatever
// parses is well-formed and survives a format/parse round trip.
func FuzzParseSignatureHeader(f *testing.F) {
	for _, seed := range []string{
		`keyId="https://a.example/users/x#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="` + sigB64 + `"`,
		`keyId="k", algorithm="hs2019", headers="(request-target) host date", signature="` + sigB64 + `"`,
		`keyId="a\"b",signature="dGVzdA"`,
		`keyId="k",created=1700000000,headers="(created)",signature="` + sigB64 + `"`,
		`keyId="k",,signature=""`,
		`keyId="k`,
		"",
		"=",
		`"`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParseSignatureHeader(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if p.KeyID == "" || len(p.Signature) == 0 || len(p.Headers) == 0 {
			t.Fatalf("incomplete params %+v", p)
		}
		for _, h := range p.Headers {
			if h == "" || h != strings.ToLower(h) {
				t.Fatalf("bad header name %q", h)
			}
		}
		again, err := ParseSignatureHeader(formatParams(p))
		if err != nil {
			t.Fatalf("reparse of %q: %v", formatParams(p), err)
		}
		if again.KeyID != p.KeyID || again.Algorithm != p.Algorithm || !slices.Equal(again.Headers, p.Headers) ||
			string(again.Signature) != string(p.Signature) || again.Created != p.Created || again.Expires != p.Expires {
			t.Fatalf("round trip changed %+v to %+v", p, again)
		}
	})
}
