package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// recorder collects the latency of every request of one phase. Workers
// append to their own shard, so recording costs no lock on the hot path;
// percentiles come from sorting the merged samples at the end (a few
// hundred thousand durations sort in milliseconds).
type recorder struct {
	mu     sync.Mutex
	shards []*shard
}

type shard struct {
	lat      []time.Duration
	errors   int64
	deferred int64         // 503s with Retry-After, sent again after it
	status   map[int]int64 // unexpected statuses
	first    string        // first error, for the report
}

func (r *recorder) shard() *shard {
	s := &shard{lat: make([]time.Duration, 0, 1<<14), status: map[int]int64{}}
	r.mu.Lock()
	r.shards = append(r.shards, s)
	r.mu.Unlock()
	return s
}

func (s *shard) ok(d time.Duration) { s.lat = append(s.lat, d) }

func (s *shard) fail(d time.Duration, status int, err error) {
	s.lat = append(s.lat, d)
	s.errors++
	if status != 0 {
		s.status[status]++
	}
	if s.first == "" {
		if err != nil {
			s.first = err.Error()
		} else {
			s.first = fmt.Sprintf("status %d", status)
		}
	}
}

// result is one row of a report.
type result struct {
	Name     string
	Requests int64
	Errors   int64
	Elapsed  time.Duration
	P50      time.Duration
	P90      time.Duration
	P99      time.Duration
	Max      time.Duration
	FirstErr string
	Note     string
	// CPU is the node's CPU time (user and system) over the phase, when
	// the node is a child process; zero when unknown.
	CPU time.Duration
	// ToolCPU is the load tool's own CPU time over the phase: on a shared
	// machine, CPU the node did not get.
	ToolCPU time.Duration
	// Lines are further findings printed under the table.
	Lines []string
	// Deferred counts answers that asked to try again later (503 with
	// Retry-After); the request was sent again after the wait, and is
	// counted once, by its final answer.
	Deferred int64
}

func (r result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

func (r *recorder) result(name string, elapsed time.Duration) result {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []time.Duration
	res := result{Name: name, Elapsed: elapsed}
	statuses := map[int]int64{}
	for _, s := range r.shards {
		all = append(all, s.lat...)
		res.Errors += s.errors
		res.Deferred += s.deferred
		for k, v := range s.status {
			statuses[k] += v
		}
		if res.FirstErr == "" {
			res.FirstErr = s.first
		}
	}
	res.Requests = int64(len(all))
	slices.Sort(all)
	res.P50, res.P90, res.P99 = percentile(all, 50), percentile(all, 90), percentile(all, 99)
	if len(all) > 0 {
		res.Max = all[len(all)-1]
	}
	if len(statuses) > 0 {
		var parts []string
		for k, v := range statuses {
			parts = append(parts, fmt.Sprintf("%d×%d", v, k))
		}
		slices.Sort(parts)
		res.FirstErr = strings.Join(parts, " ") + "; first: " + res.FirstErr
	}
	return res
}

// percentile reads the p-th percentile of sorted samples (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// report prints results as a table, then the node's memory and notes.
func report(w io.Writer, title string, rows []result, mem memStats) {
	fmt.Fprintf(w, "\n== %s\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\trequests\terrors\tseconds\treq/s\tp50\tp90\tp99\tmax\tnode CPU/req\ttool CPU/req\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Name, r.Requests, r.Errors, r.Elapsed.Seconds(),
			r.RPS(), ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max), perRequest(r.CPU, r.Requests), perRequest(r.ToolCPU, r.Requests))
	}
	tw.Flush()
	for _, r := range rows {
		if r.FirstErr != "" {
			fmt.Fprintf(w, "  %s errors: %s\n", r.Name, r.FirstErr)
		}
		if r.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", r.Name, r.Note)
		}
		for _, l := range r.Lines {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
	fmt.Fprintf(w, "  node memory: %s\n", mem)
}

// perRequest words CPU time spread over n requests; "-" when unknown.
func perRequest(cpu time.Duration, n int64) string {
	if cpu <= 0 || n <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fµs", float64(cpu.Nanoseconds())/1000/float64(n))
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
}

// memStats is what the node's /proc/PID/status says about its memory.
type memStats struct {
	Known   bool
	IdleRSS int64 // kB, after start-up and before the load
	RSS     int64 // kB, now
	PeakRSS int64 // kB, VmHWM: the high-water mark since the node started
}

func (m memStats) String() string {
	if !m.Known {
		return "unknown (not a child process of skein-load)"
	}
	return fmt.Sprintf("idle RSS %.1f MB, RSS now %.1f MB, peak RSS %.1f MB", mb(m.IdleRSS), mb(m.RSS), mb(m.PeakRSS))
}

func mb(kb int64) float64 { return float64(kb) / 1024 }
