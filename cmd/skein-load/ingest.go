package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
)

func cmdIngest(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := newFlags("ingest", &o, out)
	var io_ ingestOptions
	fs.IntVar(&io_.Hosts, "hosts", 20, "remote hosts")
	fs.IntVar(&io_.Actors, "actors", 10, "actors per remote host")
	fs.IntVar(&io_.Threads, "reply-threads", 100, "threads the replies go to")
	fs.IntVar(&io_.Presign, "presign", 0, "requests signed before the clock starts (default: 4,000 per second of --duration)")
	fs.DurationVar(&io_.Settle, "settle", 2*time.Minute, "how long to wait for every accepted activity to become a post")
	fs.Float64Var(&io_.Rate, "rate", 0, "requests a second to offer (0: as fast as the node accepts them, which saturates it); latency targets are read at a rate")
	fs.IntVar(&io_.Watch, "watch-threads", 16, "threads polled for the 202-to-visible latency")
	fs.DurationVar(&io_.WatchEvery, "watch-every", 100*time.Millisecond, "how often they are polled (the latency's resolution)")
	return runScenario(ctx, "ingest", fs, args, &o, out, func(t *target) ([]result, error) {
		io_.Duration, io_.Concurrency = o.Duration, o.Concurrency
		io_.profile = profilePath(&o, "ingest.cpu.pprof")
		io_.selfProfile = o.SelfProfile
		return runIngest(ctx, t, io_, out)
	})
}

type ingestOptions struct {
	Duration    time.Duration
	Concurrency int
	Hosts       int
	Actors      int
	Threads     int
	Presign     int
	Settle      time.Duration
	Rate        float64       // requests a second offered in all; 0: as fast as accepted
	Watch       int           // threads whose counts are polled for the 202-to-visible latency
	WatchEvery  time.Duration // how often
	profile     string
	selfProfile string // directory for the tool's own CPU profile of the load
}

// signedPost is a request signed and serialized ahead of time.
type signedPost struct {
	wireRequest
	thread int // the index of the thread it replies in, for the counts
}

// runIngest has remote actors POST signed Create{Note} replies to the
// node's shared inbox as fast as it accepts them for o.Duration, then
// checks that every accepted activity became a post.
//
// Signing (about 1.2 ms of RSA per request) is the load tool's cost, not
// the node's, so every request is signed in a pre-pass just before the
// clock starts; the node accepts a Date up to an hour and five minutes
// old (signature.DateWindow), far more than the pre-pass and the run.
func runIngest(ctx context.Context, t *target, o ingestOptions, log io.Writer) ([]result, error) {
	if err := probeInbox(ctx, t.Base); err != nil {
		return nil, err
	}
	m := t.Manifest
	threads := m.Threads[:min(len(m.Threads), max(1, o.Threads))]
	hosts, err := startHosts(o.Hosts, o.Actors, 8)
	if err != nil {
		return nil, err
	}
	defer stopHosts(hosts)
	// The POSTs go on connections of their own (sendAt); this client is
	// the pollers'.
	client := newClient(16)
	defer client.CloseIdleConnections()
	counts := newThreadCounts(client, t.Base, threads)
	before, err := counts.read(ctx, nil)
	if err != nil {
		return nil, err
	}
	n := o.Presign
	switch {
	case n > 0:
	case o.Rate > 0:
		n = int(o.Rate*o.Duration.Seconds()*1.05) + o.Concurrency
	default:
		n = int(o.Duration.Seconds() * 4000)
	}
	// One warm-up request per actor, so the node has fetched every actor
	// before the clock starts; they count for the loss check.
	actors := o.Hosts * o.Actors
	fmt.Fprintf(log, "signing %d warm-up and %d timed requests on %d cores...\n", actors, n, runtime.NumCPU())
	signStart := time.Now()
	reqs, err := presign(ctx, t.Base, hosts, threads, actors+n)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "signed in %.1fs\n", time.Since(signStart).Seconds())
	warmRes, warmAcc := send(ctx, reqs[:actors], min(o.Concurrency, 8), time.Hour)
	warmRes.Name = "ingest warm-up (actor fetches)"
	// The clock starts with the warm-up applied, so the backlog at the
	// start is zero and what is visible later is the timed load's.
	warmAccepted := warmRes.Requests - warmRes.Errors
	start, warmVisible, _, err := awaitVisible(ctx, counts, before, perThread(warmAcc, len(threads)), o.Settle)
	if err != nil {
		return nil, err
	}
	if warmVisible != warmAccepted {
		warmRes.Errors += max(warmAccepted-warmVisible, warmVisible-warmAccepted)
		warmRes.FirstErr = fmt.Sprintf("%d accepted, %d became posts", warmAccepted, warmVisible)
	}
	watched := newThreadCounts(client, t.Base, threads[:min(o.Watch, len(threads))])
	sent := make(sentCounts, len(watched.urls))
	watch := watchVisible(ctx, watched, start, o.WatchEvery, sent)
	gets0 := counts.Gets.Load()
	var prof <-chan error
	if o.profile != "" {
		prof = t.profile(ctx, o.profile, o.Duration-time.Second)
	}
	stopSelf := selfProfile(selfProfilePath(o.selfProfile, "ingest"), log)
	span := t.startCPU()
	res, acc := sendAt(ctx, reqs[actors:], o.Concurrency, o.Duration, o.Rate, sent)
	cpuLoad, toolLoad := span.since()
	stopSelf()
	loadEnd := time.Now()
	res.Name = "ingest"
	res.CPU, res.ToolCPU = cpuLoad, toolLoad
	// What the load left behind: posts not visible yet, and inbox items
	// not done, read at once before anything drains.
	atEnd, err := counts.read(ctx, nil)
	if err != nil {
		return nil, err
	}
	pending := inboxPending(ctx, dataPlace{t.DataDir, t.DatabaseURL})
	if prof != nil {
		if err := <-prof; err != nil {
			fmt.Fprintln(log, "profile:", err)
		}
	}
	accepted := int64(len(acc))
	if int(res.Requests) == n {
		res.Note = fmt.Sprintf("ran out of pre-signed requests after %.1fs: raise --presign", res.Elapsed.Seconds())
	}
	// Zero loss: every 202 must become a post.
	_, created, seen, err := awaitVisible(ctx, counts, start, perThread(acc, len(threads)), o.Settle)
	if err != nil {
		return nil, err
	}
	drain := max(0, seen.Sub(loadEnd))
	cpuAll, _ := span.since()
	samples := watch()
	polls := pollFigures{Gets: counts.Gets.Load() - gets0 + watched.Gets.Load(), NotModified: counts.NotModified.Load() + watched.NotModified.Load(),
		Every: o.WatchEvery}
	lost := accepted - created
	verdict := fmt.Sprintf("%d accepted, %d became posts, %d lost", accepted, created, lost)
	if res.Note != "" {
		res.Note += "; "
	}
	res.Note += verdict
	if lost != 0 {
		// More posts than accepted activities is as wrong as fewer: the
		// count no longer proves anything.
		res.Errors += max(lost, -lost)
		res.FirstErr = verdict
	}
	var visibleAtEnd int64
	for i := range atEnd {
		visibleAtEnd += atEnd[i] - start[i]
	}
	res.Lines = ingestFindings(ingestFigures{
		Elapsed: res.Elapsed, Accepted: accepted, VisibleAtEnd: visibleAtEnd, Created: created,
		Drain: drain, Pending: pending, CPULoad: cpuLoad, CPUAll: cpuAll, ToolLoad: toolLoad, Requests: res.Requests,
		Latency: visibleLatencies(acc, samples), Watched: len(samples), Deferred: res.Deferred, Polls: polls,
	})
	return []result{warmRes, res}, nil
}

// inboxPending counts the node's inbox items not done yet, reading its
// database beside it (SQLite in WAL mode has room for another reader);
// -1 when there is no database to read.
func inboxPending(ctx context.Context, place dataPlace) int64 {
	if place.Dir == "" && place.DatabaseURL == "" {
		return -1
	}
	store, err := place.open(ctx)
	if err != nil {
		return -1
	}
	defer store.Close()
	st, err := store.QueueStats(ctx, time.Now())
	if err != nil {
		return -1
	}
	return st.InboxPending
}

// ingestFigures are what an ingest run measured beyond its table row.
type ingestFigures struct {
	Elapsed      time.Duration   // the timed load
	Accepted     int64           // 202s during it
	VisibleAtEnd int64           // of them, posts visible when the load ended
	Created      int64           // posts visible once drained
	Drain        time.Duration   // from the end of the load until every accepted one was visible
	Pending      int64           // inbox items not done at the end of the load; -1 unknown
	CPULoad      time.Duration   // node CPU during the load
	CPUAll       time.Duration   // node CPU during the load and the drain
	ToolLoad     time.Duration   // the load tool's own CPU during the load
	Requests     int64           // POSTs answered during the load
	Latency      []time.Duration // 202 to visible of the watched threads' activities, sorted
	Watched      int             // threads watched for Latency
	Deferred     int64           // 503s with Retry-After, each sent again after the wait
	Polls        pollFigures     // the reads of the post counts over the load and the drain
}

// pollFigures are the reads of the threads' post counts that found what
// was visible: requests the node served, counted in its CPU.
type pollFigures struct {
	Gets        int64         // GETs of posts collections
	NotModified int64         // of them, answered 304
	Every       time.Duration // how often the watched threads were read
}

// ingestFindings words the figures: the rates a remote server and a
// reader see, the delay between them, what was left to do, and the
// node's CPU per activity.
func ingestFindings(f ingestFigures) []string {
	secs := f.Elapsed.Seconds()
	var out []string
	out = append(out, fmt.Sprintf("accepted %.0f/s; applied %.0f/s during the load (%d of %d visible when it ended); "+
		"end to end %.0f/s (all %d visible %.1fs after the load)",
		float64(f.Accepted)/secs, float64(f.VisibleAtEnd)/secs, f.VisibleAtEnd, f.Accepted,
		float64(f.Created)/(secs+f.Drain.Seconds()), f.Created, f.Drain.Seconds()))
	if f.Deferred > 0 {
		out = append(out, fmt.Sprintf("turned away %d times with 503 and Retry-After (%.0f/s; the node's queue held more than it "+
			"applies in its limit): each was sent again after the wait, as a real sender retries", f.Deferred, float64(f.Deferred)/secs))
	}
	backlog := f.Accepted - f.VisibleAtEnd
	rate := float64(f.VisibleAtEnd) / secs
	work := "-"
	if rate > 0 {
		work = fmt.Sprintf("%.1fs", float64(backlog)/rate)
	}
	pending := "unknown"
	if f.Pending >= 0 {
		pending = strconv.FormatInt(f.Pending, 10)
	}
	out = append(out, fmt.Sprintf("backlog at the end of the load: %d accepted not visible, %s inbox items pending; "+
		"%s of work at the load's applied rate, drained in %.1fs", backlog, pending, work, f.Drain.Seconds()))
	if n := len(f.Latency); n > 0 {
		out = append(out, fmt.Sprintf("202 to visible (%d activities on %d watched threads, read every %s: the resolution): "+
			"p50 %s, p90 %s, p99 %s, max %s", n, f.Watched, f.Polls.Every, ms(percentile(f.Latency, 50)),
			ms(percentile(f.Latency, 90)), ms(percentile(f.Latency, 99)), ms(f.Latency[n-1])))
	}
	if f.Polls.Gets > 0 {
		out = append(out, fmt.Sprintf("reads of the posts counts during the load and the drain: %d GETs (%.0f/s), %d answered 304 "+
			"Not Modified; the node's CPU below includes serving them", f.Polls.Gets,
			float64(f.Polls.Gets)/(secs+f.Drain.Seconds()), f.Polls.NotModified))
	}
	if f.CPUAll > 0 && f.Created > 0 {
		out = append(out, fmt.Sprintf("node CPU: %.0fµs per activity accepted and applied (%.1fs over the load and the drain); "+
			"%.2f cores during the load", float64(f.CPUAll.Microseconds())/float64(f.Created), f.CPUAll.Seconds(),
			f.CPULoad.Seconds()/secs))
	}
	if line := toolShare(f.ToolLoad, f.CPULoad, f.Elapsed, f.Requests); line != "" {
		out = append(out, line)
	}
	return out
}

// presign builds and signs n Create{Note} requests for the shared inbox
// of the node at base, each a reply in one of threads.
func presign(ctx context.Context, base string, hosts []*fakeHost, threads []ManifestThread, n int) ([]signedPost, error) {
	return presignNotes(ctx, hosts, n, func(r *rand.Rand) (noteTarget, int) {
		ti := r.IntN(len(threads))
		th := threads[ti]
		threadActor := base + "/t/" + th.ID
		return noteTarget{Inbox: base + "/inbox", InReplyTo: base + "/p/" + th.FirstPost, Context: threadActor + "/posts",
			MentionID: threadActor, MentionName: "@t." + th.ID + "@" + hostOf(base)}, ti
	})
}

// presignNotes builds and signs n Create{Note} requests on every core,
// actors taking turns so the first len(actors) requests come from
// distinct ones; pick says where each goes (and its thread, for the
// counts).
func presignNotes(ctx context.Context, hosts []*fakeHost, n int, pick func(*rand.Rand) (noteTarget, int)) ([]signedPost, error) {
	type actorRef struct {
		h    *fakeHost
		name string
	}
	var actors []actorRef
	for _, h := range hosts {
		for _, name := range h.names {
			actors = append(actors, actorRef{h, name})
		}
	}
	out := make([]signedPost, n)
	var next atomic.Int64
	var g errgroup.Group
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	for w := range runtime.NumCPU() {
		g.Go(func() error {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return ctx.Err()
				}
				a := actors[i%len(actors)]
				to, thread := pick(r)
				body := createNote(a.h, a.name, runID+"-"+strconv.Itoa(i), to, r)
				req, err := a.h.actor(a.name).NewPost(to.Inbox, body)
				if err != nil {
					return err
				}
				w, err := newWireRequest(req)
				if err != nil {
					return err
				}
				out[i] = signedPost{wireRequest: w, thread: thread}
			}
		})
	}
	return out, g.Wait()
}

// hostOf is the host (and port) of an http(s) base URL.
func hostOf(base string) string {
	_, rest, _ := strings.Cut(base, "://")
	host, _, _ := strings.Cut(rest, "/")
	return host
}

// send POSTs reqs with conc workers until they run out or d passes.
// Requests in flight when d passes are finished and counted, not
// cancelled: a cancelled POST may still have been accepted, and the loss
// check must know every accepted activity.
func send(ctx context.Context, reqs []signedPost, conc int, d time.Duration) (result, []acceptance) {
	return sendAt(ctx, reqs, conc, d, 0, nil)
}

// sendAt is send at most perSecond requests a second in all (0: as fast
// as the node answers), so that latency can be read at a given load
// rather than at saturation. It counts in sent, per thread, the requests
// written that may become posts.
func sendAt(ctx context.Context, reqs []signedPost, conc int, d time.Duration, perSecond float64, sent sentCounts) (result, []acceptance) {
	var rec recorder
	deadline := time.Now().Add(d)
	var next atomic.Int64
	var wg sync.WaitGroup
	accepted := make([][]acceptance, conc)
	limit := rate.NewLimiter(rate.Inf, 0)
	if perSecond > 0 {
		limit = rate.NewLimiter(rate.Limit(perSecond), 1)
	}
	start := time.Now()
	for w := range conc {
		sh := rec.shard()
		wg.Go(func() {
			conn := newWireConn(ctx, 30*time.Second)
			defer conn.Close()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if limit.Wait(ctx) != nil {
					return
				}
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				p := reqs[i]
			again:
				t0 := time.Now()
				sent.add(p.thread, 1)
				resp, err := conn.Do(p.wireRequest)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					sh.fail(time.Since(t0), 0, err)
					continue
				}
				el := time.Since(t0)
				if wait, ok := retryAfter(resp); ok {
					// What a real sender does with a busy server: the
					// same activity again, later, each sender after a
					// wait of its own (a herd coming back at once
					// would find the queue full again). Not accepted
					// if the load ends first, so not counted either way.
					sent.add(p.thread, -1)
					sh.deferred++
					wait += rand.N(max(wait, time.Second))
					if time.Now().Add(wait).After(deadline) {
						return
					}
					select {
					case <-ctx.Done():
						return
					case <-time.After(wait):
					}
					goto again
				}
				if resp.status != http.StatusAccepted && resp.status != http.StatusOK {
					sent.add(p.thread, -1) // refused: it will not become a post
					sh.fail(el, resp.status, nil)
					continue
				}
				sh.ok(el)
				accepted[w] = append(accepted[w], acceptance{thread: p.thread, at: t0.Add(el)})
			}
		})
	}
	wg.Wait()
	return rec.result("", time.Since(start)), slices.Concat(accepted...)
}

// retryAfter reads a 503's Retry-After in seconds: the node turning a
// sender away while its queue is full.
func retryAfter(resp wireAnswer) (time.Duration, bool) {
	if resp.status != http.StatusServiceUnavailable {
		return 0, false
	}
	secs, err := strconv.Atoi(resp.retryAfter)
	if err != nil || secs < 0 {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}

// acceptance is an activity the node answered 202, and when.
type acceptance struct {
	thread int
	at     time.Time
}

// noteTarget is where a Note goes and whom it addresses.
type noteTarget struct {
	Inbox       string // where it is POSTed
	InReplyTo   string // the post it answers; "" for a post of its own
	Context     string // its conversation's collection; "" for none
	MentionID   string // the actor it mentions (and addresses in cc)
	MentionName string // and its @name@host
}

// createNote is a Note as Mastodon 4 sends it: the full JSON-LD context
// with its extensions, HTML content starting with a mention, a hashtag
// and the usual unknown properties (about 2.5 KB).
func createNote(h *fakeHost, name, seq string, to noteTarget, r *rand.Rand) []byte {
	actor := h.ActorID(name)
	noteID := actor + "/statuses/" + seq
	now := time.Now().UTC().Format(time.RFC3339)
	para := loremSentences[r.IntN(len(loremSentences))] + " " + loremSentences[r.IntN(len(loremSentences))]
	mention, _, _ := strings.Cut(strings.TrimPrefix(to.MentionName, "@"), "@")
	content := `<p><span class="h-card" translate="no"><a href="` + to.MentionID + `" class="u-url mention">@<span>` + mention +
		`</span></a></span> ` + para + `</p><p>` + loremSentences[r.IntN(len(loremSentences))] +
		` <a href="` + h.Base + `/tags/sourdough" class="mention hashtag" rel="tag">#<span>sourdough</span></a></p>`
	var inReplyTo any
	if to.InReplyTo != "" {
		inReplyTo = to.InReplyTo
	}
	note := map[string]any{
		"id":               noteID,
		"type":             "Note",
		"summary":          nil,
		"inReplyTo":        inReplyTo,
		"published":        now,
		"url":              h.Base + "/@" + name + "/" + seq,
		"attributedTo":     actor,
		"to":               []any{"https://www.w3.org/ns/activitystreams#Public"},
		"cc":               []any{actor + "/followers", to.MentionID},
		"sensitive":        false,
		"atomUri":          noteID,
		"inReplyToAtomUri": inReplyTo,
		"conversation":     "tag:" + h.Base[7:] + "," + now[:10] + ":objectId=" + seq + ":objectType=Conversation",
		"content":          content,
		"contentMap":       map[string]any{"en": content},
		"attachment":       []any{},
		"tag": []any{
			map[string]any{"type": "Mention", "href": to.MentionID, "name": to.MentionName},
			map[string]any{"type": "Hashtag", "href": h.Base + "/tags/sourdough", "name": "#sourdough"},
		},
		"replies": map[string]any{"id": noteID + "/replies", "type": "Collection",
			"first": map[string]any{"type": "CollectionPage", "next": noteID + "/replies?only_other_accounts=true&page=true",
				"partOf": noteID + "/replies", "items": []any{}}},
		"likes":  map[string]any{"id": noteID + "/likes", "type": "Collection", "totalItems": 0},
		"shares": map[string]any{"id": noteID + "/shares", "type": "Collection", "totalItems": 0},
	}
	if to.Context != "" {
		note["context"] = to.Context
	}
	doc := map[string]any{
		"@context": []any{
			"https://www.w3.org/ns/activitystreams",
			"https://w3id.org/security/v1",
			map[string]any{
				"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri", "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
				"conversation": "ostatus:conversation", "sensitive": "as:sensitive", "toot": "http://joinmastodon.org/ns#",
				"votersCount": "toot:votersCount", "Hashtag": "as:Hashtag", "blurhash": "toot:blurhash",
				"focalPoint": map[string]any{"@container": "@list", "@id": "toot:focalPoint"},
			},
		},
		"id":        noteID + "/activity",
		"type":      "Create",
		"actor":     actor,
		"published": now,
		"to":        []any{"https://www.w3.org/ns/activitystreams#Public"},
		"cc":        []any{actor + "/followers", to.MentionID},
		"object":    note,
	}
	b, _ := json.Marshal(doc)
	return b
}

var loremSentences = []string{
	"I tried the rye trick last week and the starter doubled in six hours, which it never did before.",
	"Keep the jar somewhere around 24 degrees; a cold kitchen is the usual reason a starter sulks.",
	"Discard is great in pancakes, crackers and even in pizza dough if you give it a long cold proof.",
	"Hydration matters less than people think; feeding on a fixed schedule matters a lot more.",
	"My loaves spread flat until I learned to build surface tension when shaping, not before.",
	"Try a 1:5:5 feed overnight if your starter peaks too early and collapses by the morning.",
	"Whole wheat flour ferments faster, so the same schedule with it will overproof the dough.",
	"Steam for the first twenty minutes, then vent the oven; the crust colours much more evenly.",
}
