package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

const apAccept = `application/activity+json`

// readPhases are the read scenario's phases in the order they run.
var readPhases = []string{"thread", "thread-member", "collection", "actor", "search", "scale"}

// searchQueries are words of the seeded prose, alone and in pairs, as a
// guest types them into the search box.
var searchQueries = []string{"starter", "rye", "crumb", "oven", "hydration", "levain", "banneton", "autolyse",
	"rye crumb", "starter jar", "steam oven", "cold retard", "bulk fold", "spelt loaf"}

func cmdRead(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := newFlags("read", &o, out)
	phases := fs.String("phases", strings.Join(readPhases, ","), "phases to run: "+strings.Join(readPhases, ","))
	return runScenario(ctx, "read", fs, args, &o, out, func(t *target) ([]result, error) {
		return runRead(ctx, t, readOptions{Duration: o.Duration, Concurrency: o.Concurrency,
			Phases: strings.Split(*phases, ","), profile: func(name string) string { return profilePath(&o, "read-"+name+".cpu.pprof") },
			selfProfile: o.SelfProfile})
	})
}

type readOptions struct {
	Duration    time.Duration
	Concurrency int
	Phases      []string
	profile     func(phase string) string // CPU profile path of a phase, "" for none
	selfProfile string                    // directory for the tool's own profile of each phase, "" for none
}

// newClient keeps one keep-alive connection per worker.
func newClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns * 2,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// runRead runs the read phases against t.
func runRead(ctx context.Context, t *target, o readOptions) ([]result, error) {
	m := t.Manifest
	if len(m.Threads) == 0 {
		return nil, fmt.Errorf("the data has no threads to read")
	}
	client := newClient(o.Concurrency)
	defer client.CloseIdleConnections()
	// Readers favour some threads: a Zipf distribution over threads
	// (s=1.1), a uniform page within the thread.
	pickThread := func(r *rand.Rand, z *rand.Zipf) ManifestThread { return m.Threads[z.Uint64()] }
	lastPage := func(th ManifestThread) int64 { return max(1, (th.Posts+19)/20) }
	get := func(url, accept, cookie string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if cookie != "" {
			req.Header.Set("Cookie", "skein_session="+cookie)
		}
		return req
	}
	threadPage := func(cookie string) func(r *rand.Rand, z *rand.Zipf) *http.Request {
		return func(r *rand.Rand, z *rand.Zipf) *http.Request {
			th := pickThread(r, z)
			page := 1 + r.Int64N(lastPage(th))
			url := t.Base + "/t/" + th.ID
			if page > 1 {
				url += "?page=" + strconv.FormatInt(page, 10)
			}
			return get(url, "text/html", cookie)
		}
	}
	var rows []result
	for _, phase := range o.Phases {
		var next func(r *rand.Rand, z *rand.Zipf) *http.Request
		minBytes := 2000
		switch phase {
		case "thread":
			next = threadPage("")
		case "thread-member":
			if m.Session == "" {
				return nil, fmt.Errorf("thread-member: no session in the manifest")
			}
			next = threadPage(m.Session)
		case "collection":
			next = func(r *rand.Rand, z *rand.Zipf) *http.Request {
				th := pickThread(r, z)
				from := 1 + r.Int64N(lastPage(th))*20
				return get(t.Base+"/t/"+th.ID+"/posts?page=true&from="+strconv.FormatInt(from, 10), apAccept, "")
			}
		case "actor":
			// A local actor's key pair is made on its first fetch (RSA
			// key generation, tens to hundreds of milliseconds), so the
			// phase reads a fixed set of 64 actors fetched once before
			// the clock starts: it measures serving documents, not
			// making keys.
			minBytes = 500
			var urls []string
			for i := range min(32, len(m.Threads)) {
				urls = append(urls, t.Base+"/t/"+m.Threads[i].ID)
			}
			for i := range min(32, len(m.Members)) {
				urls = append(urls, t.Base+"/u/"+m.Members[i])
			}
			if err := warm(ctx, client, urls); err != nil {
				return nil, err
			}
			next = func(r *rand.Rand, _ *rand.Zipf) *http.Request {
				return get(urls[r.IntN(len(urls))], apAccept, "")
			}
		case "search":
			// Full-text search as a guest (each query a page of 20
			// hits with snippets): the index answers, no cache.
			minBytes = 1000
			next = func(r *rand.Rand, _ *rand.Zipf) *http.Request {
				return get(t.Base+"/search?q="+url.QueryEscape(searchQueries[r.IntN(len(searchQueries))]), "text/html", "")
			}
		case "scale":
			if len(m.LongThreads) == 0 {
				continue
			}
			scale, err := runScale(ctx, t, client, o)
			if err != nil {
				return nil, err
			}
			rows = append(rows, scale...)
			continue
		default:
			return nil, fmt.Errorf("unknown read phase %q", phase)
		}
		var prof <-chan error
		if o.profile != nil {
			prof = t.profile(ctx, o.profile(phase), o.Duration-time.Second)
		}
		stopSelf := selfProfile(selfProfilePath(o.selfProfile, "read-"+phase), t.log)
		span := t.startCPU()
		res := hammer(ctx, client, o.Concurrency, o.Duration, len(m.Threads), next, okStatus(http.StatusOK, minBytes))
		res.Name = phase
		res.CPU, res.ToolCPU = span.since()
		stopSelf()
		rows = append(rows, res)
		if prof != nil {
			if err := <-prof; err != nil {
				fmt.Fprintln(t.log, "profile:", err)
			}
		}
	}
	return rows, nil
}

// warm fetches each URL once, a few at a time.
func warm(ctx context.Context, client *http.Client, urls []string) error {
	var g errgroup.Group
	g.SetLimit(4)
	for _, u := range urls {
		g.Go(func() error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			req.Header.Set("Accept", apAccept)
			resp, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("warm %s: %w", u, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("warm %s: status %d", u, resp.StatusCode)
			}
			return nil
		})
	}
	return g.Wait()
}

// runScale compares the first and last page of the longest seeded thread,
// as a member (rendered every time) and as a collection page.
func runScale(ctx context.Context, t *target, client *http.Client, o readOptions) ([]result, error) {
	th := slices.MaxFunc(t.Manifest.LongThreads, func(a, b ManifestThread) int { return int(a.Posts - b.Posts) })
	last := max(1, (th.Posts+19)/20)
	d := max(o.Duration/2, 200*time.Millisecond)
	var rows []result
	for _, c := range []struct {
		name   string
		url    string
		accept string
		cookie string
	}{
		{"scale: page 1 (member)", "/t/" + th.ID, "text/html", t.Manifest.Session},
		{fmt.Sprintf("scale: page %d (member)", last), "/t/" + th.ID + "?page=" + strconv.FormatInt(last, 10), "text/html", t.Manifest.Session},
		{"scale: collection from=1", "/t/" + th.ID + "/posts?page=true&from=1", apAccept, ""},
		{fmt.Sprintf("scale: collection from=%d", (last-1)*20+1), "/t/" + th.ID + "/posts?page=true&from=" + strconv.FormatInt((last-1)*20+1, 10), apAccept, ""},
	} {
		url := t.Base + c.url
		span := t.startCPU()
		res := hammer(ctx, client, o.Concurrency, d, 1, func(*rand.Rand, *rand.Zipf) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Accept", c.accept)
			if c.cookie != "" {
				req.Header.Set("Cookie", "skein_session="+c.cookie)
			}
			return req
		}, okStatus(http.StatusOK, 1000))
		res.Name = c.name
		res.CPU, res.ToolCPU = span.since()
		rows = append(rows, res)
	}
	for i := 0; i+1 < len(rows); i += 2 {
		if rows[i].P50 > 0 {
			rows[i+1].Note = fmt.Sprintf("last/first p50 = %.2f, p99 = %.2f (%d-post thread)",
				float64(rows[i+1].P50)/float64(rows[i].P50), float64(rows[i+1].P99)/float64(max(rows[i].P99, 1)), th.Posts)
		}
	}
	return rows, nil
}

// okStatus checks a response's status and minimum size.
func okStatus(status, minBytes int) func(*http.Response, []byte) error {
	return func(resp *http.Response, body []byte) error {
		if resp.StatusCode != status {
			return fmt.Errorf("%s %s: status %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode)
		}
		if len(body) < minBytes {
			return fmt.Errorf("%s %s: only %d bytes", resp.Request.Method, resp.Request.URL.Path, len(body))
		}
		return nil
	}
}

// hammer runs conc closed-loop workers for d, each sending the requests
// next makes, and returns the phase's result.
func hammer(ctx context.Context, client *http.Client, conc int, d time.Duration, items int,
	next func(*rand.Rand, *rand.Zipf) *http.Request, check func(*http.Response, []byte) error) result {
	var rec recorder
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	var seed atomic.Uint64
	start := time.Now()
	for range conc {
		sh := rec.shard()
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed.Add(1), uint64(time.Now().UnixNano())))
			z := rand.NewZipf(r, 1.1, 1, uint64(max(items, 1)-1))
			var buf bytes.Buffer
			for ctx.Err() == nil {
				req := next(r, z).WithContext(ctx)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() != nil {
						return // the phase ended mid-request
					}
					sh.fail(time.Since(t0), 0, err)
					continue
				}
				buf.Reset()
				_, err = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				el := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					sh.fail(el, 0, err)
					continue
				}
				if err := check(resp, buf.Bytes()); err != nil {
					sh.fail(el, resp.StatusCode, err)
					continue
				}
				sh.ok(el)
			}
		})
	}
	wg.Wait()
	return rec.result("", time.Since(start))
}
