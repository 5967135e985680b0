package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/skein-forum/skein/storage"
)

// target is the node under load: a child process skein-load started
// (then it knows the node's memory and can profile it) or any running
// node given by URL.
type target struct {
	Base        string // http://localhost:PORT
	DataDir     string // the node's data directory, when known
	DatabaseURL string // the node's PostgreSQL database; "" for SQLite in DataDir
	Manifest    *Manifest
	cmd         *exec.Cmd
	exited      chan struct{} // closed when the child has exited
	waitErr     error
	pprofAddr   string
	idleRSS     int64
	log         io.Writer
}

// Manifest records what `skein-load seed` put in a data directory, so
// later runs find the threads, members and session without asking the
// node.
type Manifest struct {
	Forums      []string         `json:"forums"`
	Threads     []ManifestThread `json:"threads"`
	LongThreads []ManifestThread `json:"long_threads"`
	Members     []string         `json:"members"`
	Password    string           `json:"password"`
	Session     string           `json:"session"` // a signed-in session of Members[0]
	Posts       int64            `json:"posts"`
}

// ManifestThread is one seeded thread.
type ManifestThread struct {
	ID        string `json:"id"`
	Posts     int64  `json:"posts"`
	FirstPost string `json:"first_post"`
}

const manifestName = "skein-load.json"

// seedPassword is every seeded member's password.
const seedPassword = "skein-load password"

func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, err
	}
	m := new(Manifest)
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("read %s: %w", manifestName, err)
	}
	return m, nil
}

// dataPlace is where a node keeps its data: the data directory (the
// manifest, media, and the SQLite database unless DatabaseURL names a
// PostgreSQL one).
type dataPlace struct {
	Dir         string
	DatabaseURL string
}

// open opens the node's store.
func (p dataPlace) open(ctx context.Context) (*storage.Store, error) {
	return storage.Open(ctx, storage.Options{DataDir: p.Dir, DatabaseURL: p.DatabaseURL})
}

// prepareData seeds the place per spec unless its directory already
// holds a manifest (and reseed is false).
func prepareData(ctx context.Context, place dataPlace, spec storage.SeedSpec, reseed bool, log io.Writer) (*Manifest, error) {
	if !reseed {
		if m, err := readManifest(place.Dir); err == nil {
			fmt.Fprintf(log, "using the data seeded earlier in %s: %d threads, %d posts\n", place.Dir, len(m.Threads), m.Posts)
			return m, nil
		}
	}
	if reseed {
		if place.DatabaseURL != "" {
			return nil, errors.New("--reseed with --database-url: drop and create the database, then run without --reseed")
		}
		for _, name := range []string{"skein.db", "skein.db-wal", "skein.db-shm", manifestName} {
			_ = os.Remove(filepath.Join(place.Dir, name))
		}
	}
	return seedData(ctx, place, spec, log)
}

// seedData opens the store, migrates it, seeds it and writes the
// manifest into the data directory.
func seedData(ctx context.Context, place dataPlace, spec storage.SeedSpec, log io.Writer) (*Manifest, error) {
	store, err := place.open(ctx)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		return nil, err
	}
	hash, err := storage.HashPassword(seedPassword)
	if err != nil {
		return nil, err
	}
	spec.PasswordHash = hash
	start := time.Now()
	lastReport := start
	spec.Progress = func(posts int64) {
		if time.Since(lastReport) > 5*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(log, "  seeded %d posts (%.0f/s)\n", posts, float64(posts)/time.Since(start).Seconds())
		}
	}
	res, err := store.Seed(ctx, spec)
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	rows := res.Posts + int64(len(res.ThreadIDs)) + int64(len(res.MemberIDs))*2 + int64(len(res.ForumIDs))*2
	fmt.Fprintf(log, "seeded %d forums, %d threads, %d posts, %d members in %.1fs: %.0f posts/s, %.0f rows/s\n",
		len(res.ForumIDs), len(res.ThreadIDs), res.Posts, len(res.MemberIDs), elapsed.Seconds(),
		float64(res.Posts)/elapsed.Seconds(), float64(rows)/elapsed.Seconds())
	m := &Manifest{Forums: res.ForumSlugs, Members: res.Handles, Password: seedPassword, Posts: res.Posts}
	long := map[storage.ID]bool{}
	for _, id := range res.LongThreads {
		long[id] = true
	}
	for _, id := range res.ThreadIDs {
		t, err := store.ThreadByID(ctx, id)
		if err != nil {
			return nil, err
		}
		mt := ManifestThread{ID: id.String(), Posts: t.PostCount, FirstPost: t.FirstPostID.String()}
		if long[id] {
			m.LongThreads = append(m.LongThreads, mt)
		} else {
			m.Threads = append(m.Threads, mt)
		}
	}
	if len(res.MemberIDs) > 0 {
		if m.Session, err = store.CreateSession(ctx, res.MemberIDs[0], 30*24*time.Hour); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(place.Dir, manifestName), b, 0o600); err != nil {
		return nil, err
	}
	return m, nil
}

// spawnOptions start a child node.
type spawnOptions struct {
	Skein       string // path of the skein binary; empty builds one
	DataDir     string
	DatabaseURL string // PostgreSQL; "" for SQLite in DataDir
	LogLevel    string
	Pprof       bool
	Extra       []string // more `skein serve` flags
}

// buildSkein compiles cmd/skein into dir, for runs without --skein.
func buildSkein(ctx context.Context, dir string, log io.Writer) (string, error) {
	out := filepath.Join(dir, "skein")
	fmt.Fprintf(log, "building skein into %s\n", out)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/skein-forum/skein/cmd/skein")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build skein (run skein-load inside the module, or pass --skein): %w", err)
	}
	return out, nil
}

// spawn starts `skein serve` on a free loopback port and waits until it
// is ready.
func spawn(ctx context.Context, opts spawnOptions, log io.Writer) (*target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	// The load's one remote host stands for the whole fediverse, so the
	// inbox limits per host and per actor are off: they would measure
	// themselves instead of the node.
	args := []string{"serve", "--listen", listen, "--data", opts.DataDir, "--log-level", opts.LogLevel,
		"--allow-private-networks", "--allow-http", "--inbox-host-rate", "-1", "--inbox-actor-rate", "-1"}
	if opts.DatabaseURL != "" {
		args = append(args, "--database-url", opts.DatabaseURL)
	}
	t := &target{Base: "http://localhost:" + strconv.Itoa(port), DataDir: opts.DataDir, DatabaseURL: opts.DatabaseURL, log: log}
	if opts.Pprof {
		pp, err := freePort()
		if err != nil {
			return nil, err
		}
		t.pprofAddr = "127.0.0.1:" + strconv.Itoa(pp)
		args = append(args, "--pprof-listen", t.pprofAddr)
	}
	args = append(args, opts.Extra...)
	cmd := exec.Command(opts.Skein, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", opts.Skein, err)
	}
	t.cmd = cmd
	t.exited = make(chan struct{})
	go func() { t.waitErr = cmd.Wait(); close(t.exited) }()
	fmt.Fprintf(log, "started skein (pid %d) on %s\n", cmd.Process.Pid, t.Base)
	if err := waitReady(ctx, t.Base, 60*time.Second, t.exited); err != nil {
		t.Stop()
		return nil, err
	}
	// Idle: started, migrated, serving, nothing asked yet.
	time.Sleep(500 * time.Millisecond)
	t.idleRSS = t.Mem().RSS
	return t, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(ctx context.Context, base string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node at %s not ready after %s (last error %v)", base, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("node exited before it was ready")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Mem reads the child's memory from /proc.
func (t *target) Mem() memStats {
	if t.cmd == nil || t.cmd.Process == nil {
		return memStats{}
	}
	m := procMem(t.cmd.Process.Pid)
	m.IdleRSS = t.idleRSS
	return m
}

// CPU reads the child's CPU time so far (user and system, from
// /proc/PID/stat); zero when the node is not a child process. The kernel
// counts in clock ticks (10 ms), so it is exact over a phase of seconds
// and, unlike a profile, costs the node nothing.
func (t *target) CPU() time.Duration {
	if t.cmd == nil || t.cmd.Process == nil {
		return 0
	}
	return procCPU(t.cmd.Process.Pid)
}

// procCPU reads utime+stime of a process.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	// USER_HZ is 100 on every Linux the tool runs on.
	return time.Duration(utime+stime) * (time.Second / 100)
}

// Stop ends the child node gracefully.
func (t *target) Stop() error {
	if t.cmd == nil || t.cmd.Process == nil {
		return nil
	}
	_ = t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-t.exited:
		var exit *exec.ExitError
		if errors.As(t.waitErr, &exit) {
			return nil
		}
		return t.waitErr
	case <-time.After(30 * time.Second):
		_ = t.cmd.Process.Kill()
		return errors.New("node did not stop within 30 s; killed")
	}
}

// profile fetches a CPU profile of the child over d and writes it to
// path. It returns at once; wait on the returned channel.
func (t *target) profile(ctx context.Context, path string, d time.Duration) <-chan error {
	done := make(chan error, 1)
	if t.pprofAddr == "" || path == "" {
		done <- nil
		return done
	}
	go func() {
		secs := max(1, int(d.Round(time.Second)/time.Second))
		done <- fetchTo(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", t.pprofAddr, secs), path)
	}()
	return done
}

// heapProfile saves the child's heap profile.
func (t *target) heapProfile(ctx context.Context, path string) error {
	if t.pprofAddr == "" || path == "" {
		return nil
	}
	return fetchTo(ctx, "http://"+t.pprofAddr+"/debug/pprof/heap", path)
}

func fetchTo(ctx context.Context, url, path string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
