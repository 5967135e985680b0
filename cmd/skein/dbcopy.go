package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/skein-forum/skein/storage"
)

func runDB(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	const usage = "skein db copy --from SQLITE_DIR_OR_URL --to POSTGRES_URL_OR_DIR [--from-data DIR] [--to-data DIR]\n\n" +
		"Copies a whole node (every table: members, keys, sessions, queues, ...) into an empty database,\n" +
		"checks every table's row count afterwards, and copies the files beside the SQLite database\n" +
		"(uploaded media) when the node moves to another data directory. Stop the node first:\n" +
		"changes made during the copy are not copied. See docs/operations.md."
	if len(args) == 0 || args[0] != "copy" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, "Usage: "+usage)
			return errHelp
		}
		return fmt.Errorf("%w: want `skein db copy --from ... --to ...`", errUsage)
	}
	var from, to, fromData, toData string
	f := newFlagSet("db copy", usage, stdout)
	f.String(&from, "from", "", "the node to copy: a SQLite data directory or a postgres:// URL")
	f.String(&to, "to", "", "the empty database to copy into: a postgres:// URL or a new SQLite data directory")
	f.String(&fromData, "from-data", "", "the source node's data directory, when --from is a URL (its media files)")
	f.String(&toData, "to-data", "", "the data directory the node will run with, when --to is a URL (default: the source's)")
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	if from == "" || to == "" || len(f.Args()) > 0 {
		return fmt.Errorf("%w: want --from and --to, and nothing else", errUsage)
	}
	srcOpts, srcDir, err := copyEnd(from, fromData)
	if err != nil {
		return err
	}
	dstOpts, dstDir, err := copyEnd(to, toData)
	if err != nil {
		return err
	}
	if dstDir == "" {
		dstDir = srcDir
	}
	if srcOpts.DatabaseURL == "" {
		if _, err := os.Stat(filepath.Join(srcDir, storage.SQLiteFile)); err != nil {
			return fmt.Errorf("--from %s: no SQLite node there (%w)", srcDir, err)
		}
	}
	if srcOpts == dstOpts {
		return fmt.Errorf("%w: --from and --to are the same database", errUsage)
	}
	// Checked before the database is written: a copy that could not
	// place its files would leave a half-moved node behind.
	if err := refuseFilesAt(srcDir, dstDir); err != nil {
		return err
	}
	src, err := storage.Open(ctx, srcOpts)
	if err != nil {
		return err
	}
	defer src.Close()
	dstOpts.AllowEmptyDatabase = true // being filled is what it is for
	dst, err := storage.Open(ctx, dstOpts)
	if err != nil {
		return err
	}
	defer dst.Close()
	for _, s := range []*storage.Store{src, dst} {
		if _, err := s.Migrate(ctx); err != nil {
			return err
		}
	}
	var total int64
	tables, err := storage.Copy(ctx, src, dst, func(c storage.CopiedTable) {
		fmt.Fprintf(stdout, "%-24s %10d rows\n", c.Name, c.Rows)
		total += c.Rows
	})
	if err != nil {
		return err
	}
	files, bytes, err := copyDataFiles(srcDir, dstDir)
	if err != nil {
		return fmt.Errorf("the database was copied, but not its files: %w", err)
	}
	fmt.Fprintf(stdout, "copied %d tables, %d rows (counts checked on both sides), %d files (%d bytes)\n", len(tables), total, files, bytes)
	return nil
}

// copyEnd reads one side of a copy: a URL, or a SQLite data directory.
func copyEnd(where, dataDir string) (storage.Options, string, error) {
	if strings.Contains(where, "://") {
		if dataDir != "" {
			if abs, err := filepath.Abs(dataDir); err == nil {
				dataDir = abs
			}
		}
		return storage.Options{DatabaseURL: where}, dataDir, nil
	}
	if dataDir != "" {
		return storage.Options{}, "", fmt.Errorf("%w: --from-data and --to-data go with a URL; %s is a directory already", errUsage, where)
	}
	abs, err := filepath.Abs(where)
	if err != nil {
		return storage.Options{}, "", err
	}
	return storage.Options{DataDir: abs}, abs, nil
}

// copyDataFiles copies what a node keeps in its data directory beside
// the SQLite database (uploaded media, whatever its layout) to another
// data directory, never overwriting a file there.
func copyDataFiles(from, to string) (files int, size int64, err error) {
	if from == "" || to == "" || from == to {
		return 0, 0, nil
	}
	if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	err = filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o750)
		}
		if strings.HasPrefix(rel, storage.SQLiteFile) || !d.Type().IsRegular() {
			return nil // the database itself (and its -wal, -shm) was copied row by row
		}
		n, err := copyFile(path, filepath.Join(to, rel))
		files++
		size += n
		return err
	})
	return files, size, err
}

// refuseFilesAt refuses a target data directory that already holds
// files besides a SQLite database (another node's media, say), when the
// copy is to put the source's files there.
func refuseFilesAt(from, to string) error {
	if from == "" || to == "" || from == to {
		return nil
	}
	found := ""
	err := filepath.WalkDir(to, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(to, path)
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasPrefix(rel, storage.SQLiteFile) {
			found = rel
			return fs.SkipAll
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("target data directory: %w", err)
	}
	if found != "" {
		return fmt.Errorf("%w: %s already holds files (%s); copy into a new, empty data directory", storage.ErrTargetNotEmpty, to, found)
	}
	return nil
}

func copyFile(from, to string) (int64, error) {
	in, err := os.Open(from)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("copy %s: %w", from, err)
	}
	st, err := os.Stat(from)
	if err == nil && st.Size() != n {
		err = fmt.Errorf("copy %s: %d of %d bytes", from, n, st.Size())
	}
	return n, err
}
