package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/node"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// The smoke tests run every scenario for a moment at small sizes against
// a node started in this process. They assert correctness only (no
// errors, nothing lost, everything delivered), never speed: the figures
// come from `skein-load` runs, see docs/benchmarks.md.

var smallSeed = storage.SeedSpec{Forums: 2, ThreadsPerForum: 5, PostsPerThread: 12, LongThreads: 1, LongThreadPosts: 130, Members: 6}

// startNode starts a seeded node in this process, on SQLite in its data
// directory or, with dbURL, on that PostgreSQL database.
func startNode(t *testing.T, dbURL string) (*target, *node.Node) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	place := dataPlace{Dir: t.TempDir(), DatabaseURL: dbURL}
	m, err := seedData(ctx, place, smallSeed, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	n, err := node.New(ctx, node.Config{BaseURL: base, DataDir: place.Dir, DatabaseURL: dbURL, Registration: "open",
		AllowPrivateNetworks: true, AllowHTTP: true, Version: "test", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- n.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	if err := waitReady(ctx, base, 10*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	return &target{Base: base, DataDir: place.Dir, DatabaseURL: dbURL, Manifest: m, log: io.Discard}, n
}

// forEachDatabase runs a scenario's smoke test on SQLite and, when
// SKEIN_TEST_POSTGRES is set, on PostgreSQL (what --database-url runs).
func forEachDatabase(t *testing.T, fn func(t *testing.T, dbURL string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "") })
	if dsn := os.Getenv(storagetest.PostgresEnv); dsn != "" {
		t.Run("postgres", func(t *testing.T) { fn(t, storagetest.NewPostgresSchema(t, dsn)) })
	}
}

func checkRows(t *testing.T, rows []result) {
	t.Helper()
	for _, r := range rows {
		if r.Requests == 0 || r.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors (%s)", r.Name, r.Requests, r.Errors, r.FirstErr)
		}
	}
}

func TestReadSmoke(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, dbURL string) {
		tg, _ := startNode(t, dbURL)
		rows, err := runRead(context.Background(), tg, readOptions{Duration: 700 * time.Millisecond, Concurrency: 4, Phases: readPhases})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 9 { // five phases and four scale rows
			t.Fatalf("%d rows: %+v", len(rows), rows)
		}
		checkRows(t, rows)
	})
}

// testHosts starts n fake hosts for the test, stopped when it ends.
func testHosts(t *testing.T, n, perHost, distinctKeys int) []*fakeHost {
	t.Helper()
	hosts, err := startHosts(n, perHost, distinctKeys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopHosts(hosts) })
	return hosts
}

// userInbox addresses user1 of the host, with its shared inbox.
func userInbox(h *fakeHost) storage.Recipient {
	return storage.Recipient{Inbox: h.ActorID("user1") + "/inbox", SharedInbox: h.SharedInbox()}
}

// announce is a delivery job (id job) of an Announce (id activity) of
// the manifest's first thread by the thread itself, signed with its key.
func announce(t *testing.T, tg *target, job, activity string, to ...storage.Recipient) storage.NewActivity {
	t.Helper()
	th := tg.Manifest.Threads[0]
	id, err := storage.ParseID(th.ID)
	if err != nil {
		t.Fatal(err)
	}
	actor := tg.Base + "/t/" + th.ID
	return storage.NewActivity{APID: actor + job, ActorID: actor, KeyOwnerKind: storage.KeyOwnerThread, KeyOwnerID: id, Inboxes: to,
		Body: []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Announce","id":"` + actor + activity + `","actor":"` + actor + `","object":"` + actor + `"}`)}
}

// TestFakeHostsVerifyNodeSignatures sends an activity from the node's
// delivery worker to fake hosts, which must fetch the node's key and
// verify every signature: the receiving side of the fanout scenario.
func TestFakeHostsVerifyNodeSignatures(t *testing.T) {
	tg, n := startNode(t, "")
	hosts := testHosts(t, 5, 2, 2)
	var to []storage.Recipient
	for _, h := range hosts {
		to = append(to, userInbox(h))
	}
	if err := n.Store.EnqueueActivities(context.Background(), []storage.NewActivity{announce(t, tg, "#announce-test", "#announce-test", to...)}); err != nil {
		t.Fatal(err)
	}
	n.Delivery.Notify()
	deadline := time.Now().Add(20 * time.Second)
	for _, h := range hosts {
		for h.Received.Load() == 0 && h.Rejected.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if h.Received.Load() != 1 || h.Rejected.Load() != 0 {
			t.Fatalf("host %s: %d received, %d rejected (%s)", h.Base, h.Received.Load(), h.Rejected.Load(), h.FirstError())
		}
	}
}

func TestIngestSmoke(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, dbURL string) {
		tg, _ := startNode(t, dbURL)
		ctx := context.Background()
		rows, err := runIngest(ctx, tg, ingestOptions{Duration: 2 * time.Second, Concurrency: 4, Hosts: 2, Actors: 3,
			Threads: 4, Presign: 300, Rate: 100, Settle: 30 * time.Second, Watch: 2, WatchEvery: 50 * time.Millisecond}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		checkRows(t, rows)
		// The run's findings: rates, the backlog, the 202-to-visible
		// latency of the watched threads, and the tool's own CPU.
		got := strings.Join(rows[1].Lines, "\n")
		for _, want := range []string{"accepted ", "backlog at the end of the load", "202 to visible", "load tool: "} {
			if !strings.Contains(got, want) {
				t.Errorf("ingest findings lack %q:\n%s", want, got)
			}
		}
	})
}

func TestFanoutSmoke(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, dbURL string) {
		tg, _ := startNode(t, dbURL)
		ctx := context.Background()
		row, err := runFanout(ctx, tg, fanoutOptions{Followers: 40, Hosts: 8, Timeout: 5 * time.Second}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		checkRows(t, []result{row})
	})
}

// The fan-out's hosts count every delivery per activity id: an activity
// the node delivers twice to one host is a duplicate, which fails the
// run.
func TestFanoutCountsDuplicates(t *testing.T) {
	tg, n := startNode(t, "")
	ctx := context.Background()
	hosts := testHosts(t, 2, 1, 2)
	// The same activity to the first host twice (a node bug), once to the
	// second.
	twice := []storage.NewActivity{announce(t, tg, "#a", "#announce-twice", userInbox(hosts[0])),
		announce(t, tg, "#b", "#announce-twice", userInbox(hosts[0])), announce(t, tg, "#c", "#announce-twice", userInbox(hosts[1]))}
	if err := n.Store.EnqueueActivities(ctx, twice); err != nil {
		t.Fatal(err)
	}
	n.Delivery.Notify()
	if err := awaitDrained(ctx, dataPlace{tg.DataDir, ""}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := hosts[0].Received.Load() + hosts[1].Received.Load(); got != 3 {
		t.Fatalf("%d deliveries verified, want 3 (%s %s)", got, hosts[0].FirstError(), hosts[1].FirstError())
	}
	dups, first := duplicates(hosts)
	if dups != 1 || !strings.Contains(first, hosts[0].Host) {
		t.Fatalf("duplicates = %d (%q), want 1 on %s", dups, first, hosts[0].Host)
	}
}

// TestGTSSmoke runs the side-by-side scenario for a moment: the real
// GoToSocial must show every Note it accepted, and so must Skein.
func TestGTSSmoke(t *testing.T) {
	peer := defaultPeer()
	if _, err := os.Stat(filepath.Join(peer, "gotosocial")); err != nil {
		t.Skipf("no GoToSocial peer at %s (set SKEIN_GOTOSOCIAL): %v", peer, err)
	}
	if testing.Short() {
		t.Skip("starts GoToSocial (10-30 s); not in -short")
	}
	tg, _ := startNode(t, "")
	ctx := context.Background()
	hosts := testHosts(t, 2, 2, 2)
	g := gtsOptions{Peer: peer, Users: 2, Hosts: 2, Actors: 2, Threads: 4, Presign: 60, Duration: time.Second,
		Concurrency: 4, Settle: time.Minute}
	gts, err := runGTSSide(ctx, g, hosts, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := runSkeinSide(ctx, tg, g, hosts, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []sideResult{gts, sk} {
		if r.Accepted == 0 || r.Row.Errors != 0 || r.Visible != r.Accepted {
			t.Errorf("%s: %d accepted, %d visible, %d errors (%s)", r.Name, r.Accepted, r.Visible, r.Row.Errors, r.Row.FirstErr)
		}
	}
	if gts.PeakRSS == 0 || gts.Notifications == 0 {
		t.Errorf("gotosocial: peak RSS %d kB, %d notifications", gts.PeakRSS, gts.Notifications)
	}
	var out strings.Builder
	reportSides(&out, g, []sideResult{gts, sk})
	if !strings.Contains(out.String(), "skein / gotosocial") {
		t.Errorf("no ratio in the report:\n%s", out.String())
	}
}

// A second fan-out on the same data directory replaces the followers
// the first one wrote (their hosts are gone): it seeds, delivers to the
// new hosts only, and fails nothing.
func TestFanoutRerun(t *testing.T) {
	tg, _ := startNode(t, "")
	ctx := context.Background()
	for run := 1; run <= 2; run++ {
		row, err := runFanout(ctx, tg, fanoutOptions{Followers: 40, Hosts: 8, Timeout: 10 * time.Second}, io.Discard)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		checkRows(t, []result{row})
	}
}

// Seeding the followers again with the same hosts (what a fake host's
// port used again by a later run looks like to the node) keeps one
// account per actor, points it at the host, and leaves the thread with
// exactly the new followers. Before each seeding after the first, every
// remote account is made to point elsewhere, with another key, as an
// earlier run's host on the same port would have left it.
func TestSeedFollowersAgain(t *testing.T) {
	tg, _ := startNode(t, "")
	ctx := context.Background()
	place := dataPlace{tg.DataDir, ""}
	id, err := storage.ParseID(tg.Manifest.Threads[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	first, second := testHosts(t, 3, 2, 2), testHosts(t, 2, 2, 2)
	// The third seeding's four followers: user1 of each second host,
	// user1 of first[0] (known), user2 of second[0].
	for i, step := range []struct {
		hosts    []*fakeHost
		n        int
		accounts int // remote accounts after it
	}{{first, 6, 6}, {first, 6, 6}, {append(second, first[0]), 4, 9}} {
		if i > 0 {
			store, err := place.open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = store.DB().NewRaw("UPDATE accounts SET inbox = 'http://gone.example/inbox', shared_inbox = 'http://gone.example/inbox', " +
				"public_key_pem = 'an earlier key' WHERE domain <> ''").Exec(ctx)
			store.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := seedFollowers(ctx, place, id, step.hosts, step.n); err != nil {
			t.Fatal(err)
		}
		store, err := place.open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var follows, accounts int
		err = store.ReadDB().NewRaw("SELECT COUNT(*) FROM follows WHERE target_kind = ? AND target_id = ?", storage.FollowThread, id).
			Scan(ctx, &follows)
		if err == nil {
			err = store.ReadDB().NewRaw("SELECT COUNT(*) FROM accounts WHERE domain <> ''").Scan(ctx, &accounts)
		}
		for j := range step.n {
			if err != nil {
				break
			}
			h := step.hosts[j%len(step.hosts)]
			want := h.actor(h.names[(j/len(step.hosts))%len(h.names)])
			var got *storage.Account
			if got, err = store.AccountByAPID(ctx, want.ID); err == nil &&
				(got.Inbox != want.Inbox() || got.SharedInbox != want.SharedInbox() || got.PublicKeyPEM != want.PublicKeyPEM()) {
				t.Errorf("seeding %d: %s points at %s, %s with key %.30q; want its host's %s, %s, %.30q", i+1, want.ID,
					got.Inbox, got.SharedInbox, got.PublicKeyPEM, want.Inbox(), want.SharedInbox(), want.PublicKeyPEM())
			}
		}
		store.Close()
		if err != nil {
			t.Fatal(err)
		}
		if follows != step.n || accounts != step.accounts {
			t.Fatalf("after seeding %d followers: %d follows, %d remote accounts", step.n, follows, accounts)
		}
	}
}
