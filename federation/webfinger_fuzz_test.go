package federation_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/skein-forum/skein/federation/internal/testnode"
)

// FuzzWebFingerResource throws arbitrary resources at WebFinger. Whatever
// arrives, the answer is 200 (a real local actor whose subject echoes the
// resource), 400 or 404 — never a server error, never a panic.
func FuzzWebFingerResource(f *testing.F) {
	n := testnode.New(f, nil)
	host := n.URLs.Host()
	for _, seed := range []string{
		"acct:alice@" + host, "acct:kitchen@" + host, "acct:instance@" + host,
		"acct:t." + n.Fx.Thread.ID.String() + "@" + host, "@alice@" + host, "alice@" + host,
		"acct:ALICE@" + strings.ToUpper(host), "acct:@" + host, "acct:alice@", "acct:alice@other.example",
		n.URLs.Member("alice"), n.URLs.Thread(n.Fx.Thread.ID), n.URLs.Base() + "/u/", n.URLs.Base() + "/t/zz/x",
		"acct:t.@" + host, "acct:t.-1@" + host, "acct:" + strings.Repeat("a", 5000) + "@" + host,
		"acct:al\x00ice@" + host, "acct:\xff\xfe@" + host, "", "http://", "acct:a@b@c",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, resource string) {
		req := httptest.NewRequest("GET", "/.well-known/webfinger?resource="+url.QueryEscape(resource), nil)
		rec := httptest.NewRecorder()
		n.Mux.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			if !utf8.ValidString(resource) {
				t.Fatalf("invalid UTF-8 resource %q found an actor", resource)
			}
			if !strings.Contains(rec.Body.String(), `"subject"`) {
				t.Fatalf("200 without a subject for %q: %s", resource, rec.Body.String())
			}
		case http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("resource %q: status %d: %s", resource, rec.Code, rec.Body.String())
		}
	})
}
