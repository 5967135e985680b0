package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"time"
)

// The senders of pre-signed requests write each request's bytes, made
// once before the clock starts, on a keep-alive connection of their own
// and read the answer's status line and headers in place: no request,
// header map or body reader is built per request, and no goroutine of
// a transport hands the request and its answer along. The node reads
// the same bytes net/http would have sent (Request.Write is what the
// transport writes, without an Accept-Encoding since the tool asks for
// no compression), so what it does per request is unchanged; the tool's
// share of the machine's two cores shrinks.

// wireRequest is a request as it goes on the wire.
type wireRequest struct {
	addr string // host:port to dial
	wire []byte // request line, headers and body
}

// newWireRequest serializes req (its body included) as an HTTP/1.1
// client sends it.
func newWireRequest(req *http.Request) (wireRequest, error) {
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		return wireRequest{}, fmt.Errorf("serialize %s: %w", req.URL, err)
	}
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	return wireRequest{addr: addr, wire: b.Bytes()}, nil
}

// wireConn is one sender's keep-alive connection; it is not safe for
// concurrent use.
type wireConn struct {
	ctx     context.Context
	timeout time.Duration // per request, from the write to the end of the answer
	addr    string
	conn    net.Conn
	br      *bufio.Reader
	stop    func() bool // unregisters the context's close
	used    bool        // a request was answered on conn
}

// wireAnswer is what a sender needs of an answer.
type wireAnswer struct {
	status     int
	retryAfter string // the Retry-After header, if any
}

func newWireConn(ctx context.Context, timeout time.Duration) *wireConn {
	return &wireConn{ctx: ctx, timeout: timeout}
}

// Close closes the connection, if one is open.
func (c *wireConn) Close() {
	if c.conn != nil {
		c.stop()
		c.conn.Close()
		c.conn, c.br, c.used = nil, nil, false
	}
}

func (c *wireConn) dial(addr string) error {
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(c.ctx, "tcp", addr)
	if err != nil {
		return err
	}
	c.addr, c.conn, c.used = addr, conn, false
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, 4096)
	} else {
		c.br.Reset(conn)
	}
	// A cancelled run must not wait out a blocked read, nor send on:
	// closing the connection ends both, where a deadline in the past
	// would be moved again by the next request's.
	c.stop = context.AfterFunc(c.ctx, func() { _ = conn.Close() })
	return nil
}

// Do writes r and reads its answer, discarding the body. A connection
// the server closed while idle (the write fails, or the answer ends
// before its first byte) is dialled again and the request sent once
// more, as net/http's transport does; anything else is an error and the
// connection is dropped.
func (c *wireConn) Do(r wireRequest) (wireAnswer, error) {
	for attempt := 0; ; attempt++ {
		if err := c.ctx.Err(); err != nil {
			c.Close()
			return wireAnswer{}, err
		}
		if c.conn != nil && c.addr != r.addr {
			c.Close()
		}
		if c.conn == nil {
			if err := c.dial(r.addr); err != nil {
				return wireAnswer{}, err
			}
		}
		reused := c.used
		a, started, err := c.roundTrip(r)
		if err == nil {
			c.used = c.conn != nil
			return a, nil
		}
		c.Close()
		if !reused || started || attempt > 0 || c.ctx.Err() != nil {
			return wireAnswer{}, err
		}
	}
}

// roundTrip sends r on the open connection and reads the answer;
// started says whether any of the answer arrived.
func (c *wireConn) roundTrip(r wireRequest) (a wireAnswer, started bool, err error) {
	if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return a, false, err
	}
	if _, err := c.conn.Write(r.wire); err != nil {
		return a, false, err
	}
	// Interim answers (100 Continue, 103 Early Hints) may come first,
	// each a head with no body; the request's answer is the final one.
	// Like net/http's client, read past a few only.
	var h answerHead
	for n := 0; ; n++ {
		h, started, err = c.readHead()
		if err != nil {
			return h.wireAnswer, started || n > 0, err
		}
		if h.status >= 200 || h.status == http.StatusSwitchingProtocols {
			break
		}
		if n == maxInterimAnswers {
			return h.wireAnswer, true, fmt.Errorf("%d interim answers and no final one", n+1)
		}
	}
	switch status := h.status; {
	case status == http.StatusNoContent || status == http.StatusNotModified || status < 200:
	case h.chunked:
		if _, err = io.Copy(io.Discard, httputil.NewChunkedReader(c.br)); err == nil {
			err = c.skipTrailer()
		}
	case h.length >= 0:
		_, err = c.br.Discard(int(h.length))
	default:
		// No length: the body runs to the end of the connection.
		_, err = io.Copy(io.Discard, c.br)
		h.closing = true
	}
	if err != nil {
		return h.wireAnswer, true, fmt.Errorf("read the answer's body: %w", err)
	}
	if h.closing {
		c.Close()
	}
	return h.wireAnswer, true, nil
}

// maxInterimAnswers is how many 1xx answers a request may have before
// its final one (net/http's client allows five).
const maxInterimAnswers = 5

// answerHead is an answer's status line and the headers a sender needs.
type answerHead struct {
	wireAnswer
	length           int64 // Content-Length; -1 if none
	chunked, closing bool
}

// readHead reads an answer's status line and headers; started says
// whether any of it arrived.
func (c *wireConn) readHead() (h answerHead, started bool, err error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return h, len(line) > 0, err
	}
	if h.status, err = parseStatusLine(line); err != nil {
		return h, true, err
	}
	h.length = -1
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return h, true, fmt.Errorf("read the answer's headers: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return h, true, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return h, true, fmt.Errorf("malformed header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if h.length, err = strconv.ParseInt(string(value), 10, 64); err != nil || h.length < 0 {
				return h, true, fmt.Errorf("bad Content-Length %q", value)
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			h.chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "Connection"):
			h.closing = asciiEqualFold(value, "close")
		case asciiEqualFold(name, "Retry-After"):
			h.retryAfter = string(value)
		}
	}
}

// skipTrailer reads the trailer of a chunked body, up to its empty line.
func (c *wireConn) skipTrailer() error {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return nil
		}
	}
}

// parseStatusLine reads the status code of "HTTP/1.1 202 Accepted".
func parseStatusLine(line []byte) (int, error) {
	if !bytes.HasPrefix(line, []byte("HTTP/1.")) || len(line) < 12 || line[8] != ' ' {
		return 0, fmt.Errorf("malformed status line %q", line)
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("malformed status line %q", line)
	}
	return code, nil
}

// asciiEqualFold compares a header name or token with s, ignoring ASCII
// case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
