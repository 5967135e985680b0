package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/skein-forum/skein/internal/cputime"
	"github.com/skein-forum/skein/storage"
)

// The gts scenario sends the same signed Create{Note} traffic to the real
// GoToSocial and then to Skein, with the same tool and flags, and counts
// what each made visible. Each Note comes from a fake remote actor and
// mentions a local user, and goes to that user's inbox: GoToSocial has
// no shared inbox, and keeps a Create from a stranger only when it
// mentions someone local. For Skein the Note is also a reply in a
// thread, which is what a forum shows; GoToSocial gets the same Note
// without inReplyTo (a parent it cannot fetch would cost it a failed
// dereference per Note).

// defaultPeer is where the GoToSocial peer lives: $SKEIN_GOTOSOCIAL, or
// ../shared/peers/gotosocial beside the checkout (the interop suite's).
func defaultPeer() string {
	if p := os.Getenv("SKEIN_GOTOSOCIAL"); p != "" {
		return p
	}
	for _, dir := range []string{"../shared/peers/gotosocial", "../../shared/peers/gotosocial", "../../../shared/peers/gotosocial"} {
		if abs, err := filepath.Abs(dir); err == nil {
			if _, err := os.Stat(filepath.Join(abs, "start")); err == nil {
				return abs
			}
		}
	}
	return "/work/shared/peers/gotosocial"
}

type gtsOptions struct {
	Peer        string // the GoToSocial peer's directory (its start script)
	Users       int    // local users mentioned, on each side
	Hosts       int
	Actors      int
	Threads     int
	Presign     int
	Duration    time.Duration
	Concurrency int
	Settle      time.Duration
	Sides       []string // "gotosocial", "skein", in this order
	// profile, when set, takes a CPU profile of the node while the
	// timed load runs; its channel gives the outcome.
	profile func(ctx context.Context, d time.Duration) <-chan error
	// selfProfile is the directory for the tool's own CPU profile of
	// each side's timed load; "" for none.
	selfProfile string
}

func cmdGTS(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := newFlags("gts", &o, out)
	var g gtsOptions
	fs.StringVar(&g.Peer, "gotosocial", defaultPeer(), "directory of the GoToSocial peer (its start script)")
	fs.IntVar(&g.Users, "users", 4, "local users the Notes mention, on each node")
	fs.IntVar(&g.Hosts, "hosts", 4, "remote hosts")
	fs.IntVar(&g.Actors, "actors", 5, "actors per remote host")
	fs.IntVar(&g.Threads, "reply-threads", 100, "Skein threads the Notes reply in")
	fs.IntVar(&g.Presign, "presign", 0, "requests signed before each side's clock starts (default: 2,500 per second of --duration)")
	fs.DurationVar(&g.Settle, "settle", 30*time.Second, "how long to wait after the load for what was accepted to become visible")
	sides := fs.String("sides", "gotosocial,skein", "which nodes to load, in order")
	fs.Lookup("duration").DefValue, o.Duration = "20s", 20*time.Second
	if err := fs.Parse(args); err != nil {
		return err
	}
	g.Duration, g.Concurrency, g.Sides = o.Duration, o.Concurrency, strings.Split(*sides, ",")
	g.selfProfile = o.SelfProfile
	hosts, err := startHosts(g.Hosts, g.Actors, 8)
	if err != nil {
		return err
	}
	defer stopHosts(hosts)
	var rows []sideResult
	for _, side := range g.Sides {
		switch side {
		case "gotosocial":
			r, err := runGTSSide(ctx, g, hosts, out)
			if err != nil {
				return fmt.Errorf("gotosocial: %w", err)
			}
			rows = append(rows, r)
		case "skein":
			t, cleanup, err := setup(ctx, &o, out)
			if err != nil {
				return err
			}
			gs := g
			if path := profilePath(&o, "gts.cpu.pprof"); path != "" {
				gs.profile = func(ctx context.Context, d time.Duration) <-chan error { return t.profile(ctx, path, d) }
			}
			r, err := runSkeinSide(ctx, t, gs, hosts, out)
			cleanup()
			if err != nil {
				return fmt.Errorf("skein: %w", err)
			}
			rows = append(rows, r)
		default:
			return fmt.Errorf("unknown side %q (want gotosocial or skein)", side)
		}
	}
	reportSides(out, g, rows)
	for _, r := range rows {
		if r.Row.Errors > 0 {
			return fmt.Errorf("%s: %d errors", r.Name, r.Row.Errors)
		}
	}
	return nil
}

// sideResult is what one node did with the traffic.
type sideResult struct {
	Name          string
	Row           result        // the timed load: accepted requests, latencies, CPU
	Accepted      int64         // 202s in the timed load
	VisibleAtEnd  int64         // of them, visible when the load ended
	Visible       int64         // visible after the settle
	Notifications int64         // mention notifications written, after the settle
	Settled       time.Duration // from the end of the load until Visible was read
	PeakRSS       int64         // kB
	CPU           time.Duration // node CPU over the load and the settle
}

// AppliedRate is what the node made visible a second during the load.
func (r sideResult) AppliedRate() float64 { return float64(r.VisibleAtEnd) / r.Row.Elapsed.Seconds() }

// sign signs one side's traffic before its clock starts: a warm-up Note
// from every actor, then g.Presign Notes for the timed load (2,500 a
// second of the duration when unset), each addressed by pick. actors is
// how many of reqs, first, are the warm-up.
func (g gtsOptions) sign(ctx context.Context, side string, hosts []*fakeHost, log io.Writer,
	pick func(*rand.Rand) (noteTarget, int)) (reqs []signedPost, actors int, err error) {
	n := g.Presign
	if n <= 0 {
		n = int(g.Duration.Seconds() * 2500)
	}
	actors = g.Hosts * g.Actors
	fmt.Fprintf(log, "%s: signing %d requests...\n", side, actors+n)
	reqs, err = presignNotes(ctx, hosts, actors+n, pick)
	return reqs, actors, err
}

// counter reads how many of the Notes a node shows, and how many mention
// notifications it wrote.
type counter func(ctx context.Context) (visible, notifications int64, err error)

// loadSide plays one side: warm-up (one Note per actor, so the node has
// fetched every actor), the timed load, then the settle.
func loadSide(ctx context.Context, name string, reqs []signedPost, actors int, g gtsOptions, count counter,
	cpu func() time.Duration, log io.Writer) (sideResult, error) {
	res := sideResult{Name: name}
	// n0, the notifications before the timed load, is read once the
	// warm-up has shown.
	var n0 int64
	v0, _, err := count(ctx)
	if err != nil {
		return res, err
	}
	warm, _ := send(ctx, reqs[:actors], min(g.Concurrency, 8), time.Hour)
	if warm.Errors > 0 {
		return res, fmt.Errorf("warm-up: %d of %d refused: %s", warm.Errors, warm.Requests, warm.FirstErr)
	}
	// Wait for the warm-up to show, so the timed load starts with
	// nothing queued.
	deadline := time.Now().Add(g.Settle)
	for {
		v, n, err := count(ctx)
		if err != nil {
			return res, err
		}
		if v-v0 >= warm.Requests || time.Now().After(deadline) {
			v0, n0 = v, n
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	fmt.Fprintf(log, "%s: warm-up visible; loading for %s\n", name, g.Duration)
	var prof <-chan error
	if g.profile != nil {
		prof = g.profile(ctx, g.Duration-time.Second)
	}
	stopSelf := selfProfile(selfProfilePath(g.selfProfile, "gts-"+name), log)
	cpu0, tool0 := cpu(), cputime.Process()
	row, acc := send(ctx, reqs[actors:], g.Concurrency, g.Duration)
	row.Name = name
	row.CPU, row.ToolCPU = cpu()-cpu0, cputime.Process()-tool0
	stopSelf()
	if prof != nil {
		if err := <-prof; err != nil {
			fmt.Fprintln(log, "profile:", err)
		}
	}
	loadEnd := time.Now()
	res.Accepted = int64(len(acc))
	if row.Requests == int64(len(reqs)-actors) {
		row.Note = fmt.Sprintf("ran out of pre-signed requests after %.1fs: raise --presign", row.Elapsed.Seconds())
	}
	v, _, err := count(ctx)
	if err != nil {
		return res, err
	}
	res.VisibleAtEnd = v - v0
	deadline = time.Now().Add(g.Settle)
	for {
		v, n, err := count(ctx)
		if err != nil {
			return res, err
		}
		res.Visible, res.Notifications, res.Settled = v-v0, n-n0, time.Since(loadEnd)
		if res.Visible >= res.Accepted || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	res.CPU = cpu() - cpu0
	res.Row = row
	return res, nil
}

// runGTSSide starts GoToSocial with g.Users users, loads it, and stops it.
func runGTSSide(ctx context.Context, g gtsOptions, hosts []*fakeHost, log io.Writer) (sideResult, error) {
	start := filepath.Join(g.Peer, "start")
	if _, err := os.Stat(start); err != nil {
		return sideResult{}, fmt.Errorf("no GoToSocial peer at %s (--gotosocial): %w", g.Peer, err)
	}
	dir, err := os.MkdirTemp("", "skein-load-gts-")
	if err != nil {
		return sideResult{}, err
	}
	defer os.RemoveAll(dir)
	port, err := freePort()
	if err != nil {
		return sideResult{}, err
	}
	users := make([]string, g.Users)
	for i := range users {
		users[i] = fmt.Sprintf("loaduser%d", i+1)
	}
	fmt.Fprintf(log, "starting GoToSocial on port %d (its first start migrates: 10-30 s)\n", port)
	cmd := exec.CommandContext(ctx, start, append([]string{dir, strconv.Itoa(port)}, users...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		stopPID(filepath.Join(dir, "gts.pid"))
		return sideResult{}, fmt.Errorf("start: %w: %s", err, b)
	}
	defer stopPID(filepath.Join(dir, "gts.pid"))
	pid, err := readPID(filepath.Join(dir, "gts.pid"))
	if err != nil {
		return sideResult{}, err
	}
	base := "http://localhost:" + strconv.Itoa(port)
	reqs, actors, err := g.sign(ctx, "gotosocial", hosts, log, func(r *rand.Rand) (noteTarget, int) {
		u := users[r.IntN(len(users))]
		return noteTarget{Inbox: base + "/users/" + u + "/inbox", MentionID: base + "/users/" + u,
			MentionName: "@" + u + "@" + hostOf(base)}, 0
	})
	if err != nil {
		return sideResult{}, err
	}
	db, err := sql.Open(sqliteshim.ShimName, "file:"+filepath.Join(dir, "gts.db")+"?mode=ro")
	if err != nil {
		return sideResult{}, err
	}
	defer db.Close()
	count := func(ctx context.Context) (v, n int64, err error) {
		// A remote status is what its API shows (the mentioned user's
		// notifications, the thread view). Every notification here is a
		// mention: the strangers do nothing else, and the column's
		// encoding is GoToSocial's own.
		err = db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM statuses WHERE local = 0),
			(SELECT COUNT(*) FROM notifications)`).Scan(&v, &n)
		return v, n, err
	}
	res, err := loadSide(ctx, "gotosocial", reqs, actors, g, count, func() time.Duration { return procCPU(pid) }, log)
	if err != nil {
		return res, err
	}
	res.PeakRSS = procMem(pid).PeakRSS
	// The database's count is what the API serves: check one user's
	// mentions through it.
	if res.Visible > 0 {
		if err := gtsMentionsVisible(ctx, base, dir, users); err != nil {
			res.Row.Errors++
			res.Row.FirstErr = err.Error()
		}
	}
	return res, nil
}

// gtsMentionsVisible asks GoToSocial's Mastodon API for the users'
// mention notifications and fails if none shows.
func gtsMentionsVisible(ctx context.Context, base, dir string, users []string) error {
	for _, u := range users {
		token, err := os.ReadFile(filepath.Join(dir, u+".token"))
		if err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/notifications?types[]=mention&limit=1", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.Contains(string(b), `"type":"mention"`) {
			return nil
		}
	}
	return errors.New("gotosocial's database holds the Notes but its API shows no mention")
}

// runSkeinSide loads the Skein node t with the same traffic: each Note
// mentions a seeded member, goes to the member's inbox, and replies in a
// seeded thread.
func runSkeinSide(ctx context.Context, t *target, g gtsOptions, hosts []*fakeHost, log io.Writer) (sideResult, error) {
	m := t.Manifest
	users := m.Members[:min(g.Users, len(m.Members))]
	threads := m.Threads[:min(len(m.Threads), max(1, g.Threads))]
	if len(users) == 0 || len(threads) == 0 {
		return sideResult{}, errors.New("the seeded data has no members or threads")
	}
	reqs, actors, err := g.sign(ctx, "skein", hosts, log, func(r *rand.Rand) (noteTarget, int) {
		u := users[r.IntN(len(users))]
		ti := r.IntN(len(threads))
		return noteTarget{Inbox: t.Base + "/u/" + u + "/inbox", InReplyTo: t.Base + "/p/" + threads[ti].FirstPost,
			Context: t.Base + "/t/" + threads[ti].ID + "/posts", MentionID: t.Base + "/u/" + u,
			MentionName: "@" + u + "@" + hostOf(t.Base)}, ti
	})
	if err != nil {
		return sideResult{}, err
	}
	store, err := dataPlace{t.DataDir, t.DatabaseURL}.open(ctx)
	if err != nil {
		return sideResult{}, err
	}
	defer store.Close()
	client := newClient(8)
	defer client.CloseIdleConnections()
	tc := newThreadCounts(client, t.Base, threads)
	count := func(ctx context.Context) (v, n int64, err error) {
		counts, err := tc.read(ctx, nil)
		if err != nil {
			return 0, 0, err
		}
		for _, c := range counts {
			v += c
		}
		err = store.ReadDB().NewRaw("SELECT COUNT(*) FROM notifications WHERE kind = ?", storage.NotifyMention).Scan(ctx, &n)
		return v, n, err
	}
	res, err := loadSide(ctx, "skein", reqs, actors, g, count, t.CPU, log)
	res.PeakRSS = t.Mem().PeakRSS
	return res, err
}

// reportSides prints the comparison.
func reportSides(w io.Writer, g gtsOptions, rows []sideResult) {
	fmt.Fprintf(w, "\n== gts: the same signed Create{Note} traffic (%d actors on %d hosts, %d in flight, %s, "+
		"Notes mentioning %d local users), one node after the other; %s\n",
		g.Hosts*g.Actors, g.Hosts, g.Concurrency, g.Duration, g.Users, machine())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "node\taccepted\taccepted/s\tp99\tvisible at end\tapplied/s\tvisible after settle\tsettle\tmention notifications\tCPU/activity\tpeak RSS\t")
	for _, r := range rows {
		cpu := "-"
		if r.Visible > 0 {
			cpu = fmt.Sprintf("%.0fµs", float64(r.CPU.Microseconds())/float64(r.Visible))
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%d\t%.0f\t%d\t%.1fs\t%d\t%s\t%.1f MB\t\n", r.Name, r.Accepted, r.Row.RPS(),
			ms(r.Row.P99), r.VisibleAtEnd, r.AppliedRate(), r.Visible, r.Settled.Seconds(), r.Notifications, cpu, mb(r.PeakRSS))
	}
	tw.Flush()
	for _, r := range rows {
		if r.Row.FirstErr != "" {
			fmt.Fprintf(w, "  %s errors: %s\n", r.Name, r.Row.FirstErr)
		}
		if r.Row.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", r.Name, r.Row.Note)
		}
		if line := toolShare(r.Row.ToolCPU, r.Row.CPU, r.Row.Elapsed, r.Row.Requests); line != "" {
			fmt.Fprintf(w, "  %s, during the load: %s\n", r.Name, line)
		}
		if r.Row.Deferred > 0 {
			fmt.Fprintf(w, "  %s turned POSTs away %d times with 503 and Retry-After (its queue was full); each was sent again after the wait\n",
				r.Name, r.Row.Deferred)
		}
	}
	if len(rows) == 2 && rows[0].AppliedRate() > 0 {
		fmt.Fprintf(w, "  applied/s, %s / %s: %.1f×; accepted/s: %.1f×\n", rows[1].Name, rows[0].Name,
			rows[1].AppliedRate()/rows[0].AppliedRate(), rows[1].Row.RPS()/max(rows[0].Row.RPS(), 1e-9))
	}
}

// readPID reads a pid file.
func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// stopPID ends the process a pid file names (GoToSocial, which the start
// script leaves running) and waits for it to exit.
func stopPID(path string) {
	pid, err := readPID(path)
	if err != nil || pid <= 0 {
		return
	}
	if syscall.Kill(pid, syscall.SIGTERM) != nil {
		return
	}
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// procMem reads a process's memory from /proc/PID/status.
func procMem(pid int) memStats {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStats{}
	}
	defer f.Close()
	m := memStats{Known: true}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			m.RSS = kb
		case "VmHWM":
			m.PeakRSS = kb
		}
	}
	return m
}
