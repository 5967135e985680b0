// Package mail sends the node's mail: it composes each kind of message
// (a plain-text and an HTML part from the templates in templates/), signs
// the links that work without signing in (unsubscribe), and runs the
// Worker that drains the storage mail queue through an SMTP server with
// github.com/wneessen/go-mail. What is queued, and when, is decided where
// the change happens, in storage's transactions; this package decides how
// a message looks and how it travels.
package mail

import (
	"crypto/tls"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Ways to secure the connection to the SMTP server.
const (
	// TLSStartTLS connects in plain text and upgrades with STARTTLS,
	// refusing a server that does not offer it (port 587).
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (port 465).
	TLSImplicit = "implicit"
	// TLSNone never encrypts: only for a relay on the same machine or a
	// test server.
	TLSNone = "none"
)

// Config is the SMTP server the node's mail goes through. The zero value
// (no Host) means mail is off.
type Config struct {
	Host     string
	Port     int // 0: 587 for STARTTLS, 465 for implicit TLS, 25 for none
	Username string
	Password string
	TLS      string // TLSStartTLS (the default when empty), TLSImplicit or TLSNone
	// From is the sender, "Name <address>" or an address.
	From string
	// Timeout bounds each network step; 0 means 30 s.
	Timeout time.Duration
	// TLSConfig, when set, replaces the default TLS settings (tests use
	// it to trust their own certificate).
	TLSConfig *tls.Config
}

// Enabled reports whether a server is configured.
func (c Config) Enabled() bool { return c.Host != "" }

// ParseURL reads a server given as one URL, the way --smtp-url takes it:
// smtp://user:password@host:port for STARTTLS, smtps://... for implicit
// TLS; ?tls=none turns encryption off (a local relay). The user and
// password are percent-decoded.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("smtp url: %w", err)
	}
	var c Config
	switch u.Scheme {
	case "smtp":
		c.TLS = TLSStartTLS
	case "smtps":
		c.TLS = TLSImplicit
	default:
		return Config{}, fmt.Errorf("smtp url: scheme %q: want smtp:// or smtps://", u.Scheme)
	}
	if u.Path != "" && u.Path != "/" {
		return Config{}, fmt.Errorf("smtp url: unexpected path %q", u.Path)
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return Config{}, fmt.Errorf("smtp url: no host")
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil {
			return Config{}, fmt.Errorf("smtp url: port %q", p)
		}
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	for k, v := range u.Query() {
		switch {
		case k == "tls" && len(v) == 1 && (v[0] == TLSNone || v[0] == TLSStartTLS || v[0] == TLSImplicit):
			c.TLS = v[0]
		default:
			return Config{}, fmt.Errorf("smtp url: unknown parameter %q (only tls=starttls|implicit|none)", k)
		}
	}
	return c, nil
}

// Check reports what is wrong with an enabled configuration, and fills in
// the defaults.
func (c *Config) Check() error {
	if !c.Enabled() {
		return nil
	}
	switch c.TLS {
	case "":
		c.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return fmt.Errorf("smtp tls %q: want starttls, implicit or none", c.TLS)
	}
	if c.Port == 0 {
		c.Port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[c.TLS]
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("smtp port %d: want 1 to 65535", c.Port)
	}
	if c.From == "" {
		return fmt.Errorf("mail needs a sender address (--smtp-from)")
	}
	if _, err := netmail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("smtp from %q: %w", c.From, err)
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	return nil
}

// fromDomain is the domain of the sender's address, which message ids
// end in.
func (c Config) fromDomain() string {
	a, err := netmail.ParseAddress(c.From)
	if err != nil {
		return "localhost"
	}
	if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
		return d
	}
	return "localhost"
}

// String describes the server without its password, for the log.
func (c Config) String() string {
	if !c.Enabled() {
		return "off"
	}
	user := ""
	if c.Username != "" {
		user = c.Username + "@"
	}
	return fmt.Sprintf("%s%s:%d (%s)", user, c.Host, c.Port, c.TLS)
}
