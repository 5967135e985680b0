// Package mailtest runs a real SMTP server inside a test process
// (github.com/emersion/go-smtp) that keeps every message it accepts,
// parsed into its headers and its plain-text and HTML parts, and that can
// be told to refuse mail for a while, as a real server in trouble does.
package mailtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	skeinmail "github.com/skein-forum/skein/mail"
)

// Message is one accepted message.
type Message struct {
	From    string   // envelope sender
	To      []string // envelope recipients
	Header  netmail.Header
	Subject string // decoded
	Text    string // the text/plain part, decoded
	HTML    string // the text/html part, decoded
	Raw     []byte
}

// Sink is the server.
type Sink struct {
	Host string
	Port int

	srv *smtp.Server

	mu       sync.Mutex
	msgs     []Message
	refuse   *smtp.SMTPError // refuse at the end of DATA, after the content came
	rejected map[string]*smtp.SMTPError
	attempts int // DATA commands seen, accepted or not
	user     string
	password string
	arrived  chan struct{}
}

// Start runs a sink on a loopback port until the test ends.
func Start(t testing.TB) *Sink {
	t.Helper()
	s := &Sink{rejected: map[string]*smtp.SMTPError{}, arrived: make(chan struct{}, 1)}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sink: s}, nil }))
	s.srv.Domain = "sink.test"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtp sink: %v", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	s.Host, s.Port = "127.0.0.1", addr.Port
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Config is a mail configuration that sends to the sink without TLS.
func (s *Sink) Config(from string) skeinmail.Config {
	return skeinmail.Config{Host: s.Host, Port: s.Port, TLS: skeinmail.TLSNone, From: from, Timeout: 5 * time.Second,
		Username: s.user, Password: s.password}
}

// URL is the sink as --smtp-url takes it.
func (s *Sink) URL() string {
	return "smtp://" + net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) + "?tls=none"
}

// RequireAuth makes the sink accept mail only after AUTH PLAIN with these
// credentials.
func (s *Sink) RequireAuth(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.password = user, password
}

// RefuseFor answers every message with a temporary failure (451) once
// its content has been sent, until Accept.
func (s *Sink) RefuseFor() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "mailbox store busy, try later"}
}

// Accept ends RefuseFor.
func (s *Sink) Accept() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = nil
}

// RejectRecipient refuses one address for good (550) at RCPT TO.
func (s *Sink) RejectRecipient(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected[strings.ToLower(addr)] = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
}

// Attempts counts the messages whose content reached the sink, accepted
// or refused.
func (s *Sink) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// Messages returns what the sink accepted so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// To returns the accepted messages addressed to addr.
func (s *Sink) To(addr string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// Wait waits until the sink accepted at least n messages and returns
// them; it fails the test after timeout.
func (s *Sink) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if msgs := s.Messages(); len(msgs) >= n {
			return msgs
		}
		select {
		case <-s.arrived:
		case <-deadline.C:
			msgs := s.Messages()
			t.Fatalf("smtp sink: %d messages after %v, want %d", len(msgs), timeout, n)
			return msgs
		}
	}
}

// WaitTo waits for a message to addr whose subject contains subject.
func (s *Sink) WaitTo(t testing.TB, addr, subject string, timeout time.Duration) Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		for _, m := range s.To(addr) {
			if strings.Contains(m.Subject, subject) {
				return m
			}
		}
		select {
		case <-s.arrived:
		case <-deadline.C:
			var got []string
			for _, m := range s.Messages() {
				got = append(got, fmt.Sprintf("%v %q", m.To, m.Subject))
			}
			t.Fatalf("smtp sink: no message to %s about %q within %v; got %v", addr, subject, timeout, got)
			return Message{}
		}
	}
}

var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// Link returns the first link in the text part that contains part, or
// fails the test.
func (m Message) Link(t testing.TB, part string) string {
	t.Helper()
	for _, l := range linkPattern.FindAllString(m.Text, -1) {
		if strings.Contains(l, part) {
			return l
		}
	}
	t.Fatalf("message %q has no link containing %q:\n%s", m.Subject, part, m.Text)
	return ""
}

type session struct {
	sink   *Sink
	authed bool
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		ss.sink.mu.Lock()
		defer ss.sink.mu.Unlock()
		if username != ss.sink.user || password != ss.sink.password {
			return errors.New("invalid credentials")
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.sink.mu.Lock()
	needAuth := ss.sink.user != ""
	ss.sink.mu.Unlock()
	if needAuth && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.sink.mu.Lock()
	rej := ss.sink.rejected[strings.ToLower(to)]
	ss.sink.mu.Unlock()
	if rej != nil {
		return rej
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.sink
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if s.refuse != nil {
		return s.refuse
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unreadable message: " + err.Error()}
	}
	m.From, m.To = ss.from, append([]string(nil), ss.to...)
	s.msgs = append(s.msgs, m)
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// parse reads a message as a mail client would: the subject decoded, the
// text and HTML parts found in a multipart/alternative body.
func parse(raw []byte) (Message, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	m := Message{Header: msg.Header, Raw: raw}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Message{}, fmt.Errorf("subject: %w", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return Message{}, fmt.Errorf("content type: %w", err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		body, err := io.ReadAll(msg.Body)
		if err != nil {
			return Message{}, err
		}
		m.Text = string(body)
		return m, nil
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable parts
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Message{}, err
		}
		body, err := io.ReadAll(p)
		if err != nil {
			return Message{}, err
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			m.Text = string(body)
		case "text/html":
			m.HTML = string(body)
		}
	}
	return m, nil
}
