package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skein-forum/skein/media"
	"github.com/skein-forum/skein/node"
	"github.com/skein-forum/skein/storage/storagetest"
)

func TestPoolFlags(t *testing.T) {
	data := t.TempDir()
	for _, args := range [][]string{
		{"migrate", "--data", data, "--db-max-open", "-1"},
		{"serve", "--data", data, "--db-conn-max-lifetime", "-5s"},
		{"migrate", "--data", data, "--db-max-idle", "many"},
	} {
		if code, _, stderr := skein(t, "", args...); code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	cmd := exec.Command(binary, "migrate", "--data", data)
	cmd.Env = append(os.Environ(), "SKEIN_DB_MAX_OPEN=lots")
	if out, err := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "SKEIN_DB_MAX_OPEN") {
		t.Errorf("SKEIN_DB_MAX_OPEN=lots: %v, %s", err, out)
	}
	if code, _, stderr := skein(t, "", "migrate", "--data", data, "--db-max-open", "3", "--db-max-idle", "1", "--db-conn-max-lifetime", "0", "--create"); code != 0 {
		t.Errorf("valid pool flags refused: %s", stderr)
	}
	_, stdout, _ := skein(t, "", "serve", "--help")
	for _, flag := range []string{"-db-max-open", "-db-max-idle", "-db-conn-max-lifetime", "SKEIN_DB_MAX_OPEN", "-allow-empty-database"} {
		if !strings.Contains(stdout, flag) {
			t.Errorf("serve --help does not mention %s", flag)
		}
	}
}

// Adding --database-url to the command line of a SQLite forum must not
// quietly start an empty forum under the same public URL.
func TestRefusesEmptyPostgresBesideSQLiteNode(t *testing.T) {
	dsn, data := sqliteNodeAndPostgres(t)
	pg := storagetest.NewPostgresSchema(t, dsn)
	for _, args := range [][]string{
		{"migrate", "--data", data, "--database-url", pg},
		{"serve", "--data", data, "--database-url", pg, "--listen", "127.0.0.1:0"},
		{"user", "list", "--data", data, "--database-url", pg},
	} {
		code, _, stderr := skein(t, "", args...)
		if code != 1 || !strings.Contains(stderr, "holds a SQLite node") || !strings.Contains(stderr, "skein db copy") ||
			!strings.Contains(stderr, "--allow-empty-database") || !strings.Contains(stderr, "1 member") {
			t.Errorf("%v: exit %d, stderr %q", args[0], code, stderr)
		}
	}
	// Told to, it starts afresh; from then on the database is a node of
	// its own and needs no flag.
	if code, _, stderr := skein(t, "", "migrate", "--data", data, "--database-url", pg, "--allow-empty-database"); code != 0 {
		t.Fatalf("migrate --allow-empty-database: %s", stderr)
	}
	if code, _, stderr := skein(t, "", "user", "list", "--data", data, "--database-url", pg); code != 0 {
		t.Fatalf("user list on the migrated database: %s", stderr)
	}
	// An empty data directory beside an empty database is a new forum.
	if code, _, stderr := skein(t, "", "migrate", "--data", t.TempDir(), "--database-url", storagetest.NewPostgresSchema(t, dsn)); code != 0 {
		t.Fatalf("a new forum on PostgreSQL: %s", stderr)
	}
}

// An admin moves a SQLite node to PostgreSQL with `skein db copy`, and
// back to a new SQLite directory: members, forums and the files beside
// the database all arrive, and a database holding a node is refused.
func TestDBCopyCommand(t *testing.T) {
	dsn, data := sqliteNodeAndPostgres(t)
	if code, _, stderr := skein(t, "", "forum", "create", "bakery", "--title", "Bakery", "--data", data); code != 0 {
		t.Fatalf("forum create: %s", stderr)
	}
	// An image in the node's blob store, as an upload leaves it.
	const image = "abcdef0123456789.webp"
	blobs, err := media.NewDir(filepath.Join(data, node.MediaDir))
	if err != nil {
		t.Fatal(err)
	}
	if err := blobs.Put(context.Background(), image, strings.NewReader("an image")); err != nil {
		t.Fatal(err)
	}
	stored := func(dataDir string) string {
		t.Helper()
		b, err := media.NewDir(filepath.Join(dataDir, node.MediaDir))
		if err != nil {
			t.Fatal(err)
		}
		f, err := b.Open(context.Background(), image)
		if err != nil {
			t.Fatalf("the image in %s: %v", dataDir, err)
		}
		defer f.Close()
		content, _ := io.ReadAll(f)
		return string(content)
	}

	// A data directory that holds another node's files is refused before
	// anything is written, so the database stays empty for a real copy.
	pg := storagetest.NewPostgresSchema(t, dsn)
	occupied := t.TempDir()
	if err := os.WriteFile(filepath.Join(occupied, "other-node.txt"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := skein(t, "", "db", "copy", "--from", data, "--to", pg, "--to-data", occupied); code != 1 || !strings.Contains(stderr, "already holds files") {
		t.Fatalf("copy into a data directory with files: exit %d, %s", code, stderr)
	}
	pgData := t.TempDir()
	code, stdout, stderr := skein(t, "", "db", "copy", "--from", data, "--to", pg, "--to-data", pgData)
	if code != 0 || !strings.Contains(stdout, "counts checked") || !strings.Contains(stdout, "accounts") || !strings.Contains(stdout, "1 files") {
		t.Fatalf("db copy to PostgreSQL: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if got := stored(pgData); got != "an image" {
		t.Fatalf("the image after the copy: %q", got)
	}
	if code, out, stderr := skein(t, "", "user", "list", "--database-url", pg, "--data", pgData); code != 0 || !strings.Contains(out, "ada") {
		t.Fatalf("user list on PostgreSQL: %s %s", out, stderr)
	}
	if code, out, _ := skein(t, "", "forum", "list", "--database-url", pg, "--data", pgData); code != 0 || !strings.Contains(out, "bakery") {
		t.Fatalf("forum list on PostgreSQL: %s", out)
	}
	// Serving the copy needs no override: the database is a node now.
	if code, _, stderr := skein(t, "", "migrate", "--database-url", pg, "--data", data); code != 0 {
		t.Fatalf("migrate the copy beside the old directory: %s", stderr)
	}
	// Never into a database that holds a node.
	if code, _, stderr := skein(t, "", "db", "copy", "--from", data, "--to", pg); code != 1 || !strings.Contains(stderr, "not empty") {
		t.Fatalf("copy into a node: exit %d, %s", code, stderr)
	}

	// And back, into a new SQLite directory.
	back := filepath.Join(t.TempDir(), "back")
	if code, stdout, stderr := skein(t, "", "db", "copy", "--from", pg, "--from-data", pgData, "--to", back); code != 0 {
		t.Fatalf("db copy to SQLite: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, out, _ := skein(t, "", "user", "list", "--data", back); code != 0 || !strings.Contains(out, "ada") {
		t.Fatalf("user list on the SQLite copy: %s", out)
	}
	if got := stored(back); got != "an image" {
		t.Fatalf("the image in the SQLite copy: %q", got)
	}
	if code, _, _ := skein(t, "", "db", "copy", "--from", filepath.Join(t.TempDir(), "nothing"), "--to", storagetest.NewPostgresSchema(t, dsn)); code != 1 {
		t.Fatalf("copy from a directory without a node: exit %d", code)
	}
}

// sqliteNodeAndPostgres skips without PostgreSQL; otherwise it returns
// its DSN and a SQLite node's data directory with an admin, ada.
func sqliteNodeAndPostgres(t *testing.T) (dsn, data string) {
	t.Helper()
	dsn = os.Getenv(storagetest.PostgresEnv)
	if dsn == "" {
		t.Skipf("%s is not set", storagetest.PostgresEnv)
	}
	data = t.TempDir()
	if code, _, stderr := skein(t, "a long enough password\n", "user", "create", "ada", "--admin", "--data", data, "--create"); code != 0 {
		t.Fatalf("user create: %s", stderr)
	}
	return dsn, data
}
