package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
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

// Interim answers (100 Continue, 103 Early Hints) are read past: the
// request's answer is the final one, and the connection stays usable for
// the next request. A server that sends nothing but interim answers is
// an error, not a wait.
func TestWireConnReadsPastInterimAnswers(t *testing.T) {
	answers := []string{
		"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
			"HTTP/1.1 202 Accepted\r\nContent-Length: 6\r\n\r\nqueued",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n" +
			"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
	}
	for range 6 {
		answers = append(answers, "HTTP/1.1 103 Early Hints\r\n\r\n")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if i == 3 {
						// Only interim answers: the rest must not matter.
						_, _ = io.WriteString(conn, answers[3]+answers[4]+answers[5]+answers[6]+answers[7]+answers[8])
						continue
					}
					_, _ = io.WriteString(conn, answers[min(i, 2)])
				}
			}()
		}
	}()
	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/inbox", bytes.NewReader([]byte("{}")))
	w, err := newWireRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	c := newWireConn(context.Background(), 10*time.Second)
	defer c.Close()
	for i, want := range []wireAnswer{{status: 202}, {status: 503, retryAfter: "2"}, {status: 202}} {
		a, err := c.Do(w)
		if err != nil || a != want {
			t.Fatalf("request %d: %+v, %v; want %+v", i+1, a, err, want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for three requests, want 1", n)
	}
	if a, err := c.Do(w); err == nil {
		t.Fatalf("six interim answers and no final one: %+v, no error", a)
	}
}

// A sender cancelled between two requests stops at the next one: it does
// not send it and wait out the timeout for an answer that never comes.
func TestWireConnStopsWhenCancelledBetweenRequests(t *testing.T) {
	block := make(chan struct{})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 {
			<-block
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	defer close(block)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/inbox", bytes.NewReader([]byte("{}")))
	w, err := newWireRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	const timeout = 10 * time.Second
	c := newWireConn(ctx, timeout)
	defer c.Close()
	if a, err := c.Do(w); err != nil || a.status != http.StatusAccepted {
		t.Fatalf("first request: %+v, %v", a, err)
	}
	cancel()
	// Once the cancel has reached the idle connection, a read of it
	// fails at once (it reads nothing: the server has sent all it will).
	_, _ = c.conn.Read(make([]byte, 1))
	start := time.Now()
	done := make(chan error, 1)
	go func() { _, err := c.Do(w); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a request after the cancel succeeded")
		}
		if waited := time.Since(start); waited >= timeout {
			t.Fatalf("the cancelled sender waited out its timeout (%s): %v", timeout, err)
		}
	case <-time.After(2 * timeout):
		t.Fatal("the cancelled sender never returned")
	}
}
