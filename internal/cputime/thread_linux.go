package cputime

import (
	"syscall"
	"time"
)

// rusageThread is Linux's RUSAGE_THREAD, which package syscall does not
// name.
const rusageThread = 1

// Thread is the CPU time, user and system, the calling OS thread has
// used so far: a goroutine locked to its thread (runtime.LockOSThread)
// reads its own, apart from the rest of the process (other goroutines,
// the garbage collector's background work). Zero where the system cannot
// tell.
func Thread() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
