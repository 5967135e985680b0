// Package transport is the outbound HTTP client for talking to remote
// servers: fetching actors and objects and posting to inboxes.
//
// Every URL it is given comes from someone else's server, so it refuses to
// dial private, loopback and link-local addresses (checked on the resolved
// address at dial time, which also defeats DNS rebinding), refuses plain
// http, follows only a few redirects within the same origin, and bounds both
// the body size and the total time of each request.
package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// Defaults for zero Options fields.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultMaxBody   = 1 << 20
	DefaultUserAgent = "Skein"
	// DefaultMaxIdleConns bounds the idle connections kept over all
	// hosts; see New for why it is this large.
	DefaultMaxIdleConns = 4096
	maxRedirects        = 3
)

// Errors a caller may need to tell apart, for instance to stop retrying a
// delivery that can never succeed.
var (
	ErrBlockedAddress = errors.New("address not allowed")
	ErrInsecureScheme = errors.New("URL scheme not allowed")
	ErrTooLarge       = errors.New("response body too large")
	ErrRedirect       = errors.New("redirect not followed")
)

// StatusError is returned for a response outside 2xx.
type StatusError struct {
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("remote answered %d %s", e.Code, http.StatusText(e.Code))
}

// Options configure a Client. The zero value is the safe production setting.
type Options struct {
	// AllowPrivateNetworks turns off the address guard; for tests and
	// private deployments only.
	AllowPrivateNetworks bool
	// AllowHTTP permits http:// URLs; for tests and development only.
	AllowHTTP bool
	// Timeout bounds a whole request, body included. Default 10 s.
	Timeout time.Duration
	// MaxBody bounds a response body. Default 1 MiB.
	MaxBody int64
	// UserAgent is sent with every request. Default "Skein".
	UserAgent string
	// MaxIdleConns bounds the idle connections kept for reuse over all
	// hosts. Default DefaultMaxIdleConns.
	MaxIdleConns int
}

// Client sends requests to remote servers. It is safe for concurrent use.
type Client struct {
	opts      Options
	transport *http.Transport
}

// New returns a Client for opts.
func New(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.MaxIdleConns <= 0 {
		opts.MaxIdleConns = DefaultMaxIdleConns
	}

	dialer := &net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}
	if !opts.AllowPrivateNetworks {
		// Remote servers run on any port, and a public address is reachable
		// by anyone anyway; what matters is the address class.
		guard := ssrf.New(ssrf.WithAnyPort())
		dialer.Control = func(network, address string, c syscall.RawConn) error {
			if err := guard.Safe(network, address, c); err != nil {
				return fmt.Errorf("%w: %w", ErrBlockedAddress, err)
			}
			return nil
		}
	}

	t := http.DefaultTransport.(*http.Transport).Clone()
	// Through a proxy the guard would only ever see the proxy's address.
	t.Proxy = nil
	t.DialContext = dialer.DialContext
	t.MaxIdleConnsPerHost = 4
	// A cap on idle connections overall, and a large one. When a response
	// without a body arrives (an inbox's 202), net/http puts the
	// connection in the idle pool a moment before it hands the response
	// to the caller; a full pool closes the connection idle longest to
	// admit another, and when that is one whose response is still being
	// handed over, the caller gets "putIdleConn: too many idle
	// connections" for a request the server answered, and the activity is
	// sent again. With the 100 of Go's default transport, a fan-out to
	// hundreds of hosts with 256 POSTs in flight did that often: 100
	// other connections went idle within one hand-over. The connection
	// just put idle is the newest in the pool, so it can be closed only if
	// the whole pool turns over before its hand-over, the reading
	// goroutine's next few statements, completes: 4,095 other requests
	// finishing meanwhile. Without any cap, a node delivering to tens of
	// thousands of hosts kept a socket, two goroutines and their buffers
	// per host for IdleConnTimeout (90 s). The per-host limit is safe: a
	// connection over it is closed after its response is handed over.
	t.MaxIdleConns = opts.MaxIdleConns
	return &Client{opts: opts, transport: t}
}

// Get fetches url with the given Accept header and returns the body and the
// URL it was finally served from after redirects. sign, when not nil, signs
// the request, and again for each redirect since the signature covers the
// path.
func (c *Client) Get(ctx context.Context, url, accept string, sign func(*http.Request) error) (body []byte, finalURL string, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()

	req, err := c.newRequest(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if sign != nil {
		if err := sign(req); err != nil {
			return nil, "", fmt.Errorf("GET %s: sign: %w", req.URL.Redacted(), err)
		}
	}
	resp, body, err := c.do(req, func(next *http.Request) error {
		if sign == nil {
			return nil
		}
		return sign(next)
	})
	if err != nil {
		return nil, "", err
	}
	final := resp.Request.URL.String()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, final, fmt.Errorf("GET %s: %w", final, &StatusError{Code: resp.StatusCode})
	}
	return body, final, nil
}

// Post sends body to url with the given Content-Type. It returns the status
// and the response body, also when the status is outside 2xx, in which case
// err is a *StatusError. sign, when not nil, signs the request with its body.
func (c *Client) Post(ctx context.Context, url, contentType string, body []byte, sign func(*http.Request, []byte) error) (status int, respBody []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()

	req, err := c.newRequest(ctx, http.MethodPost, url, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	if sign != nil {
		if err := sign(req, body); err != nil {
			return 0, nil, fmt.Errorf("POST %s: sign: %w", req.URL.Redacted(), err)
		}
	}
	resp, respBody, err := c.do(req, func(next *http.Request) error {
		// 301-303 turn a POST into a bodiless GET, which would deliver
		// nothing; only 307/308 keep the method and body.
		if next.Method != http.MethodPost {
			return fmt.Errorf("%w: POST redirected as %s", ErrRedirect, next.Method)
		}
		if sign == nil {
			return nil
		}
		return sign(next, body)
	})
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, respBody, fmt.Errorf("POST %s: %w", resp.Request.URL.Redacted(), &StatusError{Code: resp.StatusCode})
	}
	return resp.StatusCode, respBody, nil
}

func (c *Client) newRequest(ctx context.Context, method, rawURL string, body []byte) (*http.Request, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", method, rawURL, err)
	}
	if err := c.checkScheme(u); err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s %s: URL has no host", method, u.Redacted())
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	return req, nil
}

func (c *Client) checkScheme(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if c.opts.AllowHTTP {
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrInsecureScheme, u.Scheme)
}

// do sends req, following at most maxRedirects redirects within the same
// scheme and host, calling onRedirect to re-sign each, and reads the body
// up to MaxBody. The caller's context deadline covers the body read too.
func (c *Client) do(req *http.Request, onRedirect func(*http.Request) error) (*http.Response, []byte, error) {
	client := &http.Client{
		Transport: c.transport,
		CheckRedirect: func(next *http.Request, via []*http.Request) error {
			first := via[0].URL
			if len(via) > maxRedirects {
				return fmt.Errorf("%w: more than %d redirects", ErrRedirect, maxRedirects)
			}
			// Another origin could be an internal name that passes the
			// address guard's view of it, or just someone else's server
			// receiving our signed request; neither is acceptable.
			if next.URL.Scheme != first.Scheme || next.URL.Host != first.Host {
				return fmt.Errorf("%w: %s redirects to another origin %s", ErrRedirect, first.Redacted(), next.URL.Redacted())
			}
			if err := onRedirect(next); err != nil {
				return fmt.Errorf("redirect to %s: %w", next.URL.Redacted(), err)
			}
			return nil
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()

	if resp.ContentLength > c.opts.MaxBody {
		return nil, nil, fmt.Errorf("%s %s: %w: Content-Length %d, limit %d", req.Method, resp.Request.URL.Redacted(), ErrTooLarge, resp.ContentLength, c.opts.MaxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read body: %w", req.Method, resp.Request.URL.Redacted(), err)
	}
	if int64(len(body)) > c.opts.MaxBody {
		return nil, nil, fmt.Errorf("%s %s: %w: limit %d", req.Method, resp.Request.URL.Redacted(), ErrTooLarge, c.opts.MaxBody)
	}
	return resp, body, nil
}

// Transient reports whether a request failed for a reason that may pass
// by itself, so that the same request is worth trying again later: a
// timeout, a refused or reset connection, a DNS failure other than "no
// such host", or a 5xx, 429 or 408 answer. A refused address, a 4xx, a
// body too large or a redirect are the remote's settled answer.
func Transient(err error) bool {
	if err == nil || errors.Is(err, ErrBlockedAddress) || errors.Is(err, ErrInsecureScheme) ||
		errors.Is(err, ErrTooLarge) || errors.Is(err, ErrRedirect) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code >= 500 || se.Code == http.StatusTooManyRequests || se.Code == http.StatusRequestTimeout
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return !dns.IsNotFound
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
