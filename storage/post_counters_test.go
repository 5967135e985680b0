package storage_test

import (
	"context"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// Every way a post is stored keeps the same counters: after each one,
// the counters stored on threads, forums and accounts equal what the
// rows say, the thread and forum the post went to show a new version,
// and no reputation moves (only likes move it).
func TestEveryPostPathKeepsTheCounters(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		carol := storagetest.RemoteActor(t, s, "carol", "remote.example")
		second, _, err := s.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Bob.ID,
			Title: "Rye ratios", Source: "1:5:5?", HTML: "<p>1:5:5?</p>"})
		if err != nil {
			t.Fatal(err)
		}
		checkPostCounters(t, s)

		paths := []struct {
			name string
			post func(t *testing.T) (threadID storage.ID)
		}{
			{"CreateThread", func(t *testing.T) storage.ID {
				th, _, err := s.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Mod.ID,
					Title: "Oven spring", Source: "Steam or not?", HTML: "<p>Steam or not?</p>"})
				if err != nil {
					t.Fatal(err)
				}
				return th.ID
			}},
			{"CreatePost", func(t *testing.T) storage.ID {
				if _, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID,
					Source: "Warmer water.", HTML: "<p>Warmer water.</p>", ReplyToID: &fx.Posts[0].ID}); err != nil {
					t.Fatal(err)
				}
				return fx.Thread.ID
			}},
			{"CreatePosts", func(t *testing.T) storage.ID {
				note := "https://remote.example/notes/7"
				res, err := s.CreatePosts(ctx, []storage.NewPost{
					{ThreadID: fx.Thread.ID, AuthorID: carol.ID, Source: "From afar.", HTML: "<p>From afar.</p>", APID: &note},
					{ThreadID: second.ID, AuthorID: fx.Alice.ID, Source: "Yes.", HTML: "<p>Yes.</p>"},
					{ThreadID: fx.Thread.ID, AuthorID: fx.Alice.ID, Source: "Thanks.", HTML: "<p>Thanks.</p>"},
					{ThreadID: fx.Thread.ID, AuthorID: carol.ID, Source: "From afar.", HTML: "<p>From afar.</p>", APID: &note},
				})
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range res {
					if r.Err != nil || r.Post == nil {
						t.Fatalf("post %d: %+v", i, r)
					}
				}
				return fx.Thread.ID
			}},
			{"MirrorThread", func(t *testing.T) storage.ID {
				note := "https://remote.example/notes/1"
				th, err := s.MirrorThread(ctx, storage.NewMirror{APID: "https://remote.example/threads/9", Title: "Afar",
					First: storage.NewPost{AuthorID: carol.ID, HTML: "<p>Hello from afar</p>", APID: &note}})
				if err != nil {
					t.Fatal(err)
				}
				return th.ID
			}},
			{"Seed", func(t *testing.T) storage.ID {
				res, err := s.Seed(ctx, storage.SeedSpec{Forums: 2, ThreadsPerForum: 3, PostsPerThread: 4,
					Members: 3, PasswordHash: "x", Batch: 5})
				if err != nil {
					t.Fatal(err)
				}
				return res.ThreadIDs[len(res.ThreadIDs)-1]
			}},
		}
		for _, path := range paths {
			before := postCounterState(t, s)
			threadID := path.post(t)
			checkPostCounters(t, s)
			after := postCounterState(t, s)
			th, err := s.ThreadByID(ctx, threadID)
			if err != nil {
				t.Fatal(err)
			}
			if after.threadVersion[threadID] <= before.threadVersion[threadID] {
				t.Errorf("%s: thread version %d, was %d", path.name, after.threadVersion[threadID], before.threadVersion[threadID])
			}
			if after.forumVersion[th.ForumID] <= before.forumVersion[th.ForumID] {
				t.Errorf("%s: forum version %d, was %d", path.name, after.forumVersion[th.ForumID], before.forumVersion[th.ForumID])
			}
			for id, rep := range before.reputation {
				if after.reputation[id] != rep {
					t.Errorf("%s: account %s's reputation moved from %d to %d", path.name, id, rep, after.reputation[id])
				}
			}
		}
	})
}

// counterState is what a post moves without the rows saying it.
type counterState struct {
	threadVersion, forumVersion, reputation map[storage.ID]int64
}

func postCounterState(t *testing.T, s *storage.Store) counterState {
	t.Helper()
	ctx := context.Background()
	st := counterState{map[storage.ID]int64{}, map[storage.ID]int64{}, map[storage.ID]int64{}}
	for table, m := range map[string]map[storage.ID]int64{"threads": st.threadVersion, "forums": st.forumVersion} {
		var rows []struct {
			ID      storage.ID `bun:"id"`
			Version int64      `bun:"version"`
		}
		if err := s.DB().NewRaw("SELECT id, version FROM "+table).Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			m[r.ID] = r.Version
		}
	}
	var accounts []struct {
		ID         storage.ID `bun:"id"`
		Reputation int64      `bun:"reputation"`
	}
	if err := s.DB().NewRaw("SELECT id, reputation FROM accounts").Scan(ctx, &accounts); err != nil {
		t.Fatal(err)
	}
	for _, a := range accounts {
		st.reputation[a.ID] = a.Reputation
	}
	return st
}

// checkPostCounters compares every stored counter with the rows it
// counts: threads' post counts, positions, first and last posts; forums'
// thread and post counts and last post; members' post counts; one search
// document per post.
func checkPostCounters(t *testing.T, s *storage.Store) {
	t.Helper()
	ctx := context.Background()
	db := s.DB()
	var bad []struct {
		ID    storage.ID `bun:"id"`
		What  string     `bun:"what"`
		Has   int64      `bun:"has"`
		Wants int64      `bun:"wants"`
	}
	queries := []string{
		`SELECT t.id, 'thread post_count' AS what, t.post_count AS has, COUNT(p.id) AS wants
			FROM threads t LEFT JOIN posts p ON p.thread_id = t.id GROUP BY t.id, t.post_count HAVING t.post_count <> COUNT(p.id)`,
		`SELECT t.id, 'thread positions' AS what, MAX(p.position) AS has, COUNT(DISTINCT p.position) AS wants
			FROM threads t JOIN posts p ON p.thread_id = t.id GROUP BY t.id HAVING MAX(p.position) <> COUNT(DISTINCT p.position) OR MIN(p.position) <> 1`,
		`SELECT t.id, 'thread last_post_id' AS what, t.last_post_id AS has, p.id AS wants
			FROM threads t JOIN posts p ON p.thread_id = t.id AND p.position = t.post_count WHERE t.last_post_id <> p.id`,
		`SELECT t.id, 'thread first_post_id' AS what, COALESCE(t.first_post_id, 0) AS has, p.id AS wants
			FROM threads t JOIN posts p ON p.thread_id = t.id AND p.position = 1 WHERE COALESCE(t.first_post_id, 0) <> p.id`,
		`SELECT f.id, 'forum post_count' AS what, f.post_count AS has, COALESCE(SUM(t.post_count), 0) AS wants
			FROM forums f LEFT JOIN threads t ON t.forum_id = f.id GROUP BY f.id, f.post_count HAVING f.post_count <> COALESCE(SUM(t.post_count), 0)`,
		`SELECT f.id, 'forum thread_count' AS what, f.thread_count AS has, COUNT(t.id) AS wants
			FROM forums f LEFT JOIN threads t ON t.forum_id = f.id GROUP BY f.id, f.thread_count HAVING f.thread_count <> COUNT(t.id)`,
		`SELECT f.id, 'forum last_post_id' AS what, COALESCE(f.last_post_id, 0) AS has, MAX(t.last_post_id) AS wants
			FROM forums f JOIN threads t ON t.forum_id = f.id GROUP BY f.id, f.last_post_id HAVING COALESCE(f.last_post_id, 0) <> MAX(t.last_post_id)`,
		`SELECT a.id, 'member post_count' AS what, a.post_count AS has, COUNT(p.id) AS wants
			FROM accounts a LEFT JOIN posts p ON p.author_id = a.id GROUP BY a.id, a.post_count HAVING a.post_count <> COUNT(p.id)`,
	}
	for _, q := range queries {
		if err := db.NewRaw(q).Scan(ctx, &bad); err != nil {
			t.Fatal(err)
		}
		for _, b := range bad {
			t.Errorf("%s %s is %d, the rows say %d", b.What, b.ID, b.Has, b.Wants)
		}
		bad = bad[:0]
	}
	// Every post of a listed forum has its search document; the hidden
	// forum's mirrors are left out of search.
	var posts, docs int64
	if err := db.NewRaw(`SELECT COUNT(*) FROM posts p JOIN threads t ON t.id = p.thread_id
		JOIN forums f ON f.id = t.forum_id WHERE NOT f.hidden`).Scan(ctx, &posts); err != nil {
		t.Fatal(err)
	}
	if err := db.NewRaw("SELECT COUNT(*) FROM post_search").Scan(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	if posts != docs {
		t.Errorf("%d posts, %d search documents", posts, docs)
	}
}
