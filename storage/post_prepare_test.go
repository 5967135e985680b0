package storage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/uptrace/bun/dialect"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// A post prepared ahead (NewPost.Prepare, what the inbox does) is stored
// exactly as the same post unprepared: the same view of its HTML, content
// warning, notifications and search document, the same refusals. What
// needs the database is still decided in the transaction: a leading
// mention of someone other than the author replied to stays in view, a
// mention of an account that is not a member notifies nobody, and text
// changed after Prepare is read again.
func TestPreparedPostStoredAlike(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		carol := storagetest.RemoteActor(t, s, "carol", "social.example")
		dave := storagetest.RemoteActor(t, s, "dave", "other.example")
		mention := func(href, name string) string {
			return `<span class="h-card"><a href="` + href + `" class="u-url mention">@<span>` + name + `</span></a></span> `
		}
		thread := mention("https://forum.example/t/"+fx.Thread.ID.String(), storage.ThreadHandle(fx.Thread.ID))
		bob := mention("https://forum.example/u/bob", "bob")
		ghost := mention("https://forum.example/u/ghost", "ghost")
		alice := `<a href="https://forum.example/u/alice" class="mention">@alice@forum.example</a> `
		const nobody = storage.ID(987654321) // no such account
		toBob, toAlice := &fx.Posts[1].ID, &fx.Posts[0].ID

		for i, tc := range []struct {
			name string
			np   storage.NewPost
			// change, when set, changes the post after Prepare.
			change func(np *storage.NewPost)
			// view, when set, is what the forum view shows of it.
			view string
		}{
			{name: "a Mastodon reply", np: storage.NewPost{HTML: "<p>" + bob + thread + "Rye, yes. WORD</p>", ReplyToID: toBob,
				Mentions: []storage.ID{fx.Bob.ID}}, view: "<p>Rye, yes. WORD</p>"},
			{name: "a mention of someone else first", np: storage.NewPost{HTML: "<p>" + ghost + bob + thread + "WORD</p>", ReplyToID: toBob},
				view: "<p>" + ghost + bob + thread + "WORD</p>"},
			{name: "replying to Alice, @bob is someone else", np: storage.NewPost{HTML: "<p>" + bob + "WORD</p>", ReplyToID: toAlice},
				view: "<p>" + bob + "WORD</p>"},
			{name: "@alice with her host, replying to her", np: storage.NewPost{HTML: "<p>" + alice + thread + "</p><p>WORD</p>", ReplyToID: toAlice},
				view: "<p>WORD</p>"},
			{name: "only mentions", np: storage.NewPost{HTML: "<p>" + thread + bob + "</p>", ReplyToID: toBob, Summary: "WORD"}},
			{name: "mentions of no account, a remote one and a member", np: storage.NewPost{HTML: "<p>hi @ghost @dave @mod WORD</p>",
				Mentions: []storage.ID{nobody, dave.ID, fx.Mod.ID}}},
			{name: "a content warning", np: storage.NewPost{HTML: "<p>" + thread + "plot twist</p>", Summary: "  film\nWORD  "}},
			{name: "a quote", np: storage.NewPost{HTML: "<p>so true WORD</p>", QuoteID: toBob, Sensitive: true}},
			{name: "empty", np: storage.NewPost{HTML: " \n"}},
			{name: "HTML changed after Prepare", np: storage.NewPost{HTML: "<p>" + bob + thread + "WORD</p>", ReplyToID: toBob},
				change: func(np *storage.NewPost) { np.HTML = "<p>" + ghost + thread + "WORD changed</p>" },
				view:   "<p>" + ghost + thread + "WORD changed</p>"},
			{name: "made valid after Prepare", np: storage.NewPost{HTML: ""},
				change: func(np *storage.NewPost) { np.HTML = "<p>" + thread + "WORD</p>" }},
			{name: "made empty after Prepare", np: storage.NewPost{HTML: "<p>" + thread + "WORD</p>"},
				change: func(np *storage.NewPost) { np.HTML = "" }},
			{name: "warning changed after Prepare", np: storage.NewPost{HTML: "<p>x</p>", Summary: "WORD"},
				change: func(np *storage.NewPost) { np.Summary = string(make([]byte, storage.MaxSummaryLen+1)) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				word := fmt.Sprintf("quince%c", 'a'+i)
				store := func(prepare bool) storage.PostResult {
					np := tc.np
					np.ThreadID, np.AuthorID = fx.Thread.ID, carol.ID
					np.HTML = replaceWord(np.HTML, word)
					np.Summary = replaceWord(np.Summary, word)
					apid := fmt.Sprintf("https://social.example/notes/%d-%v", i, prepare)
					np.APID = &apid
					if prepare {
						np.Prepare()
					}
					if tc.change != nil {
						tc.change(&np)
						np.HTML = replaceWord(np.HTML, word)
					}
					res, err := s.CreateInboxPosts(ctx, []storage.NewPost{np}, []string{apid + "/activity"})
					if err != nil {
						t.Fatal(err)
					}
					return res[0]
				}
				plain, prepared := store(false), store(true)
				if (plain.Err == nil) != (prepared.Err == nil) || (plain.Err != nil && plain.Err.Error() != prepared.Err.Error()) {
					t.Fatalf("refused: unprepared %v, prepared %v", plain.Err, prepared.Err)
				}
				if plain.Err != nil {
					if !errors.Is(prepared.Err, storage.ErrInvalid) {
						t.Fatalf("refused with %v", prepared.Err)
					}
					return
				}
				a, err := s.PostByID(ctx, plain.Post.ID)
				if err != nil {
					t.Fatal(err)
				}
				b, err := s.PostByID(ctx, prepared.Post.ID)
				if err != nil {
					t.Fatal(err)
				}
				if a.HTML != b.HTML || a.ViewHTML() != b.ViewHTML() || a.LeadFrom != b.LeadFrom || a.LeadTo != b.LeadTo ||
					a.Summary != b.Summary || a.Sensitive != b.Sensitive {
					t.Fatalf("stored unprepared:\n %q [%d,%d) %q %v\nprepared:\n %q [%d,%d) %q %v", a.ViewHTML(), a.LeadFrom, a.LeadTo,
						a.Summary, a.Sensitive, b.ViewHTML(), b.LeadFrom, b.LeadTo, b.Summary, b.Sensitive)
				}
				if want := replaceWord(tc.view, word); want != "" && b.ViewHTML() != want {
					t.Fatalf("shown %q, want %q", b.ViewHTML(), want)
				}
				if na, nb := postNotified(t, s, a.ID), postNotified(t, s, b.ID); !slices.Equal(na, nb) {
					t.Fatalf("notified: unprepared %v, prepared %v", na, nb)
				}
				hits, _, err := s.Search(ctx, word, 1)
				if err != nil {
					t.Fatal(err)
				}
				var found []storage.ID
				for _, h := range hits {
					found = append(found, h.ID)
				}
				slices.Sort(found)
				if !slices.Equal(found, []storage.ID{a.ID, b.ID}) {
					t.Fatalf("search for %q found %v, want %s and %s", word, found, a.ID, b.ID)
				}
				if s.DB().Dialect().Name() == dialect.PG {
					var bodies []string
					err := s.DB().NewRaw("SELECT body FROM post_search WHERE post_id IN (?, ?)", a.ID, b.ID).Scan(ctx, &bodies)
					if err != nil || len(bodies) != 2 || bodies[0] != bodies[1] {
						t.Fatalf("search documents %q: %v", bodies, err)
					}
				}
			})
		}
		// The cases notify as they should, not merely alike: Bob of the
		// replies to his post, Alice of those to hers, Morgan of her
		// mention; neither the remote account nor the missing one.
		if n := len(notificationsOf(t, s, fx.Mod.ID)); n != 2 {
			t.Fatalf("morgan has %d notifications, want 2 (one mention, stored twice)", n)
		}
		var others int
		if err := s.DB().NewRaw("SELECT COUNT(*) FROM notifications WHERE recipient_id IN (?, ?)", nobody, dave.ID).Scan(ctx, &others); err != nil || others != 0 {
			t.Fatalf("%d notifications of accounts that are not members: %v", others, err)
		}
	})
}

// replaceWord puts word where s says WORD.
func replaceWord(s, word string) string {
	return strings.ReplaceAll(s, "WORD", word)
}

// postNotified lists who post id notified, and of what.
func postNotified(t *testing.T, s *storage.Store, id storage.ID) []string {
	t.Helper()
	var rows []struct {
		Recipient storage.ID `bun:"recipient_id"`
		Kind      string     `bun:"kind"`
	}
	err := s.DB().NewRaw("SELECT recipient_id, kind FROM notifications WHERE post_id = ? ORDER BY recipient_id, kind", id).
		Scan(context.Background(), &rows)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Recipient.String()+" "+r.Kind)
	}
	return out
}
