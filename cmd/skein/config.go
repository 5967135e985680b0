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
	if v, ok := os.LookupEnv(envName(name)); ok {
		def = v
	}
	f.fs.StringVar(p, name, def, help+" ($"+envName(name)+")")
}

func (f *flagSet) Bool(p *bool, name string, def bool, help string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.envErr = fmt.Errorf("%s=%q: want true or false", envName(name), v)
		}
		def = b
	}
	f.fs.BoolVar(p, name, def, help+" ($"+envName(name)+")")
}

func (f *flagSet) Duration(p *time.Duration, name string, def time.Duration, help string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.envErr = fmt.Errorf("%s=%q: want a duration like 30s", envName(name), v)
		}
		def = d
	}
	f.fs.DurationVar(p, name, def, help+" ($"+envName(name)+")")
}

func (f *flagSet) Int(p *int, name string, def int, help string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.envErr = fmt.Errorf("%s=%q: want a whole number", envName(name), v)
		}
		def = n
	}
	f.fs.IntVar(p, name, def, help+" ($"+envName(name)+")")
}

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
