package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// errHelp means the user asked for --help, which was printed.
var errHelp = errors.New("help shown")

// flagSet wraps flag.FlagSet so every flag also reads SKEIN_<NAME> from
// the environment, and mistakes come back as one-line usage errors
// instead of the flag package's usage dump.
type flagSet struct {
	fs     *flag.FlagSet
	usage  string
	stdout io.Writer
	envErr error

	positional []string
}

func newFlagSet(name, usage string, stdout io.Writer) *flagSet {
	fs := flag.NewFlagSet("skein "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{fs: fs, usage: usage, stdout: stdout}
}

func envName(flagName string) string {
	return "SKEIN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (f *flagSet) String(p *string, name, def, help string) {
	f.fs.StringVar(p, name, fromEnv(f, name, def, func(v string) (string, error) { return v, nil }, ""), envHelp(name, help))
}

func (f *flagSet) Bool(p *bool, name string, def bool, help string) {
	f.fs.BoolVar(p, name, fromEnv(f, name, def, strconv.ParseBool, "true or false"), envHelp(name, help))
}

func (f *flagSet) Duration(p *time.Duration, name string, def time.Duration, help string) {
	f.fs.DurationVar(p, name, fromEnv(f, name, def, time.ParseDuration, "a duration like 30s"), envHelp(name, help))
}

func (f *flagSet) Int(p *int, name string, def int, help string) {
	f.fs.IntVar(p, name, fromEnv(f, name, def, strconv.Atoi, "a whole number"), envHelp(name, help))
}

// fromEnv is a flag's default: the value of its SKEIN_* variable when
// that is set, read by parse, else def. A value parse refuses is kept for
// [flagSet.parse] to report, saying what was wanted.
func fromEnv[T any](f *flagSet, name string, def T, parse func(string) (T, error), want string) T {
	v, ok := os.LookupEnv(envName(name))
	if !ok {
		return def
	}
	x, err := parse(v)
	if err != nil {
		f.envErr = fmt.Errorf("%s=%q: want %s", envName(name), v, want)
	}
	return x
}

// envHelp adds the flag's variable to its help line.
func envHelp(name, help string) string { return help + " ($" + envName(name) + ")" }

// parse reads args. It returns errHelp after printing help, and
// errUsage-wrapped one-line errors for bad flags.
func (f *flagSet) parse(args []string) error {
	if f.envErr != nil {
		return fmt.Errorf("%w: %w", errUsage, f.envErr)
	}
	// Go's flag package stops at the first positional argument; admins
	// write `skein user create alice --admin`, so flags may follow
	// positionals: parse, set aside one positional, repeat.
	var positional []string
	for {
		err := f.fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			f.printHelp()
			return errHelp
		}
		if err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		rest := f.fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			positional = append(positional, rest[1:]...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	f.positional = positional
	return nil
}

func (f *flagSet) printHelp() {
	fmt.Fprintf(f.stdout, "Usage: %s\n\nFlags:\n", f.usage)
	f.fs.SetOutput(f.stdout)
	f.fs.PrintDefaults()
	f.fs.SetOutput(io.Discard)
}

// Args returns the positional arguments.
func (f *flagSet) Args() []string { return f.positional }
