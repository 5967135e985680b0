package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/skein-forum/skein/media"
	"github.com/skein-forum/skein/node"
	"github.com/skein-forum/skein/storage"
)

// dbFlags are the flags every command that opens the database takes.
type dbFlags struct {
	dataDir     string
	databaseURL string
	pool        storage.Pool
	allowEmpty  bool
	create      bool
}

func (d *dbFlags) register(f *flagSet) {
	f.String(&d.dataDir, "data", "./skein-data", "directory for the SQLite database and other state")
	f.String(&d.databaseURL, "database-url", "", "postgres:// URL; empty means SQLite in the data directory")
	f.Int(&d.pool.MaxOpen, "db-max-open", 0, fmt.Sprintf("most database connections this process opens (default %d on PostgreSQL; "+
		"on SQLite the readers', beside one writer)", storage.DefaultMaxOpen))
	f.Int(&d.pool.MaxIdle, "db-max-idle", 0, "most idle database connections kept open (default: --db-max-open)")
	f.Duration(&d.pool.MaxLifetime, "db-conn-max-lifetime", 30*time.Minute, "recycle a database connection after this long (0: never)")
	f.Bool(&d.allowEmpty, "allow-empty-database", false, "start on an empty --database-url although --data holds a SQLite node")
}

// options are the storage options the flags describe.
func (d *dbFlags) options() storage.Options {
	o := storage.Options{DataDir: d.dataDir, DatabaseURL: d.databaseURL, Pool: d.pool, AllowEmptyDatabase: d.allowEmpty}
	if o.Pool.MaxLifetime == 0 {
		o.Pool.MaxLifetime = -1 // the flag's 0 means never; Pool's zero means the default
	}
	return o
}

// check refuses pool sizes that cannot work.
func (d *dbFlags) check() error {
	if d.pool.MaxOpen < 0 || d.pool.MaxIdle < 0 || d.pool.MaxLifetime < 0 {
		return fmt.Errorf("%w: --db-max-open, --db-max-idle and --db-conn-max-lifetime cannot be negative", errUsage)
	}
	return nil
}

// registerAdmin is register for the commands other than serve, which
// work on an existing database unless told to make one.
func (d *dbFlags) registerAdmin(f *flagSet) {
	d.register(f)
	f.Bool(&d.create, "create", false, "make a new, empty database if there is none (otherwise that is an error)")
}

// connect opens the store without migrating. A SQLite data directory
// without a database is refused unless --create: a mistyped --data (or a
// command run from the wrong directory) must not quietly start an empty
// forum. (An empty PostgreSQL database beside a SQLite node is refused by
// storage.Open; one beside an empty data directory is a new forum.)
func (d *dbFlags) connect(ctx context.Context) (*storage.Store, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	if d.databaseURL == "" && !d.create {
		if _, err := os.Stat(filepath.Join(d.dataDir, storage.SQLiteFile)); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("there is no Skein database in %s: give the --data directory `skein serve` uses, "+
				"or add --create to make an empty one", d.dataDir)
		}
	}
	return storage.Open(ctx, d.options())
}

// open opens and migrates the store: every command works on the latest
// schema, like serve.
func (d *dbFlags) open(ctx context.Context) (*storage.Store, error) {
	s, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func runMigrate(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	var db dbFlags
	f := newFlagSet("migrate", "skein migrate [--data DIR] [--database-url DSN]", stdout)
	db.registerAdmin(f)
	if err := f.parse(args); err != nil {
		return err
	}
	if len(f.Args()) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, f.Args()[0])
	}
	s, err := db.connect(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	applied, err := s.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	for _, name := range applied {
		fmt.Fprintln(stdout, "applied", name)
	}
	return nil
}

func runUser(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	const usage = "skein user create NAME [--admin] [--moderator] [--email E] [--display-name N] [--password-file F]\n" +
		"       skein user list\n       skein user set-password NAME [--password-file F]\n" +
		"       skein user suspend|unsuspend|silence|unsilence|approve|reject NAME\n       skein user role NAME ROLE\n" +
		"The password is read from the first line of standard input unless --password-file is given."
	if len(args) == 0 {
		return fmt.Errorf("%w: missing subcommand: create, list or set-password", errUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "suspend", "unsuspend", "silence", "unsilence", "role", "approve", "reject":
		return runUserModeration(ctx, sub, args, stdout)
	}
	var db dbFlags
	var admin, moderator bool
	var email, displayName, passwordFile string
	f := newFlagSet("user "+sub, usage, stdout)
	db.registerAdmin(f)
	switch sub {
	case "create":
		f.Bool(&admin, "admin", false, "make the member an administrator")
		f.Bool(&moderator, "moderator", false, "make the member a moderator")
		f.String(&email, "email", "", "the member's email address")
		f.String(&displayName, "display-name", "", "the name shown on posts (default: the handle)")
		f.String(&passwordFile, "password-file", "", "read the password from this file instead of standard input")
	case "set-password":
		f.String(&passwordFile, "password-file", "", "read the password from this file instead of standard input")
	case "list":
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, "Usage: "+usage)
		return errHelp
	default:
		return fmt.Errorf("%w: unknown subcommand %q: create, list or set-password", errUsage, sub)
	}
	if err := f.parse(args); err != nil {
		return err
	}
	wantArgs := 1
	if sub == "list" {
		wantArgs = 0
	}
	if len(f.Args()) != wantArgs {
		return fmt.Errorf("%w: want %d argument(s), got %d", errUsage, wantArgs, len(f.Args()))
	}
	// The database first: a wrong --data fails before the password is
	// asked for.
	s, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	var password string
	if sub == "create" || sub == "set-password" {
		if sub == "create" {
			// A name that cannot be had fails before the password is asked for.
			if err := storage.ValidateHandle(strings.ToLower(f.Args()[0])); err != nil {
				return err
			}
		}
		if password, err = readPassword(stdin, os.Stderr, passwordFile); err != nil {
			return err
		}
	}

	switch sub {
	case "create":
		role := storage.RoleMember
		if moderator {
			role = storage.RoleModerator
		}
		if admin {
			role = storage.RoleAdmin
		}
		hash, err := storage.HashPassword(password)
		if err != nil {
			return err
		}
		m, err := s.CreateMember(ctx, storage.NewMember{Handle: f.Args()[0], DisplayName: displayName, Email: email, PasswordHash: hash, Role: role})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s %s\n", m.Role, m.Handle)
	case "set-password":
		m, err := s.MemberByHandle(ctx, f.Args()[0])
		if err != nil {
			return err
		}
		hash, err := storage.HashPassword(password)
		if err != nil {
			return err
		}
		if err := s.SetPassword(ctx, m.ID, hash); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password changed for %s; their sessions were ended\n", m.Handle)
	case "list":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "HANDLE\tROLE\tNAME\tJOINED\tPOSTS\tREPUTATION")
		var after storage.ID
		for {
			page, err := s.ListMembers(ctx, after, 500)
			if err != nil {
				return err
			}
			for _, m := range page {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", m.Handle, m.Role, m.DisplayName,
					m.CreatedAt.Format("2006-01-02"), m.PostCount, m.Reputation)
				after = m.ID
			}
			if len(page) < 500 {
				break
			}
		}
		tw.Flush()
	}
	return nil
}

// minPasswordLen matches the registration form's rule.
const minPasswordLen = 10

// readPassword reads a new password: from the file when one is given;
// else, when standard input is a terminal, typed twice without echo
// after a prompt on prompt; else the first line of standard input (a
// script's pipe).
func readPassword(stdin io.Reader, prompt io.Writer, file string) (string, error) {
	if in, ok := stdin.(*os.File); ok && file == "" && term.IsTerminal(int(in.Fd())) {
		return promptPassword(int(in.Fd()), prompt)
	}
	r := stdin
	if file != "" {
		fh, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("password file: %w", err)
		}
		defer fh.Close()
		r = fh
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < minPasswordLen {
		return "", fmt.Errorf("the password must have at least %d characters (give it on standard input or with --password-file)", minPasswordLen)
	}
	return pw, nil
}

func runForum(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	const usage = "skein forum create SLUG --title T [--description D] [--position N]\n       skein forum list\n" +
		"       skein forum edit SLUG [--title T] [--description D] [--position N]"
	if len(args) == 0 {
		return fmt.Errorf("%w: missing subcommand: create or list", errUsage)
	}
	sub, args := args[0], args[1:]
	if sub == "edit" {
		return runForumEdit(ctx, args, stdout)
	}
	var db dbFlags
	var title, description string
	var position int
	f := newFlagSet("forum "+sub, usage, stdout)
	db.registerAdmin(f)
	switch sub {
	case "create":
		f.String(&title, "title", "", "the forum's title (required)")
		f.String(&description, "description", "", "a sentence on what belongs in the forum")
		f.fs.IntVar(&position, "position", 0, "order on the home page (default: last)")
	case "list":
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, "Usage: "+usage)
		return errHelp
	default:
		return fmt.Errorf("%w: unknown subcommand %q: create or list", errUsage, sub)
	}
	if err := f.parse(args); err != nil {
		return err
	}
	if sub == "create" && (len(f.Args()) != 1 || title == "") {
		return fmt.Errorf("%w: want SLUG and --title", errUsage)
	}
	if sub == "list" && len(f.Args()) != 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, f.Args()[0])
	}
	s, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if sub == "create" {
		fo, err := s.CreateForum(ctx, storage.NewForum{Slug: f.Args()[0], Title: title, Description: description, Position: position})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created forum %s (%s)\n", fo.Slug, fo.Title)
		return nil
	}
	forums, err := s.ListForums(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tTITLE\tTHREADS\tPOSTS\tPOSITION")
	for _, fo := range forums {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\n", fo.Slug, fo.Title, fo.ThreadCount, fo.PostCount, fo.Position)
	}
	return tw.Flush()
}

func runBackup(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	var db dbFlags
	f := newFlagSet("backup", "skein backup FILE [--data DIR]\n"+
		"Copies the SQLite database while the node runs (VACUUM INTO), and the images it names\n"+
		"into the directory FILE-media. To restore, stop the node and put the copies in place of\n"+
		"DIR/skein.db and DIR/media. For PostgreSQL use pg_dump.", stdout)
	db.registerAdmin(f)
	if err := f.parse(args); err != nil {
		return err
	}
	if len(f.Args()) != 1 {
		return fmt.Errorf("%w: want the backup file's name", errUsage)
	}
	s, err := db.connect(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Backup(ctx, f.Args()[0]); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "backed up to", f.Args()[0])
	return backupMedia(ctx, s, filepath.Join(db.dataDir, node.MediaDir), f.Args()[0]+"-media", stdout)
}

// backupMedia copies the image files the database names from the node's
// media directory into dst. It runs after the database's copy, so every
// file that copy names is there unless it was deleted meanwhile (counted
// as missing: its post went after the copy was taken).
func backupMedia(ctx context.Context, s *storage.Store, src, dst string, stdout io.Writer) error {
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return nil // the node never stored an image
	}
	from, err := media.NewDir(src)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("backup: %s already exists", dst)
	}
	to, err := media.NewDir(dst)
	if err != nil {
		return err
	}
	copied, missing, err := media.NewLibrary(s, from, nil, nil).CopyFiles(ctx, to)
	if err != nil {
		return fmt.Errorf("back up images: %w", err)
	}
	fmt.Fprintf(stdout, "copied %d image files to %s", copied, dst)
	if missing > 0 {
		fmt.Fprintf(stdout, " (%d deleted meanwhile)", missing)
	}
	fmt.Fprintln(stdout)
	return nil
}

// promptPassword asks for a password on a terminal, without echo, and
// asks again to catch a typing slip; after three failed tries it gives
// up.
func promptPassword(fd int, w io.Writer) (string, error) {
	for range 3 {
		fmt.Fprintf(w, "Password (at least %d characters): ", minPasswordLen)
		first, err := term.ReadPassword(fd)
		fmt.Fprintln(w)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if len(first) < minPasswordLen {
			fmt.Fprintf(w, "Too short: a password has at least %d characters.\n", minPasswordLen)
			continue
		}
		fmt.Fprint(w, "The same password again: ")
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(w)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(first) != string(again) {
			fmt.Fprintln(w, "The two differ; start again.")
			continue
		}
		return string(first), nil
	}
	return "", errors.New("no password set: the passwords were too short or differed three times")
}
