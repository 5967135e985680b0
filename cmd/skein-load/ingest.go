package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, cleanup, err := setup(ctx, &o, out)
	if err != nil {
		return err
	}
	defer cleanup()
	io_.Duration, io_.Concurrency = o.Duration, o.Concurrency
	io_.profile = profilePath(&o, "ingest.cpu.pprof")
	rows, err := runIngest(ctx, t, io_, out)
	if err != nil {
		return err
	}
	return finish(ctx, out, t, &o, "ingest", rows)
}

type ingestOptions struct {
	Duration    time.Duration
	Concurrency int
	Hosts       int
	Actors      int
	Threads     int
	Presign     int
	Settle      time.Duration
	profile     string
}

// signedPost is a request signed ahead of time.
type signedPost struct {
	url    string
	body   []byte
	header http.Header
	thread int
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
	client := newClient(o.Concurrency)
	defer client.CloseIdleConnections()

	before, err := postCounts(ctx, client, t.Base, threads)
	if err != nil {
		return nil, err
	}
	n := o.Presign
	if n <= 0 {
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
	warmRes := send(ctx, client, reqs[:actors], min(o.Concurrency, 8), time.Hour)
	warmRes.Name = "ingest warm-up (actor fetches)"
	var prof <-chan error
	if o.profile != "" {
		prof = t.profile(ctx, o.profile, o.Duration-time.Second)
	}
	res := send(ctx, client, reqs[actors:], o.Concurrency, o.Duration)
	res.Name = "ingest"
	if prof != nil {
		if err := <-prof; err != nil {
			fmt.Fprintln(log, "profile:", err)
		}
	}
	accepted := warmRes.Requests - warmRes.Errors + res.Requests - res.Errors
	if int(res.Requests) == n {
		res.Note = fmt.Sprintf("ran out of pre-signed requests after %.1fs: raise --presign", res.Elapsed.Seconds())
	}
	// Zero loss: every 202 must become a post.
	settleStart := time.Now()
	var created int64
	for {
		after, err := postCounts(ctx, client, t.Base, threads)
		if err != nil {
			return nil, err
		}
		created = 0
		for i := range after {
			created += after[i] - before[i]
		}
		if created >= accepted || time.Since(settleStart) > o.Settle {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	lost := accepted - created
	verdict := fmt.Sprintf("%d accepted, %d became posts (%.1fs after the load), %d lost", accepted, created,
		time.Since(settleStart).Seconds(), lost)
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
	return []result{warmRes, res}, nil
}

// postCounts reads each thread's totalItems from its posts collection.
func postCounts(ctx context.Context, client *http.Client, base string, threads []ManifestThread) ([]int64, error) {
	out := make([]int64, len(threads))
	var g errgroup.Group
	g.SetLimit(8)
	for i, th := range threads {
		g.Go(func() error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/t/"+th.ID+"/posts", nil)
			req.Header.Set("Accept", apAccept)
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var c struct {
				TotalItems int64 `json:"totalItems"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
				return fmt.Errorf("posts of %s: %w", th.ID, err)
			}
			out[i] = c.TotalItems
			return nil
		})
	}
	return out, g.Wait()
}

// presign builds and signs n Create{Note} requests on every core, actors
// taking turns so the first len(actors) requests come from distinct ones.
func presign(ctx context.Context, base string, hosts []*fakeHost, threads []ManifestThread, n int) ([]signedPost, error) {
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
				ti := r.IntN(len(threads))
				body := createNote(a.h, a.name, runID+"-"+strconv.Itoa(i), base, threads[ti], r)
				req, err := a.h.actor(a.name).NewPost(base+"/inbox", body)
				if err != nil {
					return err
				}
				out[i] = signedPost{url: req.URL.String(), body: body, header: req.Header, thread: ti}
			}
		})
	}
	return out, g.Wait()
}

// send POSTs reqs with conc workers until they run out or d passes.
// Requests in flight when d passes are finished and counted, not
// cancelled: a cancelled POST may still have been accepted, and the loss
// check must know every accepted activity.
func send(ctx context.Context, client *http.Client, reqs []signedPost, conc int, d time.Duration) result {
	var rec recorder
	deadline := time.Now().Add(d)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		sh := rec.shard()
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				p := reqs[i]
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.body))
				req.Header = p.header
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					sh.fail(time.Since(t0), 0, err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				el := time.Since(t0)
				if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
					sh.fail(el, resp.StatusCode, nil)
					continue
				}
				sh.ok(el)
			}
		})
	}
	wg.Wait()
	return rec.result("", time.Since(start))
}

// createNote is a reply as Mastodon 4 sends it: the full JSON-LD context
// with its extensions, a Note with HTML content, a mention of the thread,
// a hashtag and the usual unknown properties (about 2.5 KB).
func createNote(h *fakeHost, name, seq, base string, th ManifestThread, r *rand.Rand) []byte {
	actor := h.ActorID(name)
	noteID := actor + "/statuses/" + seq
	threadActor := base + "/t/" + th.ID
	now := time.Now().UTC().Format(time.RFC3339)
	para := loremSentences[r.IntN(len(loremSentences))] + " " + loremSentences[r.IntN(len(loremSentences))]
	content := `<p><span class="h-card" translate="no"><a href="` + threadActor + `" class="u-url mention">@<span>t.` + th.ID +
		`</span></a></span> ` + para + `</p><p>` + loremSentences[r.IntN(len(loremSentences))] +
		` <a href="` + h.Base + `/tags/sourdough" class="mention hashtag" rel="tag">#<span>sourdough</span></a></p>`
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
		"cc":        []any{actor + "/followers", threadActor},
		"object": map[string]any{
			"id":               noteID,
			"type":             "Note",
			"summary":          nil,
			"inReplyTo":        base + "/p/" + th.FirstPost,
			"published":        now,
			"url":              h.Base + "/@" + name + "/" + seq,
			"attributedTo":     actor,
			"to":               []any{"https://www.w3.org/ns/activitystreams#Public"},
			"cc":               []any{actor + "/followers", threadActor},
			"sensitive":        false,
			"atomUri":          noteID,
			"inReplyToAtomUri": base + "/p/" + th.FirstPost,
			"conversation":     "tag:" + h.Base[7:] + "," + now[:10] + ":objectId=" + seq + ":objectType=Conversation",
			"context":          threadActor + "/posts",
			"content":          content,
			"contentMap":       map[string]any{"en": content},
			"attachment":       []any{},
			"tag": []any{
				map[string]any{"type": "Mention", "href": threadActor, "name": "@t." + th.ID + "@" + base[7:]},
				map[string]any{"type": "Hashtag", "href": h.Base + "/tags/sourdough", "name": "#sourdough"},
			},
			"replies": map[string]any{"id": noteID + "/replies", "type": "Collection",
				"first": map[string]any{"type": "CollectionPage", "next": noteID + "/replies?only_other_accounts=true&page=true",
					"partOf": noteID + "/replies", "items": []any{}}},
			"likes":  map[string]any{"id": noteID + "/likes", "type": "Collection", "totalItems": 0},
			"shares": map[string]any{"id": noteID + "/shares", "type": "Collection", "totalItems": 0},
		},
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
