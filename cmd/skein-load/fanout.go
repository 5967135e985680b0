package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/skein-forum/skein/federation/fedtest"
	"github.com/skein-forum/skein/storage"
)

func cmdFanout(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := newFlags("fanout", &o, out)
	var fo fanoutOptions
	fs.IntVar(&fo.Followers, "followers", 10000, "remote followers of the thread")
	fs.IntVar(&fo.Hosts, "hosts", 1000, "remote hosts the followers live on (each with a shared inbox)")
	fs.DurationVar(&fo.Timeout, "timeout", time.Minute, "how long to wait for every host")
	return runScenario(ctx, "fanout", fs, args, &o, out, func(t *target) ([]result, error) {
		fo.profile = profilePath(&o, "fanout.cpu.pprof")
		row, err := runFanout(ctx, t, fo, out)
		return []result{row}, err
	})
}

type fanoutOptions struct {
	Followers int
	Hosts     int
	Timeout   time.Duration
	profile   string
}

// runFanout gives a seeded thread F remote followers on H fake hosts,
// posts one reply through the web form as a seeded member, and times
// until every host has received the thread's Announce and verified its
// signature.
//
// The followers are written into the node's database (storage.
// SeedFollowers) rather than played as signed Follows: the figure is the
// fan-out of one post, and a Follow-by-Follow set-up of 10,000 followers
// would measure the inbox instead.
func runFanout(ctx context.Context, t *target, o fanoutOptions, log io.Writer) (result, error) {
	res := result{Name: fmt.Sprintf("fanout: %d followers on %d hosts", o.Followers, o.Hosts)}
	if t.DataDir == "" {
		return res, fmt.Errorf("fanout writes the followers into the node's database: it needs --data-dir")
	}
	th := t.Manifest.Threads[len(t.Manifest.Threads)-1]
	threadID, err := storage.ParseID(th.ID)
	if err != nil {
		return res, err
	}
	perHost := max(1, o.Followers/max(o.Hosts, 1))
	hosts, err := startHosts(o.Hosts, perHost, 8)
	if err != nil {
		return res, err
	}
	defer stopHosts(hosts)

	// Each host records when the first verified Announce arrived.
	var mu sync.Mutex
	var start time.Time
	arrived := map[*fakeHost]time.Duration{}
	done := make(chan struct{})
	for _, h := range hosts {
		h.OnActivity = func(h *fakeHost, d fedtest.Delivery) {
			if d.Type() != "Announce" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if _, ok := arrived[h]; ok || start.IsZero() {
				return
			}
			arrived[h] = time.Since(start)
			if len(arrived) == len(hosts) {
				close(done)
			}
		}
	}
	place := dataPlace{t.DataDir, t.DatabaseURL}
	if err := seedFollowers(ctx, place, threadID, hosts, o.Followers); err != nil {
		return res, err
	}
	fmt.Fprintf(log, "%d followers on %d hosts follow thread %s\n", o.Followers, len(hosts), th.ID)
	// A server that follows a thread has fetched its actor and key (and
	// the node made the key to sign its Accept). The followers above were
	// written without that, so do it before the clock starts: otherwise
	// the run times the node generating an RSA key (50-300 ms, at random)
	// while every host waits for the first key fetch.
	if _, _, err := hosts[0].keys.Lookup(ctx, t.Base+"/t/"+th.ID+"#main-key"); err != nil {
		return res, fmt.Errorf("fetch the thread's key as its followers did: %w", err)
	}

	var prof <-chan error
	if o.profile != "" {
		prof = t.profile(ctx, o.profile, 5*time.Second)
	}
	span := t.startCPU()
	mu.Lock()
	start = time.Now()
	mu.Unlock()
	if err := postReply(ctx, t, th.ID, "A new post for every follower. "+time.Now().Format(time.RFC3339Nano)); err != nil {
		return res, err
	}
	var timedOut bool
	select {
	case <-done:
	case <-time.After(o.Timeout):
		timedOut = true
	case <-ctx.Done():
		return res, ctx.Err()
	}
	elapsed := time.Since(start)
	cpu, toolCPU := span.since()
	// Every delivery counts, late ones too: wait until the node has
	// nothing left to send before the duplicates are counted.
	if err := awaitDrained(ctx, place, o.Timeout); err != nil {
		fmt.Fprintln(log, "fanout:", err)
	}
	if prof != nil {
		if err := <-prof; err != nil {
			fmt.Fprintln(log, "profile:", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var rec recorder
	sh := rec.shard()
	for _, d := range arrived {
		sh.ok(d)
	}
	res = rec.result(res.Name, elapsed)
	res.CPU = cpu         // per host: each host is one signed POST
	res.ToolCPU = toolCPU // the hosts verifying those signatures, mostly
	var rejected int64
	var firstErr string
	for _, h := range hosts {
		rejected += h.Rejected.Load()
		if firstErr == "" {
			firstErr = h.FirstError()
		}
	}
	dups, firstDup := duplicates(hosts)
	res.Name = fmt.Sprintf("fanout: %d followers on %d hosts", o.Followers, len(hosts))
	res.Errors = rejected + int64(len(hosts)-len(arrived)) + dups
	if res.Errors > 0 {
		res.FirstErr = fmt.Sprintf("%d of %d hosts got the Announce, %d deliveries failed verification, %d were duplicates; first: %s",
			len(arrived), len(hosts), rejected, dups, cmp.Or(firstErr, firstDup))
	}
	if timedOut {
		res.Note = fmt.Sprintf("timed out after %s (is the outbox worker in this build?)", o.Timeout)
	} else {
		res.Note = fmt.Sprintf("every host had the signed Announce %.0f ms after the reply was sent (the max column)", float64(res.Max.Microseconds())/1000)
	}
	return res, nil
}

// seedFollowers makes the n followers on hosts the thread's only remote
// followers; SQLite in WAL mode takes a second writer process with a busy
// wait. It can run again on the same data: the remote followers an
// earlier run wrote are dropped first (their hosts are gone), and an
// actor already known to the node (a fake host's port used again, by an
// earlier fanout or ingest run) keeps its account, which is pointed at
// the new host's inboxes and key, and follows again
// ([storage.Store.SeedFollowers]).
func seedFollowers(ctx context.Context, place dataPlace, threadID storage.ID, hosts []*fakeHost, n int) error {
	store, err := place.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	var fs []storage.RemoteFollower
	for i := range n {
		h := hosts[i%len(hosts)]
		a := h.actor(h.names[(i/len(hosts))%len(h.names)])
		fs = append(fs, storage.RemoteFollower{APID: a.ID, Handle: a.Name, Domain: h.Host,
			Inbox: a.Inbox(), SharedInbox: a.SharedInbox(), PublicKeyID: a.KeyID(), PublicKeyPEM: a.PublicKeyPEM()})
	}
	if err := store.DropRemoteFollowers(ctx, storage.FollowThread, threadID); err != nil {
		return err
	}
	return store.SeedFollowers(ctx, storage.FollowThread, threadID, fs)
}

// awaitDrained waits until the node's outbox and delivery queues are
// empty: after that nothing more will arrive anywhere.
func awaitDrained(ctx context.Context, place dataPlace, timeout time.Duration) error {
	store, err := place.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	deadline := time.Now().Add(timeout)
	for {
		st, err := store.QueueStats(ctx, time.Now())
		if err != nil {
			return err
		}
		events, err := store.PendingEvents(ctx, 1)
		if err != nil {
			return err
		}
		if st.Deliveries == 0 && len(events) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d deliveries still queued after %s", st.Deliveries, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// postReply posts through the web form as the seeded member whose session
// the manifest holds.
func postReply(ctx context.Context, t *target, threadID, text string) error {
	form := url.Values{"body": {text}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.Base+"/t/"+threadID+"/reply", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "skein_session="+t.Manifest.Session)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post the reply: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		return fmt.Errorf("post the reply: status %d", resp.StatusCode)
	}
	return nil
}
