package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/cmd/skein/skeintest"
	"github.com/skein-forum/skein/mail/mailtest"
)

func TestSMTPFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--smtp-host", "mail.example.org"}, "--smtp-from"},
		{[]string{"serve", "--smtp-url", "http://mail.example.org", "--smtp-from", "a@b.test"}, "want smtp:// or smtps://"},
		{[]string{"serve", "--smtp-from", "a@b.test"}, "SMTP settings without a server"},
		{[]string{"serve", "--smtp-host", "h", "--smtp-from", "a@b.test", "--smtp-tls", "maybe"}, "want starttls, implicit or none"},
		{[]string{"serve", "--require-email"}, "--require-email needs mail"},
	}
	for _, c := range cases {
		code, _, stderr := skein(t, "", c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	_, out, _ := skein(t, "", "serve", "--help")
	for _, flag := range []string{"--smtp-url", "SKEIN_SMTP_URL", "--smtp-from", "SKEIN_SMTP_PASSWORD", "--require-email"} {
		if !strings.Contains(out, strings.TrimPrefix(flag, "-")) {
			t.Errorf("serve --help lacks %s", flag)
		}
	}
}

// The real binary, configured through the environment twins of the
// flags, mails a registration's verification link to a real SMTP server.
func TestServeSendsMailConfiguredByEnvironment(t *testing.T) {
	sink := mailtest.Start(t)
	addr := skeintest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--listen", addr, "--data", t.TempDir())
	cmd.Env = append(os.Environ(), "SKEIN_SMTP_URL="+sink.URL(), "SKEIN_SMTP_FROM=Forum <forum@forum.test>")
	done, logs := startServe(t, cmd)
	base := "http://" + addr
	waitReady(t, base+"/readyz", done, logs)
	form := url.Values{"handle": {"nia"}, "email": {"nia@example.test"}, "password": {"a long enough password"},
		"password2": {"a long enough password"}}
	req, _ := http.NewRequest(http.MethodPost, base+"/register", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("register: %d", resp.StatusCode)
	}
	msg := sink.WaitTo(t, "nia@example.test", "Confirm your address", 10*time.Second)
	if link := msg.Link(t, "/verify-email/"); !strings.HasPrefix(link, "http://localhost:") {
		t.Errorf("link %q is not on the node's base URL", link)
	}
	cmd.Process.Signal(os.Interrupt)
	<-done
	if strings.Contains(logs.String(), "mail is off") || !strings.Contains(logs.String(), "mail is on") {
		t.Errorf("logs:\n%s", logs.String())
	}
}
