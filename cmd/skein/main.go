// Command skein runs a Skein forum node and administers it: `skein serve`
// starts the node, the other subcommands manage its database from the
// shell. This package parses flags and wires; the work happens in the
// packages it calls.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // members' time zones work on machines without a zone database
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

// errUsage marks mistakes in the command line: exit status 2.
var errUsage = errors.New("usage")

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the forum node", runServe},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"user", "manage members: create, list, set-password, suspend, silence, role, approve", runUser},
		{"forum", "manage forums: create, list, edit", runForum},
		{"thread", "move a thread to another forum", runThread},
		{"domain", "block, unblock and list remote servers; the allow list", runDomain},
		{"report", "list and resolve reports", runReport},
		{"audit", "show the audit log of moderation actions", runAudit},
		{"backup", "write a consistent copy of a running node's SQLite database", runBackup},
		{"db", "copy a whole node into an empty database: SQLite to PostgreSQL and back", runDB},
		{"version", "print the version", func(_ context.Context, _ []string, _ io.Reader, w io.Writer) error {
			fmt.Fprintln(w, "skein", Version)
			return nil
		}},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status: 0 on
// success, 1 on failure, 2 on a usage error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		mainUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdin, stdout)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, errHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "skein %s: %s\n", c.name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
			return 2
		default:
			fmt.Fprintf(stderr, "skein %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "skein: unknown command %q (run 'skein --help')\n", args[0])
	return 2
}

func mainUsage(w io.Writer) {
	fmt.Fprintf(w, "Skein %s: a federated forum node.\n\nUsage: skein COMMAND [flags]\n\nCommands:\n", Version)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'skein COMMAND --help' for a command's flags. Every flag can also be set")
	fmt.Fprintln(w, "with an environment variable: --base-url is SKEIN_BASE_URL, and so on.")
}
