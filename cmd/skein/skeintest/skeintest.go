// Package skeintest builds the skein command once per test binary, for
// tests that run it as a separate process (the admin commands, a node
// killed and restarted), and finds such a process a loopback address.
package skeintest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the path of the skein command built from this module,
// building it on the first call, as the README does: CGO_ENABLED=0, a
// static binary. A TestMain calls [Cleanup] once the tests have run.
func Binary() (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "skein-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "skein")
		// The go command running the tests put its own directory first
		// in PATH, so this finds the same toolchain.
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = err
			return
		}
		build := exec.Command(goTool, "build", "-o", binPath, "github.com/skein-forum/skein/cmd/skein")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	return binPath, buildErr
}

// Cleanup removes the binary [Binary] built, if it built one.
func Cleanup() {
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
}

// FreeAddr is a loopback address nothing listens on yet.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
