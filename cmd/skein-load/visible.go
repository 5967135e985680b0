package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// A post is visible once its thread's posts collection counts it: the
// collection's totalItems is the thread's post count, which the thread
// page shows too. The tool reads it over HTTP, as a reader would, and
// every read is work the node does and counts in its CPU per activity,
// so the reads are conditional: each carries the ETag of the thread's
// last answer, and a thread that has not changed since costs the node a
// version lookup and a 304 with no body, and the tool no decoding.

// threadCounts reads the post counts of a fixed list of threads. It is
// not safe for concurrent use; the counts it returns are copies.
type threadCounts struct {
	client *http.Client
	urls   []string
	etags  []string
	counts []int64
	// Gets and NotModified count the reads, and those answered 304.
	Gets, NotModified atomic.Int64
}

func newThreadCounts(client *http.Client, base string, threads []ManifestThread) *threadCounts {
	c := &threadCounts{client: client, etags: make([]string, len(threads)), counts: make([]int64, len(threads))}
	for _, th := range threads {
		c.urls = append(c.urls, base+"/t/"+th.ID+"/posts")
	}
	return c
}

// read reads the counts of the threads that need says need a read (all
// when need is nil), keeps the others' last counts, and returns them all.
func (c *threadCounts) read(ctx context.Context, need func(i int) bool) ([]int64, error) {
	var g errgroup.Group
	g.SetLimit(8)
	for i, u := range c.urls {
		if need != nil && !need(i) {
			continue
		}
		g.Go(func() error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			req.Header.Set("Accept", apAccept)
			if c.etags[i] != "" {
				req.Header.Set("If-None-Match", c.etags[i])
			}
			c.Gets.Add(1)
			resp, err := c.client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusNotModified:
				c.NotModified.Add(1)
				return nil
			case http.StatusOK:
			default:
				return fmt.Errorf("posts of %s: status %d", u, resp.StatusCode)
			}
			var doc struct {
				TotalItems int64 `json:"totalItems"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
				return fmt.Errorf("posts of %s: %w", u, err)
			}
			c.counts[i], c.etags[i] = doc.TotalItems, resp.Header.Get("ETag")
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.Clone(c.counts), nil
}

// perThread counts the acceptances of each of n threads.
func perThread(acc []acceptance, n int) []int64 {
	out := make([]int64, n)
	for _, a := range acc {
		if a.thread < n {
			out[a.thread]++
		}
	}
	return out
}

// awaitVisible polls the threads' post counts until each thread i shows
// want[i] more posts than from[i], or settle passes, and returns the
// counts, how many posts they hold beyond from, and when the poll that
// ended the wait returned. A thread that has shown its posts is not asked
// again until the end, when one last read of every thread (304s,
// mostly) gives the counts returned, extra posts included.
func awaitVisible(ctx context.Context, tc *threadCounts, from, want []int64, settle time.Duration) ([]int64, int64, time.Time, error) {
	deadline := time.Now().Add(settle)
	var at time.Time
	var counts []int64
	pending := func(i int) bool { return counts == nil || counts[i]-from[i] < want[i] }
	for {
		var err error
		if counts, err = tc.read(ctx, pending); err != nil {
			return nil, 0, at, err
		}
		at = time.Now()
		done := true
		for i := range counts {
			if pending(i) {
				done = false
				break
			}
		}
		if done || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, 0, at, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	counts, err := tc.read(ctx, nil)
	if err != nil {
		return nil, 0, at, err
	}
	var n int64
	for i := range counts {
		n += counts[i] - from[i]
	}
	return counts, n, at, nil
}

// countSample is a thread's post count and when it was read.
type countSample struct {
	at time.Time
	n  int64
}

// sentCounts counts, per watched thread, the requests written to the
// node that may still become posts (a refused one is taken back).
type sentCounts []atomic.Int64

// add counts d more for thread; threads beyond the slice are not watched.
func (s sentCounts) add(thread int, d int64) {
	if thread < len(s) {
		s[thread].Add(d)
	}
}

// watchVisible polls the post counts of tc's threads every d (the
// latency's resolution; a few threads keep the polling a small part of
// the node's work) until the returned function is called, which returns
// each thread's samples, counted from start, one a tick.
//
// A tick reads only the threads with more requests written (sent, which
// the senders count before they write) than new posts seen: a thread's
// count cannot change before a request for it is on the wire, so a
// skipped read would have shown the count already known, and the
// samples are those of reading every thread every tick. Below
// saturation most ticks find most threads with nothing outstanding, and
// the node serves far fewer reads.
func watchVisible(ctx context.Context, tc *threadCounts, start []int64, d time.Duration, sent sentCounts) func() [][]countSample {
	samples := make([][]countSample, len(tc.urls))
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(d)
		defer tick.Stop()
		var last []int64
		need := func(i int) bool { return last == nil || i >= len(sent) || sent[i].Load() > last[i]-start[i] }
		for {
			counts, err := tc.read(ctx, need)
			if err == nil {
				last = counts
				now := time.Now()
				for i, c := range counts {
					samples[i] = append(samples[i], countSample{at: now, n: c - start[i]})
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() [][]countSample {
		cancel()
		<-done
		return samples
	}
}

// visibleLatencies matches each watched thread's activities, in the order
// they were accepted, with the reads of its count: the k-th accepted
// became visible by the first read that showed k new posts. The figure
// is an upper bound by up to the polling interval, and assumes a thread
// applies its activities in the order it accepted them (the counts
// cannot tell which post is which). The result is sorted.
func visibleLatencies(acc []acceptance, samples [][]countSample) []time.Duration {
	perThread := make([][]time.Time, len(samples))
	for _, a := range acc {
		if a.thread < len(samples) {
			perThread[a.thread] = append(perThread[a.thread], a.at)
		}
	}
	var out []time.Duration
	for i, times := range perThread {
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		s := samples[i]
		j := 0
		for k, at := range times {
			for j < len(s) && s[j].n < int64(k+1) {
				j++
			}
			if j == len(s) {
				break // never seen: the loss check reports it
			}
			out = append(out, max(0, s[j].at.Sub(at)))
		}
	}
	slices.Sort(out)
	return out
}
