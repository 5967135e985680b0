//go:build !linux

package cputime

import "time"

// Thread is the CPU time the calling OS thread has used; zero where the
// system cannot tell, as here.
func Thread() time.Duration { return 0 }
