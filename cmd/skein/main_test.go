package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skein-forum/skein/cmd/skein/skeintest"
)

// binary is the skein command built once for the tests that drive it as
// an admin would.
var binary string

func TestMain(m *testing.M) {
	var err error
	if binary, err = skeintest.Binary(); err != nil {
		fmt.Fprintf(os.Stderr, "build skein: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	skeintest.Cleanup()
	os.Exit(code)
}

// skein runs the binary and returns its exit code, stdout and stderr.
func skein(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run skein %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	data := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--no-such-flag"}, "flag provided but not defined"},
		{[]string{"serve", "--registration", "sometimes"}, "--registration must be open, approval or closed"},
		{[]string{"serve", "--listen", "nonsense"}, "want HOST:PORT"},
		{[]string{"serve", "--inbox-host-rate", "0"}, "--inbox-host-rate must be at least 1, or -1 for no limit"},
		{[]string{"serve", "--inbox-actor-rate", "-5"}, "--inbox-actor-rate must be at least 1, or -1 for no limit"},
		{[]string{"user"}, "missing subcommand"},
		{[]string{"user", "create", "--data", data}, "want 1 argument"},
		{[]string{"forum", "create", "x", "--data", data}, "want SLUG and --title"},
		{[]string{"frobnicate"}, "unknown command"},
	}
	for _, c := range cases {
		code, _, stderr := skein(t, "", c.args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c.args, code, stderr)
		}
		if !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: stderr %q, want one line containing %q", c.args, stderr, c.want)
		}
	}
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"user", "create", "--help"}, {"forum", "--help"}} {
		code, stdout, _ := skein(t, "", args...)
		if code != 0 || !strings.Contains(stdout, "Usage") {
			t.Errorf("%v: exit %d, stdout %q", args, code, stdout)
		}
	}
	_, stdout, _ := skein(t, "", "serve", "--help")
	for _, flag := range []string{"-listen", "-base-url", "-data", "-database-url", "-registration", "-allow-private-networks", "-allow-http", "-inbox-host-rate", "-inbox-actor-rate", "SKEIN_INBOX_HOST_RATE"} {
		if !strings.Contains(stdout, flag) {
			t.Errorf("serve --help does not mention %s", flag)
		}
	}
}

func TestEnvironmentConfiguresFlags(t *testing.T) {
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(os.Environ(), "SKEIN_REGISTRATION=maybe")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(errb.String(), `"maybe"`) {
		t.Fatalf("SKEIN_REGISTRATION=maybe: %v, %q", err, errb.String())
	}
}

// An admin's first day: create an admin and a forum from the shell, start
// the node, use it over HTTP, stop it with SIGTERM.
func TestAdminScriptsAndServe(t *testing.T) {
	data := t.TempDir()
	if code, out, errs := skein(t, "a long enough password\n", "user", "create", "root_admin", "--admin", "--data", data, "--create"); code != 0 || !strings.Contains(out, "created admin root_admin") {
		t.Fatalf("user create: %d %q %q", code, out, errs)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("another fine password\n"), 0o600)
	if code, out, errs := skein(t, "", "user", "create", "carol", "--password-file", pwFile, "--data", data); code != 0 || !strings.Contains(out, "created member carol") {
		t.Fatalf("user create with file: %d %q %q", code, out, errs)
	}
	if code, _, errs := skein(t, "short\n", "user", "create", "dave", "--data", data); code != 1 || !strings.Contains(errs, "at least 10") {
		t.Fatalf("short password: %d %q", code, errs)
	}
	if code, _, errs := skein(t, "a long enough password\n", "user", "create", "carol", "--data", data); code != 1 || !strings.Contains(errs, "taken") {
		t.Fatalf("duplicate member: %d %q", code, errs)
	}
	if code, out, errs := skein(t, "", "forum", "create", "garden", "--title", "The Garden", "--description", "Seeds and soil.", "--data", data); code != 0 || !strings.Contains(out, "created forum garden") {
		t.Fatalf("forum create: %d %q %q", code, out, errs)
	}
	_, out, _ := skein(t, "", "forum", "list", "--data", data)
	if !strings.Contains(out, "garden") || !strings.Contains(out, "The Garden") {
		t.Fatalf("forum list: %q", out)
	}
	_, out, _ = skein(t, "", "user", "list", "--data", data)
	if !strings.Contains(out, "root_admin") || !strings.Contains(out, "admin") || !strings.Contains(out, "carol") {
		t.Fatalf("user list: %q", out)
	}
	if code, out, errs := skein(t, "yet another password\n", "user", "set-password", "carol", "--data", data); code != 0 || !strings.Contains(out, "password changed") {
		t.Fatalf("set-password: %d %q %q", code, out, errs)
	}
	if code, out, _ := skein(t, "", "migrate", "--data", data); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %d %q", code, out)
	}

	addr := skeintest.FreeAddr(t)
	base := "http://" + addr
	cmd := exec.Command(binary, "serve", "--listen", addr, "--base-url", base, "--data", data)
	done, logs := startServe(t, cmd)
	t.Cleanup(func() { cmd.Process.Kill() })
	waitReady(t, base+"/readyz", done, logs)

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	home := get(t, client, base+"/")
	if !strings.Contains(home, "The Garden") {
		t.Fatalf("home page does not list the forum:\n%s", home)
	}
	// Sign in as the admin created from the shell; same-origin POST.
	form := url.Values{"handle": {"root_admin"}, "password": {"a long enough password"}}
	req, _ := http.NewRequest("POST", base+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign in: status %d", resp.StatusCode)
	}
	forum := get(t, client, base+"/f/garden")
	if !strings.Contains(forum, "Seeds and soil.") || !strings.Contains(forum, "root_admin") {
		t.Fatalf("forum page for a signed-in admin lacks the description or the member:\n%s", forum)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM; logs:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
	for _, want := range []string{"skein is running", "stopped", "path=/f/garden"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "a long enough password") {
		t.Error("a password reached the logs")
	}
}

// A fresh data directory: serve creates the database, a first forum, and
// tells the admin how to create an account.
func TestServeOnFreshDirectory(t *testing.T) {
	data := filepath.Join(t.TempDir(), "skein-data")
	addr := skeintest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--listen", addr, "--data", data)
	done, logs := startServe(t, cmd)
	waitReady(t, "http://"+addr+"/readyz", done, logs)
	home := get(t, http.DefaultClient, "http://"+addr+"/")
	if !strings.Contains(home, "General") {
		t.Fatalf("no first forum on the home page:\n%s", home)
	}
	cmd.Process.Signal(os.Interrupt)
	<-done
	for _, want := range []string{"created a first forum", "skein user create NAME --admin", "url=http://localhost:",
		"mail is off", "no address verification, password reset"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
	if n := strings.Count(logs.String(), "mail is off"); n != 1 {
		t.Errorf("the mail warning appears %d times, want once", n)
	}
	if _, err := os.Stat(filepath.Join(data, "skein.db")); err != nil {
		t.Errorf("no database file: %v", err)
	}
}

// startServe starts cmd, a skein serve, with its log kept; done reports
// its exit.
func startServe(t *testing.T, cmd *exec.Cmd) (done <-chan error, logs *bytes.Buffer) {
	t.Helper()
	logs = new(bytes.Buffer)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return exited, logs
}

func waitReady(t *testing.T, url string, done <-chan error, logs *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("node not ready at %s:\n%s", url, logs.String())
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", url, resp.StatusCode, b)
	}
	return string(b)
}

// skein backup copies a live node's database; the copy serves as a data
// directory of its own.
func TestBackupCommand(t *testing.T) {
	data := t.TempDir()
	if code, _, errs := skein(t, "a long enough password\n", "user", "create", "erin", "--data", data, "--create"); code != 0 {
		t.Fatalf("user create: %s", errs)
	}
	skein(t, "", "forum", "create", "attic", "--title", "The Attic", "--data", data)
	addr := skeintest.FreeAddr(t)
	cmd := exec.Command(binary, "serve", "--listen", addr, "--data", data)
	done, logs := startServe(t, cmd)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); <-done }()
	waitReady(t, "http://"+addr+"/readyz", done, logs)

	copyFile := filepath.Join(t.TempDir(), "copy.db")
	if code, out, errs := skein(t, "", "backup", copyFile, "--data", data); code != 0 || !strings.Contains(out, "backed up") {
		t.Fatalf("backup: %d %q %q", code, out, errs)
	}
	if code, _, errs := skein(t, "", "backup", copyFile, "--data", data); code != 1 || !strings.Contains(errs, "already exists") {
		t.Fatalf("second backup to the same file: %d %q", code, errs)
	}
	restored := t.TempDir()
	b, err := os.ReadFile(copyFile)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(restored, "skein.db"), b, 0o600)
	_, out, _ := skein(t, "", "forum", "list", "--data", restored)
	if !strings.Contains(out, "attic") {
		t.Fatalf("restored forums: %q", out)
	}
	_, out, _ = skein(t, "", "user", "list", "--data", restored)
	if !strings.Contains(out, "erin") {
		t.Fatalf("restored members: %q", out)
	}
}
