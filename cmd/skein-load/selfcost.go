package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/skein-forum/skein/internal/cputime"
)

// The load tool runs on the machine it measures, so every CPU-second it
// spends is one the node did not get. It reports its own CPU beside the
// node's, so a reader sees the split, and can profile itself
// (--self-profile) to keep that share small.

// cpuSpan measures the CPU of the node and of the tool over one phase;
// the tool's is getrusage's (microseconds, not the 10 ms ticks of /proc,
// and without the child node).
type cpuSpan struct {
	t          *target
	node, tool time.Duration
}

// startCPU opens a span at the CPU used so far.
func (t *target) startCPU() cpuSpan { return cpuSpan{t: t, node: t.CPU(), tool: cputime.Process()} }

// since is the node's and the tool's CPU from the span's start until now.
func (s cpuSpan) since() (node, tool time.Duration) {
	return s.t.CPU() - s.node, cputime.Process() - s.tool
}

// toolShare words the tool's cost over a phase of elapsed that sent
// requests: the cores it kept busy and its CPU per request, beside the
// node's cores when known, e.g. "load tool: 0.21 cores, 70µs per
// request (node: 1.62 cores)".
func toolShare(tool, node, elapsed time.Duration, requests int64) string {
	if tool <= 0 || elapsed <= 0 || requests <= 0 {
		return ""
	}
	s := fmt.Sprintf("load tool: %.2f cores, %.0fµs per request", tool.Seconds()/elapsed.Seconds(),
		float64(tool.Microseconds())/float64(requests))
	if node > 0 {
		s += fmt.Sprintf(" (node: %.2f cores)", node.Seconds()/elapsed.Seconds())
	}
	return s
}

// selfProfile starts a CPU profile of the tool into path and returns the
// function that stops it; with no path it does nothing. Only one
// profile runs at a time, so a phase's profile covers that phase alone.
func selfProfile(path string, log io.Writer) (stop func()) {
	if path == "" {
		return func() {}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		fmt.Fprintln(log, "self-profile:", err)
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(log, "self-profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintln(log, "self-profile:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintln(log, "self-profile:", err)
		}
	}
}
