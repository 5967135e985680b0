package node_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/skein-forum/skein/node"
	"github.com/skein-forum/skein/storage/storagetest"
	"github.com/skein-forum/skein/web"
)

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newNode builds a node on a fresh SQLite database behind an httptest
// server, the way serve does, logging JSON into logs.
func newNode(t *testing.T, logs io.Writer, proxies web.TrustedProxies) (*node.Node, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	n, err := node.New(context.Background(), node.Config{
		BaseURL: srv.URL, DataDir: t.TempDir(), Registration: "open", TrustedProxies: proxies,
		Log: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Store.Close() })
	srv.Config.Handler = n.Handler()
	return n, srv
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

func TestMetricsExposeNamedFamilies(t *testing.T) {
	n, srv := newNode(t, io.Discard, nil)
	fx := storagetest.Seed(t, n.Store)
	// Through the handler itself, so each request is counted before the
	// next line runs (over the network the client may read the answer
	// before the server has counted it).
	for range 3 {
		if code, _ := get(t, n.Handler(), "/t/"+fx.Thread.ID.String()); code != http.StatusOK {
			t.Fatalf("thread page: %d", code)
		}
	}
	get(t, n.Handler(), "/no/such/page")
	// The exposition of each family (TestMetricsCountInboxAndDeliveries
	// proves real traffic feeds them).
	n.Metrics.InboxAccepted()
	n.Metrics.InboxRejected(node.RejectBlocked)
	n.Metrics.DeliverySent("mastodon")
	n.Metrics.DeliveryRetrying(node.HostClassOther)
	n.Metrics.SetQueueDepth(node.QueueDelivery, 42)

	code, body := get(t, n.MetricsHandler(), "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`skein_http_requests_total{code="2xx",route="GET /t/{id}"} 3`,
		`skein_http_requests_total{code="4xx",route="/"} 1`,
		`skein_http_request_duration_seconds_bucket{route="GET /t/{id}",le="+Inf"} 3`,
		`skein_http_request_duration_seconds_count{route="GET /t/{id}"} 3`,
		`skein_inbox_accepted_total 1`,
		`skein_inbox_rejected_total{reason="blocked"} 1`,
		`skein_inbox_rejected_total{reason="signature"} 0`,
		`skein_deliveries_total{host_class="mastodon",result="sent"} 1`,
		`skein_deliveries_total{host_class="other",result="retrying"} 1`,
		`skein_deliveries_total{host_class="other",result="failed"} 0`,
		`skein_queue_depth{queue="delivery"} 42`,
		`skein_queue_depth{queue="inbox"} 0`,
		`go_sql_max_open_connections{db_name="write"} 1`,
		`go_sql_open_connections{db_name="read"}`,
		`go_sql_wait_count_total{db_name="read"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Never on the public listener.
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("public /metrics: %d", resp.StatusCode)
	}
}

// One JSON line per request with status, duration and route; the client
// address comes from X-Forwarded-For only through a trusted proxy; no
// password reaches the log.
func TestRequestLog(t *testing.T) {
	var logs syncBuffer
	proxies, _ := web.ParseTrustedProxies("127.0.0.1, ::1")
	n, srv := newNode(t, &logs, proxies)
	form := url.Values{"handle": {"nobody"}, "password": {"hunter2 secret words"}}
	req := httptest.NewRequest("POST", srv.URL+"/signin?token=abc", strings.NewReader(form.Encode()))
	req.RemoteAddr = "127.0.0.1:40000" // the proxy
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.URL)
	req.Header.Set("X-Forwarded-For", "203.0.113.77")
	n.Handler().ServeHTTP(httptest.NewRecorder(), req)
	out := logs.String()
	for _, want := range []string{`"msg":"request"`, `"path":"/signin"`, `"route":"POST /signin"`, `"status":401`, `"duration":`, `"client":"203.0.113.77"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	for _, secret := range []string{"hunter2", "token=abc"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q", secret)
		}
	}
}
