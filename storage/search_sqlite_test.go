package storage_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/skein-forum/skein/internal/cputime"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// TestSearchCommonWords covers SQLite's search for a word in more posts
// than bm25 may rank: the newest matches, the posts whose thread title
// holds the words first, then newest first, paged without repeats, and
// without deleted posts or the posts of deleted threads.
func TestSearchCommonWords(t *testing.T) {
	if storage.SearchPostsByIDParams != storage.SearchPageSize+1 {
		t.Fatalf("the page query takes %d ids, a page needs %d", storage.SearchPostsByIDParams, storage.SearchPageSize+1)
	}
	defer storage.SetSearchRareTerm(5)()
	ctx := context.Background()
	s := storagetest.Open(t, "sqlite")
	fx := storagetest.Seed(t, s)
	titled, opener, err := s.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Alice.ID,
		Title: "Hydration tables", Source: "Percentages by flour.", HTML: "<p>Percentages by flour.</p>"})
	if err != nil {
		t.Fatal(err)
	}
	search := func(q string, page int) ([]storage.ID, bool) {
		t.Helper()
		hits, more, err := s.Search(ctx, q, page)
		if err != nil {
			t.Fatalf("search %q page %d: %v", q, page, err)
		}
		var ids []storage.ID
		for _, h := range hits {
			if h.Author == nil || h.ThreadTitle == "" {
				t.Fatalf("hit %s without its author or thread title", h.ID)
			}
			ids = append(ids, h.ID)
		}
		return ids, more
	}
	// A search's results are kept until the index changes: a new post,
	// an edit and a deletion each show at once.
	if got, _ := search("hydration", 1); !slices.Equal(got, []storage.ID{opener.ID}) {
		t.Fatalf("hydration before the replies: %v", got)
	}
	replies := storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 30)
	if got, _ := search("hydration", 1); len(got) != 20 {
		t.Fatalf("hydration after 30 replies: %d hits", len(got))
	}
	if got, _ := search("percentages", 1); !slices.Equal(got, []storage.ID{opener.ID}) {
		t.Fatalf("percentages: %v", got)
	}
	if _, err := s.EditPost(ctx, opener.ID, "Ratios by flour.", "<p>Ratios by flour.</p>"); err != nil {
		t.Fatal(err)
	}
	if got, _ := search("percentages", 1); len(got) != 0 {
		t.Fatalf("percentages after the edit: %v", got)
	}
	// Newest first after the title match, which is older than every reply.
	want := []storage.ID{opener.ID}
	for i := len(replies) - 1; i >= 0; i-- {
		want = append(want, replies[i].ID)
	}
	p1, more1 := search("hydration", 1)
	p2, more2 := search("hydration", 2)
	if !more1 || more2 || !slices.Equal(append(p1, p2...), want) {
		t.Fatalf("pages %v (more %v), %v (more %v); want %v", p1, more1, p2, more2, want)
	}
	// Every word must match, in the title or the text.
	if got, _ := search("hydration tables", 1); !slices.Equal(got, []storage.ID{opener.ID}) {
		t.Fatalf("hydration tables: %v", got)
	}
	if err := s.DeletePost(ctx, replies[29].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteThread(ctx, titled.ID); err != nil {
		t.Fatal(err)
	}
	// The index itself forgot them: a page of 20 with more to come, then
	// the 9 others.
	got, more := search("hydration", 1)
	if want := []storage.ID{replies[28].ID, replies[27].ID}; len(got) != 20 || !more || !slices.Equal(got[:2], want) {
		t.Fatalf("after deleting the newest reply and the titled thread: %v (more %v), want %v first", got, more, want)
	}
	if got, more = search("hydration", 2); len(got) != 9 || more {
		t.Fatalf("page 2 after the deletions: %d hits (more %v), want 9", len(got), more)
	}
}

// TestSearchCommonWordsWindow covers the bound of a search for a common
// word: its pages hold the newest 500 matches, a titled post older than
// those is left out rather than put first, and one within them goes
// first; every page is read on its own (no cache), as far as page 25.
func TestSearchCommonWordsWindow(t *testing.T) {
	defer storage.SetSearchRareTerm(5)()
	ctx := context.Background()
	s, fx := openUncachedSearch(t)
	newThread := func(title string) storage.ID { return openThread(t, s, fx, title, "Percentages.") }
	pages := func() []storage.ID {
		t.Helper()
		var ids []storage.ID
		for page := 1; page <= storage.MaxSearchPage; page++ {
			hits, more, err := s.Search(ctx, "hydration", page)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				ids = append(ids, h.ID)
			}
			if more != (page < storage.MaxSearchPage) || len(hits) != storage.SearchPageSize {
				t.Fatalf("page %d: %d hits, more %v", page, len(hits), more)
			}
		}
		return ids
	}
	newThread("Hydration tables") // older than the window
	replies := storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 505)
	var newest []storage.ID
	for i := len(replies) - 1; i >= len(replies)-500; i-- {
		newest = append(newest, replies[i].ID)
	}
	if got := pages(); !slices.Equal(got, newest) {
		t.Fatalf("the newest 500: got %d ids, first %v", len(got), got[:3])
	}
	titled := newThread("Hydration again") // the newest match, titled
	more := storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 3)
	want := []storage.ID{titled, more[2].ID, more[1].ID, more[0].ID}
	want = append(want, newest[:496]...)
	if got := pages(); !slices.Equal(got, want) {
		t.Fatalf("with a titled post in the window: got first %v, want %v", got[:5], want[:5])
	}
}

// TestSearchPages covers a search that lists only its page's ids: with
// more titled posts than a page holds, page 2 ends the titled ones and
// begins the others, and with bm25 ranking, pages skip in SQLite; either
// way the pages put together are the whole order, without repeats.
func TestSearchPages(t *testing.T) {
	s, fx := openUncachedSearch(t)
	pages := func(q string) []storage.ID { return searchAllPages(t, s, q) }
	// Titled threads and replies in turn, so neither kind is all older.
	var titled, replies []storage.ID
	for i := range 25 {
		titled = append(titled, openThread(t, s, fx, fmt.Sprintf("Hydration log %d", i), "Figures."))
		for _, r := range storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 2) {
			replies = append(replies, r.ID)
		}
	}
	slices.Reverse(titled)
	slices.Reverse(replies)
	// bm25 ranks: each reply holds the word once in a text as long as
	// the others', each opener once in a title, which weighs more; ties
	// go newest first.
	if got, want := pages("hydration"), append(slices.Clone(titled), replies...); !slices.Equal(got, want) {
		t.Fatalf("ranked: got %d ids %v, want %d %v", len(got), got, len(want), want)
	}
	// The word made common: the titled posts first, then the others.
	defer storage.SetSearchRareTerm(5)()
	if got, want := pages("hydration"), append(slices.Clone(titled), replies...); !slices.Equal(got, want) {
		t.Fatalf("newest: got %d ids %v, want %d %v", len(got), got, len(want), want)
	}
	if got, want := pages("figures"), titled; !slices.Equal(got, want) {
		t.Fatalf("figures: got %v, want %v", got, want)
	}
}

// openUncachedSearch opens a SQLite store with the fixtures of
// [storagetest.Seed] whose every search asks the index (no cache).
func openUncachedSearch(t *testing.T) (*storage.Store, *storagetest.Fixtures) {
	t.Helper()
	opts := storagetest.Options(t, "sqlite")
	opts.SearchCache = -1
	s := storagetest.OpenWith(t, opts)
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, storagetest.Seed(t, s)
}

// searchAllPages searches for q page by page while another page follows
// and returns the ids of every hit, failing on a short page before the
// last.
func searchAllPages(t *testing.T, s *storage.Store, q string) []storage.ID {
	t.Helper()
	var ids []storage.ID
	for page := 1; ; page++ {
		hits, more, err := s.Search(context.Background(), q, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			ids = append(ids, h.ID)
		}
		if !more {
			return ids
		}
		if len(hits) != storage.SearchPageSize {
			t.Fatalf("%q page %d: %d hits and more to come", q, page, len(hits))
		}
	}
}

// openThread starts a thread by Alice in the fixtures' forum and returns
// its opening post's id.
func openThread(t *testing.T, s *storage.Store, fx *storagetest.Fixtures, title, text string) storage.ID {
	t.Helper()
	_, opener, err := s.CreateThread(context.Background(), storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Alice.ID,
		Title: title, Source: text, HTML: "<p>" + text + "</p>"})
	if err != nil {
		t.Fatal(err)
	}
	return opener.ID
}

// TestSearchHitsCarryWhatResultsShow covers the page query of SQLite's
// search, which reads only the columns a page of results shows: every
// hit's post and author agree on those with the post as PostByID reads
// it whole (text without leading mentions, content warning, number,
// date, thread, author's name and link), for a member's post, a remote
// actor's reply with leading mentions, and posts behind a warning.
func TestSearchHitsCarryWhatResultsShow(t *testing.T) {
	ctx := context.Background()
	s := storagetest.Open(t, "sqlite")
	fx := storagetest.Seed(t, s)
	apID, url := "https://remote.example/users/carol", "https://remote.example/@carol"
	carol, err := s.UpsertRemoteAccount(ctx, &storage.Account{Handle: "carol", Domain: "remote.example", DisplayName: "Carol",
		APID: &apID, URL: url, Inbox: apID + "/inbox"})
	if err != nil {
		t.Fatal(err)
	}
	noteID := "https://remote.example/notes/1"
	mention := `<p><span class="h-card"><a href="https://remote.example/@x" class="u-url mention">@<span>x</span></a></span> Crumbling crust.</p>`
	posts := []storage.NewPost{
		{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, Source: "Crumbling crust again.", HTML: "<p>Crumbling crust again.</p>"},
		{ThreadID: fx.Thread.ID, AuthorID: carol.ID, HTML: mention, APID: &noteID, URL: noteID},
		{ThreadID: fx.Thread.ID, AuthorID: fx.Alice.ID, Source: "Crumbling crust, burnt.", HTML: "<p>Crumbling crust, burnt.</p>", Summary: "burns"},
		{ThreadID: fx.Thread.ID, AuthorID: fx.Alice.ID, Source: "Crumbling crust, raw.", HTML: "<p>Crumbling crust, raw.</p>", Sensitive: true},
	}
	for _, np := range posts {
		if _, err := s.CreatePost(ctx, np); err != nil {
			t.Fatal(err)
		}
	}
	// Leading mentions are found for replies to the thread's mention; set
	// a range by hand so that the hit must carry it.
	if _, err := s.DB().NewRaw("UPDATE posts SET lead_from = 3, lead_to = ? WHERE ap_id = ?",
		strings.Index(mention, " Crumbling"), noteID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	hits, _, err := s.Search(ctx, "crumbling crust", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != len(posts) {
		t.Fatalf("%d hits, want %d", len(hits), len(posts))
	}
	sawLead := false
	for _, h := range hits {
		p, err := s.PostByID(ctx, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		sawLead = sawLead || p.LeadTo > 0
		if h.ThreadID != p.ThreadID || h.AuthorID != p.AuthorID || h.Position != p.Position || !h.CreatedAt.Equal(p.CreatedAt) ||
			h.ViewHTML() != p.ViewHTML() || h.Warning() != p.Warning() || h.ThreadTitle != fx.Thread.Title {
			t.Errorf("hit %s: %+v\nfrom PostByID: %+v", h.ID, h.Post, *p)
		}
		a, b := h.Author, p.Author
		if a == nil || a.ID != b.ID || a.Name() != b.Name() || a.IsLocal() != b.IsLocal() || a.Handle != b.Handle ||
			a.URL != b.URL || (a.APID == nil) != (b.APID == nil) || a.APID != nil && *a.APID != *b.APID {
			t.Errorf("hit %s's author: %+v\nfrom PostByID: %+v", h.ID, a, b)
		}
	}
	if !sawLead {
		t.Error("no hit had leading mentions")
	}
}

// TestMergeSearchIndex covers the idle upkeep of SQLite's index: posts
// written one transaction each leave segments to merge, which a node
// merges in steps only while no post is written, and searches find the
// same posts after as before.
func TestMergeSearchIndex(t *testing.T) {
	ctx := context.Background()
	s := storagetest.Open(t, "sqlite")
	fx := storagetest.Seed(t, s)
	replies := storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 40)
	search := func() []storage.ID { return searchAllPages(t, s, "reply") }
	before := search()
	if len(before) != len(replies) {
		t.Fatalf("%d hits before merging, want %d", len(before), len(replies))
	}
	// Posts were just indexed: the node is not idle.
	if more, err := s.MergeSearchIndex(ctx, 16); err != nil || more {
		t.Fatalf("merge right after posting: more %v, %v", more, err)
	}
	defer storage.SetSearchIdleBeforeMerge(0)()
	steps := 0
	for {
		more, err := s.MergeSearchIndex(ctx, 16)
		if err != nil {
			t.Fatal(err)
		}
		steps++
		if !more {
			break
		}
		if steps > 1000 {
			t.Fatal("the merge never ends")
		}
	}
	if steps < 2 {
		t.Fatalf("%d steps: nothing was merged", steps)
	}
	if after := search(); !slices.Equal(after, before) {
		t.Fatalf("after merging: %v, before: %v", after, before)
	}
	if err := s.OptimizeSearchIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if after := search(); !slices.Equal(after, before) {
		t.Fatalf("after optimizing: %v, before: %v", after, before)
	}
}

// BenchmarkSearchQuery runs Store.Search (the ranked id list and the
// page of 21 posts, no cache) over 18,000 posts of the load tool's prose,
// where every word is common: "rye" alone and two words that must both
// match. "segments" is the index after the seed and 60 posts written one
// transaction each, as a live node leaves it between idle merges;
// "merged" after MergeSearchIndex has run to the end. cpu-ns/op is the
// process's CPU time a search, which a busy machine inflates less than
// ns/op.
func BenchmarkSearchQuery(b *testing.B) {
	ctx := context.Background()
	opts := storagetest.Options(b, "sqlite")
	opts.SearchCache = -1
	s, seeded := storagetest.SeedProse(b, opts)
	storagetest.Replies(b, s, seeded.LongThreads[0], seeded.MemberIDs[0], 60)
	run := func(b *testing.B) {
		for _, q := range []string{"rye", "steam oven"} {
			b.Run(q, func(b *testing.B) {
				b.ReportAllocs()
				cpu0 := cputime.Process()
				for b.Loop() {
					if hits, _, err := s.Search(ctx, q, 1); err != nil || len(hits) != storage.SearchPageSize {
						b.Fatalf("%q: %d hits, %v", q, len(hits), err)
					}
				}
				b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
	b.Run("segments", run)
	defer storage.SetSearchIdleBeforeMerge(0)()
	for {
		more, err := s.MergeSearchIndex(ctx, 256)
		if err != nil {
			b.Fatal(err)
		}
		if !more {
			break
		}
	}
	b.Run("merged", run)
}
