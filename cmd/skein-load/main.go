// Command skein-load measures a Skein node. It seeds a database with a
// realistic shape, starts the node as a child process (or targets one
// already running), plays many remote servers on loopback, each with its
// own actors, keys and inboxes, and reports throughput, latency
// percentiles, errors and the node's peak memory for each scenario:
//
//	skein-load seed    fill a data directory (batched inserts)
//	skein-load read    GET thread pages, collection pages and actors
//	skein-load ingest  remote actors POST signed Create{Note} replies
//	skein-load fanout  one post to a thread with F followers on H hosts
//	skein-load gts     the same Create{Note} traffic to GoToSocial and to Skein
//
// docs/benchmarks.md has the figures and the commands behind them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/skein-forum/skein/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "skein-load:", err)
		os.Exit(1)
	}
}

const usage = `Usage: skein-load COMMAND [flags]

Commands:
  seed     fill a data directory with forums, threads, posts and members
  read     concurrent GETs of thread pages, collection pages and actors
  ingest   remote actors POST signed Create{Note} replies as fast as accepted
  fanout   one new post to a thread followed from many remote hosts
  gts      the same signed Create{Note} traffic to the real GoToSocial, then to Skein

Run 'skein-load COMMAND --help' for the flags.
`

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "seed":
		return cmdSeed(ctx, args[1:], out)
	case "read":
		return cmdRead(ctx, args[1:], out)
	case "ingest":
		return cmdIngest(ctx, args[1:], out)
	case "fanout":
		return cmdFanout(ctx, args[1:], out)
	case "gts":
		return cmdGTS(ctx, args[1:], out)
	case "-h", "--help", "help":
		fmt.Fprint(out, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// options are the flags every scenario shares.
type options struct {
	Target      string
	Skein       string
	DataDir     string
	DatabaseURL string
	Profile     string
	SelfProfile string
	Duration    time.Duration
	Concurrency int
	LogLevel    string
	Reseed      bool
	NodeFlags   string
	Seed        storage.SeedSpec
}

func newFlags(name string, o *options, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("skein-load "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.Target, "target", "", "URL of a running node to load (default: start one as a child process)")
	fs.StringVar(&o.Skein, "skein", "", "skein binary to start (default: go build ./cmd/skein)")
	fs.StringVar(&o.DataDir, "data-dir", "", "data directory of the node; seeded unless it has a skein-load.json (default: a temporary one)")
	fs.StringVar(&o.DatabaseURL, "database-url", "", "PostgreSQL URL (postgres://...) the node stores its data in, seeded when the data directory has no skein-load.json; the database must be empty then (default: SQLite in the data directory)")
	fs.StringVar(&o.Profile, "profile", "", "directory for CPU and heap profiles of the child node (pprof)")
	fs.StringVar(&o.SelfProfile, "self-profile", "", "directory for CPU profiles of skein-load itself over each timed load (SCENARIO.tool.cpu.pprof)")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long each phase runs")
	fs.IntVar(&o.Concurrency, "concurrency", 32, "requests in flight (keep-alive connections)")
	fs.StringVar(&o.LogLevel, "node-log-level", "warn", "log level of the child node (info logs every request)")
	fs.StringVar(&o.NodeFlags, "node-flags", "", "more `skein serve` flags for the child node, space-separated (--search-cache=0 --guest-cache=0 measures search uncached)")
	fs.BoolVar(&o.Reseed, "reseed", false, "seed again even if the data directory has a skein-load.json")
	fs.IntVar(&o.Seed.Forums, "forums", 4, "seed: forums")
	fs.IntVar(&o.Seed.ThreadsPerForum, "threads", 50, "seed: threads per forum")
	fs.IntVar(&o.Seed.PostsPerThread, "posts", 40, "seed: mean posts per thread")
	fs.IntVar(&o.Seed.LongThreads, "long-threads", 1, "seed: extra long threads")
	fs.IntVar(&o.Seed.LongThreadPosts, "long-posts", 10000, "seed: posts in each long thread")
	fs.IntVar(&o.Seed.Members, "members", 200, "seed: members")
	return fs
}

// setup prepares the data and the node the scenario runs against. The
// returned function stops what setup started.
func setup(ctx context.Context, o *options, out io.Writer, extra ...string) (*target, func(), error) {
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	if o.DataDir == "" {
		if o.Target != "" {
			return nil, nil, errors.New("--target needs the node's --data-dir (to seed it and read skein-load.json)")
		}
		dir, err := os.MkdirTemp("", "skein-load-")
		if err != nil {
			return nil, nil, err
		}
		o.DataDir = dir
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
	}
	if o.Profile != "" {
		if err := os.MkdirAll(o.Profile, 0o755); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	m, err := prepareData(ctx, dataPlace{o.DataDir, o.DatabaseURL}, o.Seed, o.Reseed, out)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	if o.Target != "" {
		return &target{Base: o.Target, DataDir: o.DataDir, DatabaseURL: o.DatabaseURL, Manifest: m, log: out}, cleanup, nil
	}
	bin := o.Skein
	if bin == "" {
		dir, err := os.MkdirTemp("", "skein-load-bin-")
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
		if bin, err = buildSkein(ctx, dir, out); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	t, err := spawn(ctx, spawnOptions{Skein: bin, DataDir: o.DataDir, DatabaseURL: o.DatabaseURL, LogLevel: o.LogLevel,
		Pprof: o.Profile != "", Extra: append(extra, strings.Fields(o.NodeFlags)...)}, out)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	t.Manifest = m
	cleanups = append(cleanups, func() {
		if err := t.Stop(); err != nil {
			fmt.Fprintln(out, "stop node:", err)
		}
	})
	fmt.Fprintf(out, "node idle: %s\n", t.Mem())
	return t, cleanup, nil
}

// runScenario parses a scenario's flags, sets up the node it runs
// against, runs it and reports its rows through [finish]; the node and
// the temporary data are gone when it returns.
func runScenario(ctx context.Context, name string, fs *flag.FlagSet, args []string, o *options, out io.Writer,
	run func(t *target) ([]result, error)) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, cleanup, err := setup(ctx, o, out)
	if err != nil {
		return err
	}
	defer cleanup()
	rows, err := run(t)
	if err != nil {
		return err
	}
	return finish(ctx, out, t, o, name, rows)
}

// finish prints a scenario's table, saves the heap profile when profiling
// (heapProfile skips an empty path), and fails the run on any error.
func finish(ctx context.Context, out io.Writer, t *target, o *options, scenario string, rows []result) error {
	report(out, scenario+", "+machine(), rows, t.Mem())
	_ = t.heapProfile(ctx, profilePath(o, scenario+".heap.pprof"))
	for _, r := range rows {
		if r.Errors > 0 {
			return fmt.Errorf("%s: %d errors", r.Name, r.Errors)
		}
	}
	return nil
}

func profilePath(o *options, name string) string {
	if o.Profile == "" {
		return ""
	}
	return filepath.Join(o.Profile, name)
}

func cmdSeed(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := newFlags("seed", &o, out)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.DataDir == "" {
		return errors.New("seed needs --data-dir")
	}
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return err
	}
	_, err := prepareData(ctx, dataPlace{o.DataDir, o.DatabaseURL}, o.Seed, o.Reseed, out)
	return err
}

// selfProfilePath is where the tool's own profile of a phase goes; ""
// without --self-profile.
func selfProfilePath(dir, phase string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, phase+".tool.cpu.pprof")
}

// machine describes where the run happens, for the report.
func machine() string {
	load, _ := os.ReadFile("/proc/loadavg")
	return fmt.Sprintf("%s/%s, %d CPUs, %s, load average %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		runtime.Version(), string(trimNL(load)))
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
