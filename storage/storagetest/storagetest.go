// Package storagetest opens real databases for tests and fills them with
// a small, realistic set of fixtures: members, a forum, a thread with
// replies. Every test gets its own SQLite file under t.TempDir(), or its
// own PostgreSQL schema when SKEIN_TEST_POSTGRES holds a DSN.
package storagetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for schema set-up

	"github.com/skein-forum/skein/storage"
)

// PostgresEnv names the variable that holds a PostgreSQL DSN for tests.
const PostgresEnv = "SKEIN_TEST_POSTGRES"

// Dialects lists the databases a test should run against: always
// "sqlite", and "postgres" when SKEIN_TEST_POSTGRES is set.
func Dialects() []string {
	if os.Getenv(PostgresEnv) != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

// ForEachDialect runs fn as a subtest per dialect with a fresh, migrated
// store.
func ForEachDialect(t *testing.T, fn func(t *testing.T, s *storage.Store)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(d, func(t *testing.T) { fn(t, Open(t, d)) })
	}
}

// ForEachSeeded is ForEachDialect with the fixtures of [Seed] made in
// each store, the start most tests of stored data share.
func ForEachSeeded(t *testing.T, fn func(t *testing.T, s *storage.Store, fx *Fixtures)) {
	t.Helper()
	ForEachDialect(t, func(t *testing.T, s *storage.Store) { fn(t, s, Seed(t, s)) })
}

// ForEachDialectShared is ForEachDialect that also passes the options of
// the database, so the test can open more stores on it: several
// processes sharing one database.
func ForEachDialectShared(t *testing.T, fn func(t *testing.T, s *storage.Store, opts storage.Options)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(d, func(t *testing.T) {
			opts := Options(t, d)
			s := OpenWith(t, opts)
			if _, err := s.Migrate(context.Background()); err != nil {
				t.Fatalf("migrate %s: %v", d, err)
			}
			fn(t, s, opts)
		})
	}
}

// Open returns a migrated store of the given dialect, closed at cleanup.
func Open(t testing.TB, dialect string) *storage.Store {
	t.Helper()
	s := OpenUnmigrated(t, dialect)
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return s
}

// OpenUnmigrated returns an empty store of the given dialect.
func OpenUnmigrated(t testing.TB, dialect string) *storage.Store {
	t.Helper()
	return OpenWith(t, Options(t, dialect))
}

// OpenWith opens a store (unmigrated) with the given options, closed at
// cleanup; several stores on one database play several processes.
func OpenWith(t testing.TB, opts storage.Options) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Postgres reports whether opts (from [Options]) open PostgreSQL, where
// each store is a pool of its own, as a separate process's would be.
func Postgres(opts storage.Options) bool { return opts.DatabaseURL != "" }

var schemaSeq atomic.Int64

// Options returns storage options for a fresh database of the dialect:
// a temporary directory for SQLite, a new schema for PostgreSQL (dropped
// at cleanup).
func Options(t testing.TB, dialect string) storage.Options {
	t.Helper()
	switch dialect {
	case "sqlite":
		return storage.Options{DataDir: t.TempDir()}
	case "postgres":
		dsn := os.Getenv(PostgresEnv)
		if dsn == "" {
			t.Skipf("%s is not set", PostgresEnv)
		}
		return storage.Options{DatabaseURL: NewPostgresSchema(t, dsn)}
	}
	t.Fatalf("unknown dialect %q", dialect)
	return storage.Options{}
}

// NewPostgresSchema creates an empty schema and returns a DSN whose
// search_path points at it, so tests never see each other's tables.
func NewPostgresSchema(t testing.TB, dsn string) string {
	t.Helper()
	name := fmt.Sprintf("skeintest_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, schemaSeq.Add(1))
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP SCHEMA " + name + " CASCADE")
		db.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("postgres dsn: %v", err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Fixtures is the standard cast every test can start from.
type Fixtures struct {
	Alice, Bob, Mod *storage.Account // members; Mod is a moderator
	Forum           *storage.Forum
	Thread          *storage.Thread
	Posts           []*storage.Post // the thread's posts in order; Posts[0] opens it
}

// Password is the password of every fixture member.
const Password = "correct horse battery staple"

// Seed creates the fixtures: three members (who do not follow the
// threads they post in: see storage.Account.AutoWatch), a forum
// "kitchen", and a thread by Alice with two replies (Bob, then Alice
// quoting Bob).
func Seed(t testing.TB, s *storage.Store) *Fixtures {
	t.Helper()
	ctx := context.Background()
	hash, err := storage.HashPassword(Password)
	if err != nil {
		t.Fatal(err)
	}
	member := func(handle, name, role string) *storage.Account {
		a, err := s.CreateMember(ctx, storage.NewMember{Handle: handle, DisplayName: name, PasswordHash: hash, Role: role})
		if err != nil {
			t.Fatalf("seed member %s: %v", handle, err)
		}
		// The fixture members turned off following the threads they post
		// in, so a thread's followers are exactly those a test adds.
		if err := s.SetAutoWatch(ctx, a.ID, false); err != nil {
			t.Fatalf("seed member %s: %v", handle, err)
		}
		a.AutoWatch = false
		return a
	}
	f := &Fixtures{
		Alice: member("alice", "Alice Liddell", storage.RoleMember),
		Bob:   member("bob", "Bob Marsh", storage.RoleMember),
		Mod:   member("morgan", "Morgan the Moderator", storage.RoleModerator),
	}
	f.Forum, err = s.CreateForum(ctx, storage.NewForum{Slug: "kitchen", Title: "The Kitchen", Description: "Cooking, baking and fermenting."})
	if err != nil {
		t.Fatalf("seed forum: %v", err)
	}
	th, first, err := s.CreateThread(ctx, storage.NewThread{ForumID: f.Forum.ID, AuthorID: f.Alice.ID,
		Title: "Sourdough starter keeps dying", Source: "Mine goes flat after **three days**. Flour or water?",
		HTML: "<p>Mine goes flat after <strong>three days</strong>. Flour or water?</p>"})
	if err != nil {
		t.Fatalf("seed thread: %v", err)
	}
	f.Thread = th
	f.Posts = append(f.Posts, first)
	reply, err := s.CreatePost(ctx, storage.NewPost{ThreadID: th.ID, AuthorID: f.Bob.ID,
		Source: "Switch to rye for a week.", HTML: "<p>Switch to rye for a week.</p>", ReplyToID: &first.ID})
	if err != nil {
		t.Fatalf("seed reply: %v", err)
	}
	f.Posts = append(f.Posts, reply)
	quote, err := s.CreatePost(ctx, storage.NewPost{ThreadID: th.ID, AuthorID: f.Alice.ID,
		Source: "> Switch to rye for a week.\n\nTrying it tonight.", QuoteID: &reply.ID,
		HTML: "<blockquote><p>Switch to rye for a week.</p></blockquote><p>Trying it tonight.</p>"})
	if err != nil {
		t.Fatalf("seed quote: %v", err)
	}
	f.Posts = append(f.Posts, quote)
	return f
}

// Replies adds n short replies by author to the thread and returns them.
func Replies(t testing.TB, s *storage.Store, threadID, authorID storage.ID, n int) []*storage.Post {
	t.Helper()
	out := make([]*storage.Post, 0, n)
	for i := range n {
		text := fmt.Sprintf("Reply number %d, with a note on hydration.", i+1)
		p, err := s.CreatePost(context.Background(), storage.NewPost{ThreadID: threadID, AuthorID: authorID,
			Source: text, HTML: "<p>" + strings.ReplaceAll(text, "&", "&amp;") + "</p>"})
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		out = append(out, p)
	}
	return out
}

// RemoteActor stores a remote Person handle@domain whose id is
// https://domain/users/handle, as Mastodon spells it, with its inbox
// below it.
func RemoteActor(t testing.TB, s *storage.Store, handle, domain string) *storage.Account {
	t.Helper()
	apID := "https://" + domain + "/users/" + handle
	a, err := s.UpsertRemoteAccount(context.Background(), &storage.Account{Handle: handle, Domain: domain, APID: &apID,
		Inbox: apID + "/inbox", ActorType: "Person"})
	if err != nil {
		t.Fatalf("remote actor %s@%s: %v", handle, domain, err)
	}
	return a
}

// SeedProse opens a store with opts, migrates it and seeds it with
// 18,000 posts of the load tool's prose (4 forums of 50 threads of about
// 40 posts, one thread of 10,000, 200 members): where every word of a
// search is common, as the search benchmarks need.
func SeedProse(tb testing.TB, opts storage.Options) (*storage.Store, *storage.SeedResult) {
	tb.Helper()
	ctx := context.Background()
	s := OpenWith(tb, opts)
	if _, err := s.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	seeded, err := s.Seed(ctx, storage.SeedSpec{Forums: 4, ThreadsPerForum: 50, PostsPerThread: 40,
		LongThreads: 1, LongThreadPosts: 10000, Members: 200})
	if err != nil {
		tb.Fatal(err)
	}
	return s, seeded
}
