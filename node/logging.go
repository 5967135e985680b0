package node

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/skein-forum/skein/web"
)

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observeRequests writes one log line per request (method, path but never
// the query, which may carry tokens, the route pattern, status, size,
// duration and the client address as the trusted proxies tell it) and
// counts it in the metrics. Form bodies, cookies and headers are never
// logged, so neither are passwords.
func observeRequests(log *slog.Logger, m *Metrics, proxies web.TrustedProxies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		d := time.Since(start)
		// The mux wrote the matched pattern into r (ServeMux sets
		// r.Pattern on the request it is given).
		m.observe(r.Pattern, rec.status, d)
		if r.Method == http.MethodPost && strings.HasSuffix(r.Pattern, "/inbox") {
			m.observeInbox(rec.status)
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", r.Pattern),
			slog.Int("status", rec.status),
			slog.Int("bytes", rec.bytes),
			slog.Duration("duration", d),
			slog.String("client", proxies.ClientIP(r)),
		)
	})
}
