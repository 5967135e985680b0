package main

import (
	"fmt"

	"github.com/skein-forum/skein/mail"
)

// smtpFlags are serve's mail settings: one --smtp-url, or the server's
// parts one flag each (a part given as a flag wins over the URL's).
type smtpFlags struct {
	url, host, user, password, tls, from string
	port                                 int
}

func (s *smtpFlags) register(f *flagSet) {
	f.String(&s.url, "smtp-url", "", "SMTP server for the node's mail: smtp://USER:PASSWORD@HOST:PORT (STARTTLS) or smtps://... (TLS); empty with no --smtp-host: mail is off")
	f.String(&s.host, "smtp-host", "", "SMTP server host (instead of --smtp-url)")
	f.Int(&s.port, "smtp-port", 0, "SMTP server port (default 587 for STARTTLS, 465 for TLS, 25 for none)")
	f.String(&s.user, "smtp-user", "", "SMTP user name")
	f.String(&s.password, "smtp-password", "", "SMTP password (prefer the environment variable to the flag)")
	f.String(&s.tls, "smtp-tls", "", "starttls (required, the default), implicit (TLS from the start) or none (a relay on this machine only)")
	f.String(&s.from, "smtp-from", "", `sender of the node's mail, e.g. "Kitchen Forum <forum@example.org>" (required with mail)`)
}

// config builds the mail configuration; mail is off when neither a URL
// nor a host is given.
func (s *smtpFlags) config() (mail.Config, error) {
	var c mail.Config
	if s.url != "" {
		var err error
		if c, err = mail.ParseURL(s.url); err != nil {
			return mail.Config{}, fmt.Errorf("--smtp-url: %w", err)
		}
	}
	if s.host != "" {
		c.Host = s.host
	}
	if !c.Enabled() {
		if s.port != 0 || s.user != "" || s.password != "" || s.tls != "" || s.from != "" {
			return mail.Config{}, fmt.Errorf("SMTP settings without a server: set --smtp-url or --smtp-host")
		}
		return c, nil
	}
	if s.port != 0 {
		c.Port = s.port
	}
	if s.user != "" {
		c.Username = s.user
	}
	if s.password != "" {
		c.Password = s.password
	}
	if s.tls != "" {
		c.TLS = s.tls
	}
	c.From = s.from
	if err := c.Check(); err != nil {
		return mail.Config{}, err
	}
	return c, nil
}
