// Package cputime reads the CPU time the running process has used, for
// benchmarks: on a shared machine a benchmark's wall time says more about
// the neighbours than about the code, while the process's own user and
// system time does not move with them.
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time, user and system, the process has used so far;
// zero where the system cannot tell (getrusage does not fail for the
// calling process on the systems Skein runs on).
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
