package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skein-forum/skein/cmd/skein/skeintest"
	"github.com/skein-forum/skein/storage"
)

// The CLI works on an existing database: a wrong --data says so and
// creates nothing, unless --create asks for a new one.
func TestCLIRefusesMissingDatabase(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "typo-data")
	for _, args := range [][]string{
		{"user", "list", "--data", missing},
		{"forum", "list", "--data", missing},
		{"migrate", "--data", missing},
		{"domain", "list", "--data", missing},
		{"user", "create", "zed", "--data", missing},
	} {
		code, _, stderr := skein(t, "a long enough password\n", args...)
		if code != 1 || !strings.Contains(stderr, "there is no Skein database in "+missing) || !strings.Contains(stderr, "--create") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(missing, storage.SQLiteFile)); err == nil {
		t.Fatal("a refused command created the database")
	}
	if code, out, errs := skein(t, "", "forum", "list", "--data", missing, "--create"); code != 0 || !strings.Contains(out, "SLUG") {
		t.Fatalf("--create: %d %q %q", code, out, errs)
	}
	if code, _, errs := skein(t, "", "user", "list", "--data", missing); code != 0 {
		t.Errorf("after --create the database is there: %d %q", code, errs)
	}
}

// A reserved name is said to be reserved, not taken, before any password
// is asked for.
func TestReservedNameIsReserved(t *testing.T) {
	data := t.TempDir()
	code, _, stderr := skein(t, "a long enough password\n", "user", "create", "admin", "--data", data, "--create")
	if code != 1 || !strings.Contains(stderr, "that name is reserved") || strings.Contains(stderr, "taken") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// The first run's log line gives a command that works as printed, with
// the --data in use; run, it creates the admin.
func TestFirstRunCommandWorksAsPrinted(t *testing.T) {
	data := filepath.Join(t.TempDir(), "my data")
	addr := skeintest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--listen", addr, "--data", data, "--site-name", "The Kitchen")
	done, logs := startServe(t, cmd)
	waitReady(t, "http://"+addr+"/readyz", done, logs)
	home := get(t, http.DefaultClient, "http://"+addr+"/")
	if !strings.Contains(home, "<title>The Kitchen</title>") || !strings.Contains(home, `class="brand" href="/">The Kitchen</a>`) {
		t.Errorf("--site-name is not the home page's title and brand")
	}
	cmd.Process.Signal(os.Interrupt)
	<-done
	line := ""
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "no members yet") {
			line = l
		}
	}
	_, printed, ok := strings.Cut(line, "command=")
	if !ok {
		t.Fatalf("no command in the first-run line:\n%s", logs.String())
	}
	printed = strings.TrimSpace(printed)
	printed = strings.ReplaceAll(strings.Trim(printed, `"`), `\"`, `"`)
	want := binary + " user create NAME --admin --data '" + data + "'"
	if printed != want {
		t.Fatalf("printed %q\nwant    %q", printed, want)
	}
	// Run it as printed (through a shell, as the admin would), NAME
	// filled in.
	sh := exec.Command("sh", "-c", strings.Replace(printed, "NAME", "first_admin", 1))
	sh.Stdin = strings.NewReader("a long enough password\n")
	if out, err := sh.CombinedOutput(); err != nil || !strings.Contains(string(out), "created admin first_admin") {
		t.Fatalf("the printed command: %v\n%s", err, out)
	}
}

// On a terminal, user create asks for the password twice without
// echoing it, and asks again when the two differ.
func TestUserCreatePromptsOnTerminal(t *testing.T) {
	master, tty := openPTY(t)
	data := t.TempDir()
	cmd := exec.Command(binary, "user", "create", "tia", "--data", data, "--create")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	screen := &screen{}
	go func() { _, _ = io.Copy(screen, master) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	typeLine := func(prompt, line string) {
		t.Helper()
		screen.waitFor(t, prompt)
		waitEchoOff(t, master)
		if _, err := master.Write([]byte(line + "\r")); err != nil {
			t.Fatal(err)
		}
	}
	typeLine("Password (at least 10 characters): ", "first secret phrase")
	typeLine("The same password again: ", "first secret phrasf")
	screen.waitFor(t, "The two differ")
	typeLine("Password (at least 10 characters): ", "second secret phrase")
	typeLine("The same password again: ", "second secret phrase")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("user create: %v\n%s", err, screen.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("user create did not finish:\n%s", screen.String())
	}
	screen.waitFor(t, "created member tia")
	if strings.Contains(screen.String(), "secret phrase") {
		t.Errorf("the password was echoed:\n%s", screen.String())
	}
	s, err := storage.Open(context.Background(), storage.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := s.MemberByHandle(context.Background(), "tia")
	if err != nil || storage.CheckPassword(m.PasswordHash, "second secret phrase") != nil {
		t.Errorf("tia's password is not the one typed twice: %v", err)
	}
}

// openPTY opens a pseudo-terminal pair: what the test types goes to
// master, the command gets the other end as its terminal.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	return m, s
}

// waitEchoOff waits until the terminal's echo is off, so what the test
// types next is read without echo, as a person's typing would be.
func waitEchoOff(t *testing.T, master *os.File) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tio, err := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatalf("termios: %v", err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("echo never turned off")
}

// screen is what the command wrote to its terminal.
type screen struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	seen map[string]int // how often waitFor found each text
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the screen shows text one more time than it did
// when the last wait for the same text returned.
func (s *screen) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		if s.seen == nil {
			s.seen = map[string]int{}
		}
		found := strings.Count(s.buf.String(), text) > s.seen[text]
		if found {
			s.seen[text]++
		}
		s.mu.Unlock()
		if found {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the terminal never showed %q:\n%s", text, s.String())
}
