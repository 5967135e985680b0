package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// The wire sender must put on the wire what net/http would (the node's
// work per request depends on it) and read every shape of answer a Go
// server gives: a length, a chunked body, Connection: close, a 503 with
// Retry-After, and an idle connection the server closed.
func TestWireConnSendsWhatNetHTTPSends(t *testing.T) {
	type seen struct {
		method, path, host, ua, ctype, sig string
		length                             int64
		body                               string
	}
	// The handler records what arrived; the sender waits for each answer,
	// so the mutex only orders the test's reads after the handler's writes.
	var mu sync.Mutex
	var got seen
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		mu.Lock()
		got = seen{r.Method, r.URL.Path, r.Host, r.Header.Get("User-Agent"), r.Header.Get("Content-Type"),
			r.Header.Get("Signature"), r.ContentLength, b.String()}
		calls++
		n := calls
		mu.Unlock()
		switch n {
		case 2: // a body longer than the server buffers: chunked
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write(bytes.Repeat([]byte("x"), 10000))
		case 3:
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusAccepted)
		case 4:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte("queued"))
		}
	}))
	defer srv.Close()

	body := []byte(`{"type":"Create","id":"https://remote.example/1"}`)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/inbox", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/activity+json")
	req.Header.Set("Signature", `keyId="k",signature="s"`)
	req.Header.Set("User-Agent", "fedtest/1.0")
	w, err := newWireRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if w.addr != srv.Listener.Addr().String() {
		t.Fatalf("addr %q for %s", w.addr, srv.URL)
	}
	c := newWireConn(context.Background(), 5*time.Second)
	defer c.Close()
	wantStatus := []int{202, 202, 202, 503, 202}
	for i, want := range wantStatus {
		a, err := c.Do(w)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if a.status != want {
			t.Fatalf("request %d: status %d, want %d", i+1, a.status, want)
		}
		if want == 503 && a.retryAfter != "1" {
			t.Fatalf("request %d: Retry-After %q", i+1, a.retryAfter)
		}
		mu.Lock()
		s := got
		mu.Unlock()
		if s.method != "POST" || s.path != "/inbox" || s.host != w.addr || s.ua != "fedtest/1.0" ||
			s.ctype != "application/activity+json" || s.sig != `keyId="k",signature="s"` ||
			s.length != int64(len(body)) || s.body != string(body) {
			t.Fatalf("request %d arrived as %+v", i+1, s)
		}
	}
	// The server drops its idle connections: the next request goes on a
	// new one, sent once.
	srv.CloseClientConnections()
	mu.Lock()
	before := calls
	mu.Unlock()
	if a, err := c.Do(w); err != nil || a.status != 202 {
		t.Fatalf("after the server closed the connection: %d, %v", a.status, err)
	}
	mu.Lock()
	n := calls - before
	mu.Unlock()
	if n != 1 {
		t.Fatalf("the server saw the request %d times", n)
	}
}

// A cancelled run does not wait for an answer that never comes.
func TestWireConnStopsWithItsContext(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/inbox", bytes.NewReader([]byte("{}")))
	w, err := newWireRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := newWireConn(ctx, time.Minute)
	defer c.Close()
	time.AfterFunc(100*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() { _, err := c.Do(w); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("an unanswered request succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request outlived its context")
	}
}
