package web

import (
	"mime"
	"net/http"
	"strings"
)

// contentSecurityPolicy forbids inline script and framing. form-action
// allows https: because "follow from your server" and "share from your
// server" end in a redirect to the reader's own server, and browsers
// check form-action on the redirect too.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self' https:; object-src 'none'"

// securityHeaders sets the headers every response carries.
func securityHeaders(secure bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("X-Frame-Options", "DENY")
		if secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// wantsActivityPub reports whether the Accept header asks for an
// ActivityPub document: application/activity+json, or application/ld+json
// with or without the ActivityStreams profile (some servers send it bare).
// Browsers never ask for either.
func wantsActivityPub(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	if accept == "" || !strings.Contains(accept, "json") {
		return false
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q := params["q"]; q == "0" || q == "0.0" || q == "0.00" || q == "0.000" {
			continue
		}
		if mt == "application/activity+json" || mt == "application/ld+json" {
			return true
		}
	}
	return false
}

// serveActivityPub hands the request to the federation handler when it
// asks for ActivityPub and there is one. It reports whether it did. Pages
// that answer both ways always vary on Accept, so no cache hands HTML to
// a server or JSON to a browser.
func (s *Server) serveActivityPub(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Add("Vary", "Accept")
	if s.ActivityPub == nil || !wantsActivityPub(r) {
		return false
	}
	s.ActivityPub.ServeHTTP(w, r)
	return true
}
