package cputime_test

import (
	"testing"

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
