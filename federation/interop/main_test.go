package interop

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The rig every journey shares: one GoToSocial for the package, with one
// user per journey so journeys never see each other's follows and posts;
// one `skein serve` for most journeys and one under --authorized-fetch.
// Each journey starts its own threads and members on the node.

// gtsUsers are the GoToSocial users the peer is started with. Creating
// one is most of the rig's start-up time, so journeys share a user where
// they cannot see each other: each follows only its own threads and looks
// only for words it wrote itself. The first-contact journeys get users of
// their own, which nothing else uses.
var gtsUsers = []string{
	"first_thread", "first_forum", "first_member", // their first-contact follow (first_thread: and unfollow)
	"reader",   // searches: lookup, context view, and the stranger of the --authorized-fetch node
	"follower", // follows its own threads: home timeline, content warnings
	"replier",  // replies in its own threads: reply/favourite/edit/delete, answered replies
	"poster",   // posts: followed by a member, mentions a member
	"imager",   // follows one thread and looks for a member's image in its home timeline, apart from follower's boosts
}

// rig is what TestMain started.
type rig struct {
	skip     string // why the journeys skip, when the peer is missing here
	gtsBase  string // http://localhost:PORT
	gtsHost  string // localhost:PORT, the host in its users' handles
	gtsDir   string
	tokens   map[string]string
	bin      string // the skein binary
	plain    *node  // a node as it runs by default
	strict   *node  // a node under --authorized-fetch
	nextAddr atomic.Uint32
}

var env rig

func TestMain(m *testing.M) {
	flag.Parse()
	// Journeys mostly wait on the two servers, not on the CPU: run them
	// all at once unless -parallel says otherwise.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", strconv.Itoa(len(gtsUsers)+2))
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	peer, err := findPeer()
	if err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "interop: %v; CI needs the real GoToSocial peer to run these journeys\n", err)
			return 1
		}
		env.skip = err.Error() + " (set SKEIN_GOTOSOCIAL to the peer's directory to run the interop journeys)"
		return m.Run()
	}
	work, err := os.MkdirTemp("", "skein-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	keep := false
	defer func() {
		if keep || os.Getenv("SKEIN_INTEROP_KEEP") != "" {
			fmt.Fprintf(os.Stderr, "interop: logs kept in %s (gotosocial/gts.log, plain/skein.log, strict/skein.log)\n", work)
			return
		}
		_ = os.RemoveAll(work)
	}()

	// GoToSocial's first start runs its migrations and creates each user
	// through its admin command, the slowest part of the rig; the nodes
	// are built and started meanwhile.
	var wg sync.WaitGroup
	var gtsErr, nodeErr error
	wg.Go(func() { gtsErr = env.startGoToSocial(peer, filepath.Join(work, "gotosocial")) })
	wg.Go(func() { nodeErr = env.startNodes(work) })
	wg.Wait()
	defer env.stopGoToSocial()
	defer env.stopNodes()
	if err := errors.Join(gtsErr, nodeErr); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		keep = true
		return 1
	}

	// A test binary out of time panics without running deferred calls:
	// stop the servers just before, so that none outlives the run.
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, ok := f.Value.(flag.Getter).Get().(time.Duration); ok && d > time.Minute {
			alarm := time.AfterFunc(d-30*time.Second, func() { env.stopNodes(); env.stopGoToSocial() })
			defer alarm.Stop()
		}
	}
	code := m.Run()
	keep = code != 0
	return code
}

// startNodes builds skein and starts the plain and the strict node.
func (r *rig) startNodes(work string) error {
	var err error
	if r.bin, err = buildSkein(work); err != nil {
		return err
	}
	if r.plain, err = startNode(r.bin, filepath.Join(work, "plain")); err != nil {
		return err
	}
	r.strict, err = startNode(r.bin, filepath.Join(work, "strict"), "--authorized-fetch")
	return err
}

func (r *rig) stopNodes() {
	for _, n := range []*node{r.plain, r.strict} {
		if n != nil {
			n.stop()
		}
	}
}

// findPeer locates the GoToSocial peer: $SKEIN_GOTOSOCIAL, else the
// team's shared copy beside the repository.
func findPeer() (string, error) {
	dir := os.Getenv("SKEIN_GOTOSOCIAL")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "..", "shared", "peers", "gotosocial")
	}
	if _, err := os.Stat(filepath.Join(dir, "start")); err != nil {
		return "", fmt.Errorf("no GoToSocial peer at %s (its start script is missing)", dir)
	}
	return dir, nil
}

// repoRoot is the directory of go.mod above the test's directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test directory")
		}
		dir = parent
	}
}

func (r *rig) startGoToSocial(peer, dir string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	args := append([]string{dir, strconv.Itoa(port)}, gtsUsers...)
	cmd := exec.Command(filepath.Join(peer, "start"), args...)
	// GoToSocial compiles its WebAssembly modules at every start (most of
	// a start's time on 2 cores); wazero keeps the compiled code here.
	if cache, err := os.UserCacheDir(); err == nil && os.Getenv("GTS_WAZERO_COMPILATION_CACHE") == "" {
		dir := filepath.Join(cache, "skein-interop", "wazero")
		if os.MkdirAll(dir, 0o755) == nil {
			cmd.Env = append(os.Environ(), "GTS_WAZERO_COMPILATION_CACHE="+dir)
		}
	}
	out, err := cmd.CombinedOutput()
	r.gtsDir = dir
	if err != nil {
		return fmt.Errorf("start GoToSocial: %w: %s", err, out)
	}
	r.gtsHost = "localhost:" + strconv.Itoa(port)
	r.gtsBase = "http://" + r.gtsHost
	r.tokens = make(map[string]string)
	for _, u := range gtsUsers {
		b, err := os.ReadFile(filepath.Join(dir, u+".token"))
		if err != nil || strings.TrimSpace(string(b)) == "" {
			return fmt.Errorf("GoToSocial user %s has no token: %v (see %s)", u, err, filepath.Join(dir, "admin.log"))
		}
		r.tokens[u] = strings.TrimSpace(string(b))
	}
	return r.openHomeTimelines()
}

// openHomeTimelines loads each user's home timeline once, empty, as a
// client does when it starts. GoToSocial v0.20.3 keeps a user's home
// timeline in memory from its first load on; when that first load falls
// on the moment a status is stored for the user (a journey's first poll
// just as the thread's Announce arrives), the memory holds that status
// and no later one, and the API answers from it until the server
// restarts: every later boost of every journey of that user is missing.
// Loaded once before any journey runs, the timeline is kept up to date.
func (r *rig) openHomeTimelines() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, u := range gtsUsers {
		m := &Mastodon{Base: r.gtsBase, Token: r.tokens[u], HTTP: &http.Client{Timeout: 30 * time.Second}}
		if _, err := m.HomeTimeline(ctx); err != nil {
			return fmt.Errorf("open the home timeline of %s: %w", u, err)
		}
	}
	return nil
}

func (r *rig) stopGoToSocial() {
	b, err := os.ReadFile(filepath.Join(r.gtsDir, "gts.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// buildSkein builds the node's binary as it ships.
func buildSkein(work string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(work, "skein")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/skein")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build skein: %w: %s", err, out)
	}
	return bin, nil
}

// node is one running `skein serve`.
type node struct {
	Base string // http://127.0.0.1:PORT
	Host string // 127.0.0.1:PORT, the host in its handles
	bin  string
	data string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// errPortTaken is a start that lost its port to another process between
// [freePort] closing it and the node binding it.
var errPortTaken = errors.New("port taken")

// startNode starts a node on a free port, and on another one when the
// first is taken meanwhile (GoToSocial and the other node pick theirs at
// the same time).
func startNode(bin, dir string, flags ...string) (*node, error) {
	for range 3 {
		n, err := startNodeOnce(bin, dir, flags...)
		if !errors.Is(err, errPortTaken) {
			return n, err
		}
	}
	return nil, fmt.Errorf("skein serve in %s: no free port after 3 tries", dir)
}

func startNodeOnce(bin, dir string, flags ...string) (*node, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	host := "127.0.0.1:" + strconv.Itoa(port)
	n := &node{Base: "http://" + host, Host: host, bin: bin, data: filepath.Join(dir, "data"), log: filepath.Join(dir, "skein.log"), done: make(chan struct{})}
	if err := os.MkdirAll(n.data, 0o755); err != nil {
		return nil, err
	}
	logf, err := os.Create(n.log)
	if err != nil {
		return nil, err
	}
	// The journeys' users all live on one GoToSocial and post a few
	// dozen activities in a run: limits well above that, but on.
	args := append([]string{"serve", "--listen", host, "--base-url", n.Base, "--data", n.data,
		"--allow-http", "--allow-private-networks", "--log-level", "debug",
		"--inbox-host-rate", "3000", "--inbox-actor-rate", "600"}, flags...)
	n.cmd = exec.Command(bin, args...)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { _ = n.cmd.Wait(); logf.Close(); close(n.done) }()
	hc := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-n.done:
			if b, _ := os.ReadFile(n.log); strings.Contains(string(b), "address already in use") {
				return nil, errPortTaken
			}
			return nil, fmt.Errorf("skein serve exited at start; see %s", n.log)
		default:
		}
		resp, err := hc.Get(n.Base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n, nil
			}
		}
	}
	n.stop()
	return nil, fmt.Errorf("skein serve at %s not ready in 60 s; see %s", n.Base, n.log)
}

func (n *node) stop() {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// admin runs a `skein` administration command against the node's data.
func (n *node) admin(stdin string, args ...string) error {
	cmd := exec.Command(n.bin, append(args, "--data", n.data)...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("skein %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// logTail is the last lines of the node's log that mention any of words,
// for a failure message.
func (n *node) logLines(words ...string) string {
	f, err := os.Open(n.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		for _, w := range words {
			if strings.Contains(l, w) {
				lines = append(lines, l)
				break
			}
		}
	}
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// eventually polls check until it returns nil, and fails the test with
// its last error when the deadline passes. Federation is asynchronous on
// both sides; the deadline is generous because only what the user ends
// up seeing is judged, never how fast.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	eventuallyWithin(t, 30*time.Second, what, check)
}

// eventuallyWithin is eventually with its own deadline, for what the
// peer does slowly the first time (GoToSocial starts its media pipeline,
// ffmpeg compiled to WebAssembly, on the first image it processes, which
// on a busy machine takes longer than the usual deadline).
func eventuallyWithin(t *testing.T, deadline time.Duration, what string, check func() error) {
	t.Helper()
	var err error
	for end := time.Now().Add(deadline); time.Now().Before(end); time.Sleep(300 * time.Millisecond) {
		if err = check(); err == nil {
			return
		}
	}
	t.Fatalf("%s: not so after %s: %v", what, deadline, err)
}
