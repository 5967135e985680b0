package migrations_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/skein-forum/skein/migrations"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// An empty database of each dialect migrates to the latest version, has
// nothing pending, rolls back to empty and migrates again.
func TestUpDownUp(t *testing.T) {
	for _, d := range storagetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			s := storagetest.OpenUnmigrated(t, d)
			db := s.DB()
			applied, err := migrations.Up(ctx, db)
			if err != nil || len(applied) == 0 {
				t.Fatalf("up: %v %v", applied, err)
			}
			if n, err := migrations.Pending(ctx, db); err != nil || n != 0 {
				t.Fatalf("pending after up: %d %v", n, err)
			}
			if again, err := migrations.Up(ctx, db); err != nil || len(again) != 0 {
				t.Fatalf("second up applied %v, %v", again, err)
			}
			var posts int
			if err := db.NewRaw("SELECT COUNT(*) FROM posts").Scan(ctx, &posts); err != nil {
				t.Fatalf("posts table missing after up: %v", err)
			}
			if _, err := migrations.Down(ctx, db); err != nil {
				t.Fatalf("down: %v", err)
			}
			if err := db.NewRaw("SELECT COUNT(*) FROM posts").Scan(ctx, &posts); err == nil {
				t.Fatal("posts table still there after down")
			}
			if n, _ := migrations.Pending(ctx, db); n != len(applied) {
				t.Fatalf("pending after down = %d, want %d", n, len(applied))
			}
			if _, err := migrations.Up(ctx, db); err != nil {
				t.Fatalf("up again: %v", err)
			}
		})
	}
}

// Two processes starting at once on PostgreSQL: the advisory lock makes
// one wait, so neither fails and each migration runs once.
func TestConcurrentUpOnPostgres(t *testing.T) {
	opts := storagetest.Options(t, "postgres") // skips without PostgreSQL
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	total := make([]int, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := storagetest.OpenWith(t, opts)
			applied, err := migrations.Up(ctx, s.DB())
			errs[i], total[i] = err, len(applied)
		}()
	}
	wg.Wait()
	sum := 0
	for i := range 4 {
		if errs[i] != nil {
			t.Fatalf("process %d: %v", i, errs[i])
		}
		sum += total[i]
	}
	s := storagetest.OpenWith(t, opts)
	if n, err := migrations.Pending(ctx, s.DB()); err != nil || n != 0 {
		t.Fatalf("pending = %d, %v", n, err)
	}
	if sum == 0 {
		t.Fatalf("migrations applied %v", total)
	}
	var applied int
	if err := s.DB().NewRaw("SELECT COUNT(*) FROM bun_migrations").Scan(ctx, &applied); err != nil || applied != sum {
		t.Fatalf("bun_migrations has %d rows, processes applied %d in all (%v)", applied, sum, err)
	}
}

// Jobs queued before inbox items had kinds (an empty key_id, the job's
// type in its body) get their kind from the migration that added them.
func TestInboxKindsNameQueuedJobs(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		db := s.DB()
		run := func(name string) { runFile(t, db, "20261206001001_inbox_kinds.tx."+name) }
		runFile(t, db, "20261206017001_inbox_bodies.tx.down") // the body back in the row, as then
		run("down")
		for i, it := range []struct{ key, body string }{
			{"https://r.example/u/a#main-key", `{"type":"Create"}`},
			{"", `{"type":"skein:Backfill","collection":"https://r.example/n/1/replies","thread":1,"depth":1}`},
			{"", `{"type":"skein:ContextWalk","thread":1,"context":"https://r.example/c/1","pages":0,"items":0}`},
		} {
			if _, err := db.ExecContext(ctx, `INSERT INTO inbox_items (id, received_at, actor_id, key_id, body, next_attempt_at)
					VALUES (?, ?, 'https://r.example/u/a', ?, ?, ?)`, i+1, time.Now(), it.key, it.body, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		run("up")
		var kinds []string
		if err := db.NewRaw("SELECT kind FROM inbox_items ORDER BY id").Scan(ctx, &kinds); err != nil {
			t.Fatal(err)
		}
		if want := []string{"activity", "backfill", "context_walk"}; !slices.Equal(kinds, want) {
			t.Fatalf("kinds %q, want %q", kinds, want)
		}
	})
}

// runFile runs one migration file by hand on db, rendered for its
// dialect as the migrator renders it: a test steps back to an older
// schema with the down files, fills it as the code of then did, and
// steps forward again.
func runFile(t *testing.T, db *bun.DB, name string) {
	t.Helper()
	b, err := os.ReadFile("sql/" + name + ".sql")
	if err != nil {
		t.Fatal(err)
	}
	runSQL(t, db, name, string(b))
}

// runSQL runs the migration text of file name in one transaction, as
// bun/migrate runs a .tx. file.
func runSQL(t *testing.T, db *bun.DB, name, text string) {
	t.Helper()
	var sqlText strings.Builder
	tmpl := template.Must(template.New(name).Parse(text))
	if err := tmpl.Execute(&sqlText, map[string]string{"Dialect": db.Dialect().Name().String()}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, stmt := range strings.Split(sqlText.String(), "--bun:split") {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// A database whose inbox rows held their bodies upgrades with every
// body moved to inbox_bodies: a pending item is claimed with its body,
// and pruning a done item takes its body along.
func TestInboxBodiesMoveOut(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		db := s.DB()
		runFile(t, db, "20261206017001_inbox_bodies.tx.down")
		long := `{"type":"Create","object":{"content":"` + strings.Repeat("rye ", 700) + `"}}`
		past := time.Now().Add(-48 * time.Hour).UTC()
		for i, it := range []struct {
			body string
			done *time.Time
		}{{long, nil}, {`{"type":"Like"}`, &past}} {
			if _, err := db.ExecContext(ctx, `INSERT INTO inbox_items (id, received_at, actor_id, key_id, body, next_attempt_at, done_at)
					VALUES (?, ?, 'https://r.example/u/a', 'https://r.example/u/a#main-key', ?, ?, ?)`, i+1, past, it.body, past, it.done); err != nil {
				t.Fatal(err)
			}
		}
		runFile(t, db, "20261206017001_inbox_bodies.tx.up")
		claimed, err := s.ClaimInbox(ctx, "test", time.Now(), 10, time.Minute)
		if err != nil || len(claimed) != 1 || claimed[0].ID != 1 || claimed[0].Body != long {
			t.Fatalf("claimed %d items (%v), want item 1 with its body", len(claimed), err)
		}
		if n, err := s.PruneInbox(ctx, time.Now().Add(-time.Hour)); err != nil || n != 1 {
			t.Fatalf("pruned %d, %v; want 1", n, err)
		}
		var bodies []int64
		if err := db.NewRaw("SELECT item_id FROM inbox_bodies ORDER BY item_id").Scan(ctx, &bodies); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(bodies, []int64{1}) {
			t.Fatalf("bodies of items %v, want [1]: the pruned item's body goes with it", bodies)
		}
	})
}

// A SQLite database whose posts and outbox events were keyed by a
// BIGINT PRIMARY KEY (a unique index beside the row id) upgrades to
// tables keyed by the row id, keeping every row and the likes that
// reference the posts, with foreign keys still enforced. PostgreSQL's
// tables stay as they are.
func TestRowidKeys(t *testing.T) {
	const name = "20261206021501_rowid_keys.tx.up"
	storagetest.ForEachSeeded(t, func(t *testing.T, s *storage.Store, fx *storagetest.Fixtures) {
		ctx := context.Background()
		db := s.DB()
		sqlite := db.Dialect().Name() == dialect.SQLite
		like := func(p *storage.Post) error {
			liker := fx.Bob.ID
			if p.AuthorID == liker {
				liker = fx.Alice.ID
			}
			_, err := s.LikePost(ctx, p.ID, liker, nil)
			return err
		}
		if err := like(fx.Posts[1]); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile("sql/" + name + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		autoindexes := func() []string {
			var names []string
			if sqlite {
				if err := db.NewRaw(`SELECT name FROM sqlite_master WHERE type = 'index'
						AND tbl_name IN ('posts', 'outbox_events') AND name LIKE 'sqlite_autoindex%' ORDER BY name`).Scan(ctx, &names); err != nil {
					t.Fatal(err)
				}
			}
			return names
		}
		// The tables as the migrations before this one left them.
		runSQL(t, db, name, strings.ReplaceAll(string(b), "INTEGER PRIMARY KEY", "BIGINT PRIMARY KEY"))
		if sqlite && len(autoindexes()) != 2 {
			t.Fatalf("before: unique indexes %v, want the posts' and the events' own", autoindexes())
		}
		type row struct {
			ID       int64  `bun:"id"`
			ThreadID int64  `bun:"thread_id"`
			Position int64  `bun:"position"`
			HTML     string `bun:"html"`
		}
		var before, after []row
		if err := db.NewRaw("SELECT id, thread_id, position, html FROM posts ORDER BY id").Scan(ctx, &before); err != nil {
			t.Fatal(err)
		}
		runFile(t, db, name)
		if n := autoindexes(); len(n) != 0 {
			t.Fatalf("after: %v left", n)
		}
		if err := db.NewRaw("SELECT id, thread_id, position, html FROM posts ORDER BY id").Scan(ctx, &after); err != nil {
			t.Fatal(err)
		}
		if len(before) != len(fx.Posts) || !slices.Equal(before, after) {
			t.Fatalf("posts before %v, after %v", before, after)
		}
		var likes int
		if err := db.NewRaw("SELECT COUNT(*) FROM likes WHERE post_id = ?", fx.Posts[1].ID).Scan(ctx, &likes); err != nil || likes != 1 {
			t.Fatalf("likes of the post: %d, %v", likes, err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO likes (post_id, account_id, created_at) VALUES (?, ?, ?)",
			fx.Posts[2].ID+1000, fx.Bob.ID, time.Now().UTC()); err == nil {
			t.Fatal("a like of no post was stored: foreign keys not enforced")
		}
		if err := like(fx.Posts[2]); err != nil {
			t.Fatalf("like after the upgrade: %v", err)
		}
	})
}

// A database from before search_listed_forums indexes the posts of the
// hidden forum too; the upgrade takes them out of the index and keeps
// every post of the listed forums. On SQLite it also lets an explicit
// merge take levels of two segments (FTS5's usermerge, 4 before).
func TestSearchListedForums(t *testing.T) {
	storagetest.ForEachSeeded(t, func(t *testing.T, s *storage.Store, fx *storagetest.Fixtures) {
		ctx, db := context.Background(), s.DB()
		run := func(step string) { runFile(t, db, "20261206016501_search_listed_forums.tx."+step) }
		mirror, err := s.MirrorForum(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mirrored, first, err := s.CreateThread(ctx, storage.NewThread{ForumID: mirror.ID, AuthorID: fx.Bob.ID,
			Title: "Rye on another server", Source: "Followed from afar.", HTML: "<p>Followed from afar.</p>"})
		if err != nil {
			t.Fatal(err)
		}
		hidden := []storage.ID{first.ID, storagetest.Replies(t, s, mirrored.ID, fx.Alice.ID, 1)[0].ID}
		var listed []storage.ID
		for _, p := range fx.Posts {
			listed = append(listed, p.ID)
		}
		sqlite := db.Dialect().Name() == dialect.SQLite
		indexed := func() []storage.ID {
			q := "SELECT post_id FROM post_search ORDER BY post_id"
			if sqlite {
				q = "SELECT rowid FROM post_search ORDER BY rowid"
			}
			var ids []storage.ID
			if err := db.NewRaw(q).Scan(ctx, &ids); err != nil {
				t.Fatal(err)
			}
			return ids
		}
		usermerge := func() string {
			var v string
			if err := db.NewRaw("SELECT v FROM post_search_config WHERE k = 'usermerge'").Scan(ctx, &v); err != nil {
				t.Fatal(err)
			}
			return v
		}

		run("down")
		if got, want := indexed(), sortedIDs(listed, hidden); !slices.Equal(got, want) {
			t.Fatalf("before: indexed %v, want the listed %v and the hidden %v", got, listed, hidden)
		}
		if sqlite && usermerge() != "4" {
			t.Fatalf("before: usermerge %s, want 4", usermerge())
		}
		run("up")
		if got, want := indexed(), sortedIDs(listed); !slices.Equal(got, want) {
			t.Fatalf("after: indexed %v, want the listed %v only", got, listed)
		}
		if sqlite && usermerge() != "2" {
			t.Fatalf("after: usermerge %s, want 2", usermerge())
		}
	})
}

// sortedIDs is the ids of lists in ascending order.
func sortedIDs(lists ...[]storage.ID) []storage.ID {
	ids := slices.Concat(lists...)
	slices.Sort(ids)
	return ids
}

// A database whose search index kept a copy of every post's text
// upgrades to the contentless index: the same searches find the same
// posts, the text is no longer stored, and an edit replaces a post's
// document whole, the opening post keeping its thread's title.
func TestSearchContentless(t *testing.T) {
	const name = "20261206023001_search_contentless.tx"
	storagetest.ForEachDialectShared(t, func(t *testing.T, _ *storage.Store, opts storage.Options) {
		ctx := context.Background()
		opts.SearchCache = -1 // every search asks the index
		s := storagetest.OpenWith(t, opts)
		sqlite := s.Dialect() != dialect.PG
		db := s.DB()
		fx := storagetest.Seed(t, s)
		find := func(query string) []storage.ID {
			t.Helper()
			hits, _, err := s.Search(ctx, query, 1)
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]storage.ID, len(hits))
			for i := range hits {
				ids[i] = hits[i].ID
			}
			return ids
		}
		queries := []string{"sourdough", "starter dying", "rye", "flour water", "tonight", "week", "flat"}
		findAll := func() [][]storage.ID {
			var out [][]storage.ID
			for _, q := range queries {
				out = append(out, find(q))
			}
			return out
		}
		stored := func() bool {
			var n int
			if err := db.NewRaw("SELECT COUNT(*) FROM sqlite_master WHERE name = 'post_search_content'").Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			return n == 1
		}
		// The index as the migrations before this one left it.
		runFile(t, db, name+".down")
		if sqlite && !stored() {
			t.Fatal("before: no content table; the down migration did not bring the text back")
		}
		before := findAll()
		runFile(t, db, name+".up")
		if sqlite && stored() {
			t.Fatal("after: the index still keeps the text")
		}
		after := findAll()
		if !slices.EqualFunc(before, after, slices.Equal) {
			t.Fatalf("searches %q: before %v, after %v", queries, before, after)
		}
		for i, ids := range after {
			if len(ids) == 0 {
				t.Fatalf("%q found nothing", queries[i])
			}
		}
		opening := fx.Posts[0].ID
		if _, err := s.EditPost(ctx, opening, "Now it bubbles.", "<p>Now it bubbles.</p>"); err != nil {
			t.Fatal(err)
		}
		if got := find("bubbles"); !slices.Equal(got, []storage.ID{opening}) {
			t.Fatalf("the edit's new word finds %v, want the opening post %v", got, opening)
		}
		if got := find("flour"); len(got) != 0 {
			t.Fatalf("the edit's old word finds %v", got)
		}
		if got := find("sourdough dying"); !slices.Equal(got, []storage.ID{opening}) {
			t.Fatalf("the thread's title finds %v after the edit, want %v", got, opening)
		}
		if err := s.DeletePost(ctx, fx.Posts[1].ID); err != nil {
			t.Fatal(err)
		}
		if got := find("rye"); slices.Contains(got, fx.Posts[1].ID) {
			t.Fatalf("a deleted post is found: %v", got)
		}
	})
}

// Rolling the contentless index back indexes each post as storage does,
// its content warning included: a word only the warning has still finds
// the post.
func TestSearchContentlessDownKeepsWarnings(t *testing.T) {
	storagetest.ForEachDialectShared(t, func(t *testing.T, _ *storage.Store, opts storage.Options) {
		ctx := context.Background()
		opts.SearchCache = -1 // every search asks the index
		s := storagetest.OpenWith(t, opts)
		fx := storagetest.Seed(t, s)
		reply, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID,
			Summary: "Kvass spoilers", Source: "It fizzed over.", HTML: "<p>It fizzed over.</p>"})
		if err != nil {
			t.Fatal(err)
		}
		find := func(when string) {
			t.Helper()
			hits, _, err := s.Search(ctx, "kvass", 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 1 || hits[0].ID != reply.ID {
				t.Fatalf("%s: the warning's word finds %d posts, want the reply %s", when, len(hits), reply.ID)
			}
		}
		find("before the rollback")
		runFile(t, s.DB(), "20261206023001_search_contentless.tx.down")
		find("after the rollback")
	})
}
