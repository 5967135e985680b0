package main

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/skein-forum/skein/cmd/skein/skeintest"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// seedData fills a data directory with the standard fixtures, a pending
// registration and a report, and closes the database again so the
// binary has it to itself.
func seedData(t *testing.T) (string, *storagetest.Fixtures, *storage.Report) {
	t.Helper()
	data := t.TempDir()
	ctx := context.Background()
	s, err := storage.Open(ctx, storage.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	fx := storagetest.Seed(t, s)
	if _, err := s.CreateMember(ctx, storage.NewMember{Handle: "newbie", ApprovalPending: true}); err != nil {
		t.Fatal(err)
	}
	apID := "https://social.example/users/dana"
	if _, err := s.UpsertRemoteAccount(ctx, &storage.Account{Handle: "dana", Domain: "social.example", APID: &apID}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.CreateReport(ctx, storage.NewReport{ReporterID: fx.Alice.ID, PostID: &fx.Posts[1].ID, Reason: "rude\nand loud"})
	if err != nil {
		t.Fatal(err)
	}
	return data, fx, rep
}

// ok runs a command that must succeed and print want.
func ok(t *testing.T, want string, args ...string) string {
	t.Helper()
	code, out, errs := skein(t, "", args...)
	if code != 0 || !strings.Contains(out, want) {
		t.Fatalf("skein %v: exit %d, stdout %q, stderr %q; want %q", args, code, out, errs, want)
	}
	return out
}

// fails runs a command that must exit with code and say want on stderr.
func fails(t *testing.T, code int, want string, args ...string) {
	t.Helper()
	got, _, errs := skein(t, "", args...)
	if got != code || !strings.Contains(errs, want) {
		t.Fatalf("skein %v: exit %d, stderr %q; want %d and %q", args, got, errs, code, want)
	}
}

func TestModerationCommands(t *testing.T) {
	data, fx, rep := seedData(t)
	d := []string{"--data", data}
	with := func(args ...string) []string { return append(args, d...) }

	// Domains.
	ok(t, "blocked spam.example (suspend)", with("domain", "block", "spam.example", "--severity", "suspend", "--reason", "Spam waves", "--note", "ticket 7")...)
	ok(t, "blocked social.example (silence)", with("domain", "block", "social.example", "--severity", "silence")...)
	out := ok(t, "spam.example", with("domain", "list")...)
	for _, want := range []string{"suspend", "Spam waves", "ticket 7", "social.example", "silence"} {
		if !strings.Contains(out, want) {
			t.Errorf("domain list lacks %q:\n%s", want, out)
		}
	}
	fails(t, 1, "want silence or suspend", with("domain", "block", "x.example", "--severity", "ban")...)
	fails(t, 2, "want 1 argument", with("domain", "block", "--severity", "silence")...)
	ok(t, "unblocked social.example", with("domain", "unblock", "social.example")...)
	fails(t, 1, "no block", with("domain", "unblock", "social.example")...)
	ok(t, "allowed friends.example", with("domain", "allow", "friends.example")...)
	ok(t, "friends.example", with("domain", "list")...)

	// Members and remote actors.
	ok(t, "suspended bob", with("user", "suspend", "bob")...)
	ok(t, "unsuspended bob", with("user", "unsuspend", "bob")...)
	ok(t, "silenced dana@social.example", with("user", "silence", "dana@social.example")...)
	ok(t, "changed the role of bob to moderator", with("user", "role", "bob", "moderator")...)
	fails(t, 1, "unknown role", with("user", "role", "bob", "king")...)
	fails(t, 2, "want 2 argument", with("user", "role", "bob")...)
	fails(t, 1, "not found", with("user", "suspend", "nobody")...)
	ok(t, "approved newbie", with("user", "approve", "newbie")...)
	if out := ok(t, "bob", with("user", "list")...); !strings.Contains(out, "moderator") {
		t.Errorf("user list does not show bob's new role:\n%s", out)
	}

	// Forums and threads.
	ok(t, "created forum garden", with("forum", "create", "garden", "--title", "The Garden")...)
	ok(t, "updated forum kitchen (Kitchen & Bakery, position 9)", with("forum", "edit", "kitchen", "--title", "Kitchen & Bakery", "--position", "9")...)
	fails(t, 2, "whole number", with("forum", "edit", "kitchen", "--position", "last")...)
	ok(t, "moved thread "+fx.Thread.ID.String()+" to garden", with("thread", "move", fx.Thread.ID.String(), "garden")...)
	fails(t, 2, "not a thread id", with("thread", "move", "NOPE!", "garden")...)
	out = ok(t, "garden", with("forum", "list")...)
	if !strings.Contains(out, "Kitchen & Bakery") {
		t.Errorf("forum list:\n%s", out)
	}

	// Reports.
	out = ok(t, rep.ID.String(), with("report", "list")...)
	if !strings.Contains(out, "rude and loud") || !strings.Contains(out, "alice") || !strings.Contains(out, "bob") {
		t.Errorf("report list:\n%s", out)
	}
	fails(t, 1, "unknown report action", with("report", "resolve", rep.ID.String(), "--action", "shrug")...)
	ok(t, "report "+rep.ID.String()+": delete", with("report", "resolve", rep.ID.String(), "--action", "delete")...)
	if out := ok(t, "ID", with("report", "list")...); strings.Contains(out, rep.ID.String()) {
		t.Errorf("resolved report still listed as open:\n%s", out)
	}
	ok(t, rep.ID.String(), with("report", "list", "--status", "resolved")...)

	// The audit log has it all, by the operator.
	out = ok(t, "operator", with("audit", "--limit", "100")...)
	for _, want := range []string{"domain.block", "domain.unblock", "domain.allow", "account.suspend", "account.unsuspend",
		"account.silence", "account.role", "account.approve", "forum.create", "forum.update", "thread.move",
		"post.remove", "report.resolve"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks %s:\n%s", want, out)
		}
	}
	fails(t, 2, "unknown subcommand", with("domain", "purge", "x")...)
	for _, args := range [][]string{{"domain", "--help"}, {"report", "--help"}, {"thread", "--help"}, {"audit", "--help"}} {
		if code, out, _ := skein(t, "", args...); code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
}

func TestServeFlagsForOperations(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--federation", "closed"}, "--federation must be open or allowlist"},
		{[]string{"serve", "--trusted-proxy", "10.0.0.0/99"}, "--trusted-proxy"},
		{[]string{"serve", "--metrics-listen", "9090"}, "--metrics-listen"},
	} {
		fails(t, 2, c.want, c.args...)
	}
	_, out, _ := skein(t, "", "serve", "--help")
	for _, flag := range []string{"-federation", "-trusted-proxy", "-metrics-listen", "approval"} {
		if !strings.Contains(out, flag) {
			t.Errorf("serve --help does not mention %s", flag)
		}
	}
}

// serve with --metrics-listen answers /metrics there and only there.
func TestServeMetricsListener(t *testing.T) {
	addr, maddr := skeintest.FreeAddr(t), skeintest.FreeAddr(t)
	cmd := exec.Command(binary, "serve", "--listen", addr, "--metrics-listen", maddr, "--data", t.TempDir(),
		"--trusted-proxy", "127.0.0.1", "--registration", "approval", "--federation", "allowlist", "--log-format", "json")
	done, logs := startServe(t, cmd)
	t.Cleanup(func() { cmd.Process.Kill() })
	waitReady(t, "http://"+addr+"/readyz", done, logs)
	// Twice on one connection: the server counts the first request
	// before it reads the second, so the first is counted by now.
	get(t, http.DefaultClient, "http://"+addr+"/")
	get(t, http.DefaultClient, "http://"+addr+"/")
	body := get(t, http.DefaultClient, "http://"+maddr+"/metrics")
	for _, want := range []string{`skein_http_requests_total{code="2xx",route="GET /{$}"}`, "skein_inbox_rejected_total",
		"skein_deliveries_total", "skein_queue_depth", "go_sql_open_connections"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("public listener answers /metrics with %d", resp.StatusCode)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	<-done
	if !strings.Contains(logs.String(), `"msg":"request"`) || !strings.Contains(logs.String(), `"route":"GET /{$}"`) {
		t.Errorf("no JSON request line:\n%s", logs.String())
	}
}
