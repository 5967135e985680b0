package mail_test

import (
	"strings"
	"testing"

	"github.com/skein-forum/skein/mail"
)

func TestParseURL(t *testing.T) {
	cases := []struct {
		raw  string
		want mail.Config
		err  string
	}{
		{raw: "smtp://mail.example.org", want: mail.Config{Host: "mail.example.org", TLS: mail.TLSStartTLS}},
		{raw: "smtp://u%40x:p%3Aw@mail.example.org:2525", want: mail.Config{Host: "mail.example.org", Port: 2525,
			Username: "u@x", Password: "p:w", TLS: mail.TLSStartTLS}},
		{raw: "smtps://mail.example.org", want: mail.Config{Host: "mail.example.org", TLS: mail.TLSImplicit}},
		{raw: "smtp://127.0.0.1:25?tls=none", want: mail.Config{Host: "127.0.0.1", Port: 25, TLS: mail.TLSNone}},
		{raw: "http://mail.example.org", err: "want smtp:// or smtps://"},
		{raw: "smtp://", err: "no host"},
		{raw: "smtp://h?verify=no", err: "unknown parameter"},
		{raw: "smtp://h/path", err: "unexpected path"},
	}
	for _, c := range cases {
		got, err := mail.ParseURL(c.raw)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.raw, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", c.raw, got, err, c.want)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	c := mail.Config{Host: "mail.example.org", From: "Forum <forum@example.org>"}
	if err := c.Check(); err != nil || c.Port != 587 || c.TLS != mail.TLSStartTLS || c.Timeout == 0 {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	c = mail.Config{Host: "mail.example.org", TLS: mail.TLSImplicit, From: "forum@example.org"}
	if err := c.Check(); err != nil || c.Port != 465 {
		t.Errorf("implicit TLS port: %+v, %v", c, err)
	}
	c = mail.Config{Host: "mail.example.org"}
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "--smtp-from") {
		t.Errorf("no sender: %v", err)
	}
	c = mail.Config{Host: "mail.example.org", From: "not an address"}
	if err := c.Check(); err == nil {
		t.Error("a sender that is no address passed")
	}
	off := mail.Config{}
	if off.Enabled() || off.Check() != nil || off.String() != "off" {
		t.Errorf("zero config: enabled %v, check %v, %q", off.Enabled(), off.Check(), off.String())
	}
	c = mail.Config{Host: "h", Username: "u", Password: "secret", From: "a@b"}
	_ = c.Check()
	if strings.Contains(c.String(), "secret") {
		t.Errorf("String shows the password: %s", c.String())
	}
}
