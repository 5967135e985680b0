package cputime_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/skein-forum/skein/internal/cputime"
)

// Work done by the process shows as CPU time, and the clock never goes
// back.
func TestProcessCountsWork(t *testing.T) {
	before := cputime.Process()
	if before <= 0 {
		t.Fatalf("CPU time %v at the start of a test process", before)
	}
	sum := 0
	for i := range 50_000_000 {
		sum += i ^ (sum >> 3)
	}
	after := cputime.Process()
	if after <= before {
		t.Fatalf("CPU time went from %v to %v over a busy loop (%d)", before, after, sum)
	}
}

// A goroutine locked to its thread sees its own work in Thread, and none
// of another goroutine's.
func TestThreadCountsOwnWork(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := cputime.Thread()
	if before == 0 && runtime.GOOS != "linux" {
		t.Skip("no thread CPU time on", runtime.GOOS)
	}
	busy := func() int {
		sum := 0
		for i := range 50_000_000 {
			sum += i ^ (sum >> 3)
		}
		return sum
	}
	done := make(chan int)
	go func() { done <- busy() }()
	other := <-done
	mid := cputime.Thread()
	own := busy()
	after := cputime.Thread()
	if after-mid <= mid-before || after-mid < time.Millisecond {
		t.Fatalf("thread CPU time %v while another goroutine worked (%d), %v while it did the same work (%d)",
			mid-before, other, after-mid, own)
	}
}
