package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/skein-forum/skein/storage"
)

// sender carries messages to the configured SMTP server.
type sender struct {
	cfg    Config
	domain string
}

func newSender(cfg Config) (*sender, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	return &sender{cfg: cfg, domain: cfg.fromDomain()}, nil
}

func (s *sender) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.cfg.Timeout)}
	switch s.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.cfg.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.cfg.TLSConfig))
	} else {
		opts = append(opts, gomail.WithTLSConfig(&tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}))
	}
	if s.cfg.Username != "" {
		// Let the server's list pick the mechanism; go-mail refuses to
		// send a password in the clear unless told TLSNone was meant.
		auth := gomail.SMTPAuthAutoDiscover
		if s.cfg.TLS == TLSNone {
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

// message wraps a queued mail in MIME: a plain-text part and an HTML
// alternative, and the headers every message carries. Its Message-ID is
// made from the queue row's id, so a message sent again after a lost
// answer has the same id and receivers can tell it is one message.
func (s *sender) message(m *storage.Mail, now time.Time) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue("skein." + m.ID.String() + "@" + s.domain)
	msg.SetUserAgent("Skein")
	// RFC 3834: out-of-office replies should not answer a machine.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if m.UnsubscribeURL != "" {
		// RFC 8058 one-click unsubscribe. Mail clients only honour it
		// with an https link; a node on plain http (a test, a LAN) still
		// gets both headers, which do no harm.
		if strings.HasPrefix(m.UnsubscribeURL, "https://") {
			if err := msg.SetListUnsubscribeOneClick(m.UnsubscribeURL); err != nil {
				return nil, err
			}
		} else {
			msg.SetListUnsubscribe(m.UnsubscribeURL)
			msg.SetListUnsubscribePost()
		}
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}

// attempt is what became of one message.
type attempt struct {
	sent      bool
	permanent bool // the server refused it for good
	err       error
}

// send delivers messages over one connection, calling done after each
// attempt with its outcome; a message the server accepted counts as sent
// even when the connection failed right after. It stops early, leaving
// the rest unattempted, when ctx ends or ready says a message may no
// longer be sent; it returns how many were attempted.
func (s *sender) send(ctx context.Context, mails []storage.Mail, ready func(*storage.Mail) bool, done func(*storage.Mail, attempt)) int {
	c, err := s.client()
	if err != nil {
		for i := range mails {
			done(&mails[i], attempt{err: err})
		}
		return len(mails)
	}
	dialCtx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	conn, err := c.DialToSMTPClientWithContext(dialCtx)
	cancel()
	if err != nil {
		err = fmt.Errorf("connect to %s:%d: %w", s.cfg.Host, s.cfg.Port, err)
		for i := range mails {
			done(&mails[i], attempt{err: err})
		}
		return len(mails)
	}
	defer func() { _ = c.CloseWithSMTPClient(conn) }()
	for i := range mails {
		m := &mails[i]
		if ctx.Err() != nil || !ready(m) {
			return i
		}
		msg, err := s.message(m, time.Now())
		if err != nil {
			done(m, attempt{permanent: true, err: err})
			continue
		}
		err = c.SendWithSMTPClient(conn, msg)
		switch {
		case msg.IsDelivered():
			// The server took it; an error now (a failed RSET) is about
			// the connection, and sending again would duplicate it.
			done(m, attempt{sent: true})
		default:
			done(m, attempt{permanent: refusedForGood(err), err: err})
		}
	}
	return len(mails)
}

// refusedForGood reports whether the server refused a message with a
// permanent (5xx) answer to the recipient or to the message itself. A
// 5xx to MAIL FROM or to the connection usually means the node's own
// settings are wrong (authentication, sender address): those messages
// wait for the admin to fix it, as for an outage.
func refusedForGood(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.IsTemp() {
		return false
	}
	code := se.ErrorCode()
	if code < 500 || code > 599 {
		return false
	}
	switch se.Reason {
	case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		return true
	}
	return false
}
