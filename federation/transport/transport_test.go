package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"code.dny.dev/ssrf"
)

// loopbackClient may talk to httptest servers.
func loopbackClient(opts Options) *Client {
	opts.AllowPrivateNetworks = true
	opts.AllowHTTP = true
	return New(opts)
}

func TestGuardRefusesPrivateAddresses(t *testing.T) {
	c := New(Options{Timeout: 2 * time.Second})
	// Port 1 refuses connections and 10.0.0.1 does not answer at all, so any
	// error other than the guard's (refused, or a timeout) means the dial
	// was attempted.
	for _, u := range []string{
		"https://127.0.0.1:1/",
		"https://[::1]:1/",
		"https://10.0.0.1:1/",
		"https://169.254.169.254/latest/meta-data/",
		"https://[::ffff:127.0.0.1]:1/",
		"https://localhost:1/",
	} {
		start := time.Now()
		_, _, err := c.Get(context.Background(), u, "", nil)
		if !errors.Is(err, ErrBlockedAddress) || !errors.Is(err, ssrf.ErrProhibitedIP) {
			t.Errorf("GET %s: err = %v, want the address guard's", u, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("GET %s took %v; the guard should refuse before connecting", u, d)
		}
		_, _, err = c.Post(context.Background(), u, "application/activity+json", []byte("{}"), nil)
		if !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("POST %s: err = %v, want ErrBlockedAddress", u, err)
		}
	}
}

func TestAllowPrivateNetworks(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"type":"Person"}`)
	}))
	defer srv.Close()

	blocked := New(Options{})
	trustServer(blocked, srv)
	if _, _, err := blocked.Get(context.Background(), srv.URL, "", nil); !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("default client reached loopback server: err = %v", err)
	}

	allowed := New(Options{AllowPrivateNetworks: true})
	trustServer(allowed, srv)
	body, _, err := allowed.Get(context.Background(), srv.URL, "application/activity+json", nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != `{"type":"Person"}` {
		t.Errorf("body = %q", body)
	}
}

func trustServer(c *Client, srv *httptest.Server) {
	c.transport.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
}

func TestHTTPRefusedUnlessAllowed(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()

	c := New(Options{AllowPrivateNetworks: true})
	if _, _, err := c.Get(context.Background(), srv.URL, "", nil); !errors.Is(err, ErrInsecureScheme) {
		t.Errorf("GET http: err = %v", err)
	}
	if _, _, err := c.Post(context.Background(), srv.URL, "text/plain", nil, nil); !errors.Is(err, ErrInsecureScheme) {
		t.Errorf("POST http: err = %v", err)
	}
	for _, u := range []string{"ftp://example.com/", "file:///etc/passwd", "gopher://x/"} {
		if _, _, err := c.Get(context.Background(), u, "", nil); !errors.Is(err, ErrInsecureScheme) {
			t.Errorf("GET %s: err = %v", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("server was hit %d times", hits.Load())
	}

	if _, _, err := loopbackClient(Options{}).Get(context.Background(), srv.URL, "", nil); err != nil {
		t.Errorf("with AllowHTTP: %v", err)
	}
}

func TestGetSendsHeadersAndSigns(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/activity+json" || r.Header.Get("User-Agent") != "Skein/test" || r.Header.Get("Signature") != "sig for "+r.URL.Path {
			http.Error(w, "bad headers", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()

	c := loopbackClient(Options{UserAgent: "Skein/test"})
	sign := func(r *http.Request) error {
		r.Header.Set("Signature", "sig for "+r.URL.Path)
		return nil
	}
	body, final, err := c.Get(context.Background(), srv.URL+"/users/alice", "application/activity+json", sign)
	if err != nil || string(body) != "ok" || final != srv.URL+"/users/alice" {
		t.Fatalf("Get = %q, %q, %v", body, final, err)
	}

	signErr := errors.New("no key")
	_, _, err = c.Get(context.Background(), srv.URL, "", func(*http.Request) error { return signErr })
	if !errors.Is(err, signErr) {
		t.Errorf("sign error lost: %v", err)
	}
}

func TestStatusError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusGone)
	}))
	defer srv.Close()
	c := loopbackClient(Options{})

	_, _, err := c.Get(context.Background(), srv.URL, "", nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusGone {
		t.Errorf("Get err = %v, want StatusError 410", err)
	}

	status, body, err := c.Post(context.Background(), srv.URL, "application/activity+json", []byte("{}"), nil)
	if !errors.As(err, &se) || se.Code != http.StatusGone || status != http.StatusGone || strings.TrimSpace(string(body)) != "gone" {
		t.Errorf("Post = %d, %q, %v", status, body, err)
	}
}

func TestPost(t *testing.T) {
	payload := []byte(`{"type":"Create"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/activity+json" ||
			string(got) != string(payload) || r.Header.Get("Signature") != fmt.Sprintf("%d bytes", len(got)) {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	sign := func(r *http.Request, body []byte) error {
		r.Header.Set("Signature", fmt.Sprintf("%d bytes", len(body)))
		return nil
	}
	status, _, err := loopbackClient(Options{}).Post(context.Background(), srv.URL+"/inbox", "application/activity+json", payload, sign)
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("Post = %d, %v", status, err)
	}
}

func TestRedirects(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherHits.Add(1) }))
	defer other.Close()

	var signedPaths []string
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "b") })
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, other.URL+"/x", http.StatusFound) })
	mux.HandleFunc("/loop/{n}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop/"+r.PathValue("n")+"x", http.StatusFound)
	})
	mux.HandleFunc("/three", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/three2", http.StatusFound) })
	mux.HandleFunc("/three2", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/three3", http.StatusFound) })
	mux.HandleFunc("/three3", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) })
	mux.HandleFunc("POST /inbox-moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/inbox", http.StatusPermanentRedirect)
	})
	mux.HandleFunc("POST /inbox-see-other", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/b", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /inbox", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Signature") != "/inbox" {
			http.Error(w, "stale signature", http.StatusUnauthorized)
			return
		}
		w.Write(body)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c := loopbackClient(Options{})
	sign := func(r *http.Request) error {
		signedPaths = append(signedPaths, r.URL.Path)
		r.Header.Set("Signature", r.URL.Path)
		return nil
	}

	body, final, err := c.Get(context.Background(), srv.URL+"/a", "", sign)
	if err != nil || string(body) != "b" || final != srv.URL+"/b" {
		t.Errorf("same-host redirect: %q, %q, %v", body, final, err)
	}
	if strings.Join(signedPaths, " ") != "/a /b" {
		t.Errorf("signed paths = %q, want the redirect re-signed", signedPaths)
	}

	if _, _, err := c.Get(context.Background(), srv.URL+"/three", "", nil); err != nil {
		t.Errorf("three redirects: %v", err)
	}
	if _, _, err := c.Get(context.Background(), srv.URL+"/loop/x", "", nil); !errors.Is(err, ErrRedirect) {
		t.Errorf("redirect loop: err = %v", err)
	}
	if _, _, err := c.Get(context.Background(), srv.URL+"/away", "", nil); !errors.Is(err, ErrRedirect) {
		t.Errorf("cross-host redirect: err = %v", err)
	}
	if otherHits.Load() != 0 {
		t.Errorf("other host was contacted")
	}

	postSign := func(r *http.Request, _ []byte) error {
		r.Header.Set("Signature", r.URL.Path)
		return nil
	}
	status, resp, err := c.Post(context.Background(), srv.URL+"/inbox-moved", "application/activity+json", []byte("hello"), postSign)
	if err != nil || status != http.StatusOK || string(resp) != "hello" {
		t.Errorf("308 POST: %d %q %v", status, resp, err)
	}
	if _, _, err := c.Post(context.Background(), srv.URL+"/inbox-see-other", "application/activity+json", []byte("x"), nil); !errors.Is(err, ErrRedirect) {
		t.Errorf("303 POST: err = %v, want ErrRedirect", err)
	}
}

func TestBodyLimit(t *testing.T) {
	const limit = 1024
	mux := http.NewServeMux()
	mux.HandleFunc("/exact", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, limit)) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, limit+1)) })
	// Chunked, so no Content-Length gives the size away.
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		for range 4 {
			w.Write(make([]byte, limit/2))
			w.(http.Flusher).Flush()
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := loopbackClient(Options{MaxBody: limit})

	if body, _, err := c.Get(context.Background(), srv.URL+"/exact", "", nil); err != nil || len(body) != limit {
		t.Errorf("body at the limit: %d bytes, %v", len(body), err)
	}
	for _, path := range []string{"/big", "/stream"} {
		if _, _, err := c.Get(context.Background(), srv.URL+path, "", nil); !errors.Is(err, ErrTooLarge) {
			t.Errorf("GET %s: err = %v, want ErrTooLarge", path, err)
		}
	}
	if _, _, err := c.Post(context.Background(), srv.URL+"/stream", "text/plain", nil, nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("POST: err = %v, want ErrTooLarge", err)
	}
}

func TestTimeoutCoversSlowServers(t *testing.T) {
	mux := http.NewServeMux()
	// Headers arrive at once, then one byte every 100 ms for ever.
	mux.HandleFunc("/drip", func(w http.ResponseWriter, r *http.Request) {
		for {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
				w.Write([]byte("x"))
				w.(http.Flusher).Flush()
			}
		}
	})
	// Never answers. The body is read first because net/http notices a
	// closed connection only once the body is consumed; the fallback keeps
	// srv.Close from hanging if that ever changes.
	mux.HandleFunc("/silent", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c := loopbackClient(Options{Timeout: 300 * time.Millisecond})
	for _, path := range []string{"/drip", "/silent"} {
		start := time.Now()
		_, _, err := c.Get(context.Background(), srv.URL+path, "", nil)
		elapsed := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("GET %s: err = %v, want deadline exceeded", path, err)
		}
		if elapsed > time.Second {
			t.Errorf("GET %s returned after %v with a 300ms timeout", path, elapsed)
		}
		start = time.Now()
		_, _, err = c.Post(context.Background(), srv.URL+path, "text/plain", []byte("x"), nil)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
			t.Errorf("POST %s: err = %v after %v", path, err, time.Since(start))
		}
	}
}

func TestInvalidURL(t *testing.T) {
	c := New(Options{})
	for _, u := range []string{"https://", "https:///path", "::not a url", ""} {
		if _, _, err := c.Get(context.Background(), u, "", nil); err == nil {
			t.Errorf("GET %q succeeded", u)
		}
	}
}

// Transient tells a failure worth retrying from a settled answer, on real
// failures: statuses, a port nobody listens on, a timeout, a refused
// address.
func TestTransient(t *testing.T) {
	mux := http.NewServeMux()
	for _, code := range []int{http.StatusNotFound, http.StatusGone, http.StatusUnauthorized, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		mux.HandleFunc(fmt.Sprintf("/%d", code), func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) })
	}
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	closed := httptest.NewServer(mux)
	closed.Close()

	c := loopbackClient(Options{Timeout: 200 * time.Millisecond})
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{srv.URL + "/404", false},
		{srv.URL + "/410", false},
		{srv.URL + "/401", false},
		{srv.URL + "/429", true},
		{srv.URL + "/500", true},
		{srv.URL + "/502", true},
		{srv.URL + "/503", true},
		{srv.URL + "/slow", true},
		{closed.URL + "/", true},
	} {
		_, _, err := c.Get(context.Background(), tc.url, "", nil)
		if err == nil || Transient(err) != tc.want {
			t.Errorf("GET %s: %v, transient %v, want %v", tc.url, err, Transient(err), tc.want)
		}
	}
	guarded := New(Options{AllowHTTP: true})
	if _, _, err := guarded.Get(context.Background(), srv.URL+"/503", "", nil); err == nil || Transient(err) {
		t.Errorf("a refused address: %v, transient %v", err, Transient(err))
	}
}
