package storage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// got is one notification as the tests compare them.
type got struct {
	kind  string
	actor storage.ID
	post  storage.ID
}

// notificationsOf lists a member's notifications, newest first, and
// checks that the unread count on their account matches the rows.
func notificationsOf(t *testing.T, s *storage.Store, recipient storage.ID) []got {
	t.Helper()
	ctx := context.Background()
	entries, err := s.Notifications(ctx, recipient, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []got
	unread := int64(0)
	for _, e := range entries {
		out = append(out, got{e.Kind, e.ActorID, e.PostID})
		if e.ReadAt == nil {
			unread++
		}
	}
	n, err := s.UnreadNotifications(ctx, recipient)
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	if err := s.DB().NewRaw("SELECT COUNT(*) FROM notifications WHERE recipient_id = ? AND read_at IS NULL", recipient).Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	if n != rows {
		t.Fatalf("unread count of %s is %d, but %d notifications are unread", recipient, n, rows)
	}
	return out
}

func wantNotifications(t *testing.T, s *storage.Store, recipient storage.ID, want ...got) {
	t.Helper()
	have := notificationsOf(t, s, recipient)
	if !slices.Equal(have, want) {
		t.Fatalf("notifications of %s:\n have %+v\n want %+v", recipient, have, want)
	}
}

// Replies, quotes and mentions notify members, once per post and member,
// never the writer, from the web and the inbox's batch path alike.
func TestPostNotifications(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		// The seed: Bob replies to Alice's opening post, Alice quotes Bob.
		wantNotifications(t, s, fx.Alice.ID, got{storage.NotifyReply, fx.Bob.ID, fx.Posts[1].ID})
		wantNotifications(t, s, fx.Bob.ID, got{storage.NotifyQuote, fx.Alice.ID, fx.Posts[2].ID})

		// A reply to the thread (no post named) is a reply to its author;
		// a mention of her as well notifies her once, as a reply. Bob
		// mentioning himself is nothing.
		p, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID,
			Source: "@alice @morgan @bob", HTML: "<p>@alice @morgan @bob</p>",
			Mentions: []storage.ID{fx.Alice.ID, fx.Mod.ID, fx.Bob.ID}})
		if err != nil {
			t.Fatal(err)
		}
		wantNotifications(t, s, fx.Alice.ID, got{storage.NotifyReply, fx.Bob.ID, p.ID}, got{storage.NotifyReply, fx.Bob.ID, fx.Posts[1].ID})
		wantNotifications(t, s, fx.Mod.ID, got{storage.NotifyMention, fx.Bob.ID, p.ID})
		wantNotifications(t, s, fx.Bob.ID, got{storage.NotifyQuote, fx.Alice.ID, fx.Posts[2].ID})

		// The inbox's batch: a remote reply to Bob's post mentioning Alice,
		// a remote quote of Alice's, and a remote account named among the
		// mentions (ignored: only members are notified).
		carol := storagetest.RemoteActor(t, s, "carol", "social.example")
		dave := storagetest.RemoteActor(t, s, "dave", "other.example")
		a1, a2 := "https://social.example/notes/1", "https://social.example/notes/2"
		res, err := s.CreatePosts(ctx, []storage.NewPost{
			{ThreadID: fx.Thread.ID, AuthorID: carol.ID, HTML: "<p>@bob @alice hi</p>", APID: &a1,
				ReplyToID: &fx.Posts[1].ID, Mentions: []storage.ID{fx.Bob.ID, fx.Alice.ID, dave.ID}},
			{ThreadID: fx.Thread.ID, AuthorID: carol.ID, HTML: "<p>quoting</p>", APID: &a2, QuoteID: &fx.Posts[0].ID},
		})
		if err != nil || res[0].Err != nil || res[1].Err != nil {
			t.Fatalf("create posts: %v %+v", err, res)
		}
		r1, r2 := res[0].Post.ID, res[1].Post.ID
		wantNotifications(t, s, fx.Bob.ID, got{storage.NotifyReply, carol.ID, r1}, got{storage.NotifyQuote, fx.Alice.ID, fx.Posts[2].ID})
		// The quote of Alice's post is a reply to her thread too: the quote
		// says more and wins.
		wantNotifications(t, s, fx.Alice.ID, got{storage.NotifyQuote, carol.ID, r2}, got{storage.NotifyMention, carol.ID, r1},
			got{storage.NotifyReply, fx.Bob.ID, p.ID}, got{storage.NotifyReply, fx.Bob.ID, fx.Posts[1].ID})
		// Delivered again: stored once, notified once.
		if _, err := s.CreatePosts(ctx, []storage.NewPost{{ThreadID: fx.Thread.ID, AuthorID: carol.ID, HTML: "<p>@bob @alice hi</p>",
			APID: &a1, ReplyToID: &fx.Posts[1].ID, Mentions: []storage.ID{fx.Bob.ID}}}); err != nil {
			t.Fatal(err)
		}
		if n := len(notificationsOf(t, s, fx.Bob.ID)); n != 2 {
			t.Fatalf("bob has %d notifications after a repeated delivery, want 2", n)
		}

		// A new thread notifies those its opening post mentions.
		th, first, err := s.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Mod.ID, Title: "Rules",
			Source: "@bob read this", HTML: "<p>@bob read this</p>", Mentions: []storage.ID{fx.Bob.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if have := notificationsOf(t, s, fx.Bob.ID); have[0] != (got{storage.NotifyMention, fx.Mod.ID, first.ID}) {
			t.Fatalf("bob's newest notification = %+v", have[0])
		}
		entries, err := s.Notifications(ctx, fx.Bob.ID, 0, 1)
		if err != nil || len(entries) != 1 || entries[0].ThreadTitle != "Rules" || entries[0].ThreadID != th.ID ||
			entries[0].Actor == nil || entries[0].Actor.Handle != "morgan" || entries[0].Post == nil || entries[0].Post.ID != first.ID {
			t.Fatalf("entry = %+v, %v", entries, err)
		}
	})
}

// Nothing comes from a muted actor or domain, and nothing goes to a
// member who cannot sign in.
func TestNotificationsMuted(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		before := notificationsOf(t, s, fx.Alice.ID)

		silenced := storagetest.RemoteActor(t, s, "sil", "quiet.example")
		if err := s.SilenceAccount(ctx, 0, silenced.ID, true); err != nil {
			t.Fatal(err)
		}
		onBlocked := storagetest.RemoteActor(t, s, "eve", "sub.blocked.example")
		if err := s.BlockDomain(ctx, 0, storage.DomainBlock{Host: "blocked.example", Severity: storage.SeveritySilence}); err != nil {
			t.Fatal(err)
		}
		for i, a := range []*storage.Account{silenced, onBlocked} {
			apid := fmt.Sprintf("https://%s/notes/%d", a.Domain, i)
			res, err := s.CreatePosts(ctx, []storage.NewPost{{ThreadID: fx.Thread.ID, AuthorID: a.ID, HTML: "<p>@alice</p>",
				APID: &apid, ReplyToID: &fx.Posts[0].ID, Mentions: []storage.ID{fx.Alice.ID}}})
			if err != nil || res[0].Err != nil {
				t.Fatalf("post: %v %+v", err, res)
			}
			if _, err := s.LikePost(ctx, fx.Posts[0].ID, a.ID, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddFollow(ctx, a.ID, storage.FollowAccount, fx.Alice.ID, nil, true); err != nil {
				t.Fatal(err)
			}
			if err := s.AnnouncePost(ctx, fx.Posts[0].ID, a.ID); err != nil {
				t.Fatal(err)
			}
		}
		if have := notificationsOf(t, s, fx.Alice.ID); !slices.Equal(have, before) {
			t.Fatalf("muted actors notified alice: %+v", have)
		}

		// A member who deleted their account, or waits for approval, is
		// not notified.
		pending, err := s.CreateMember(ctx, storage.NewMember{Handle: "newbie", PasswordHash: "x", ApprovalPending: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, Source: "hi",
			HTML: "<p>hi</p>", Mentions: []storage.ID{pending.ID}}); err != nil {
			t.Fatal(err)
		}
		if have := notificationsOf(t, s, pending.ID); len(have) != 0 {
			t.Fatalf("a pending registration was notified: %+v", have)
		}
		// Rejecting it removes the account; nothing refers to it any more.
		if err := s.RejectMember(ctx, 0, pending.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// Likes, follows and boosts notify once, however often they repeat.
func TestLikeFollowAnnounceNotifications(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		carol := storagetest.RemoteActor(t, s, "carol", "social.example")
		base := notificationsOf(t, s, fx.Alice.ID)
		post := fx.Posts[0].ID

		for range 2 {
			if _, err := s.LikePost(ctx, post, fx.Bob.ID, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.UnlikePost(ctx, post, fx.Bob.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.LikePost(ctx, post, fx.Bob.ID, nil); err != nil {
			t.Fatal(err)
		}
		apID := "https://social.example/likes/1"
		if _, err := s.LikePost(ctx, post, carol.ID, &apID); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := s.AddFollow(ctx, carol.ID, storage.FollowAccount, fx.Alice.ID, nil, true); err != nil {
				t.Fatal(err)
			}
			if err := s.AnnouncePost(ctx, post, carol.ID); err != nil {
				t.Fatal(err)
			}
		}
		// A follow of a thread or forum notifies nobody.
		if _, err := s.AddFollow(ctx, carol.ID, storage.FollowThread, fx.Thread.ID, nil, true); err != nil {
			t.Fatal(err)
		}
		want := append([]got{
			{storage.NotifyAnnounce, carol.ID, post},
			{storage.NotifyFollow, carol.ID, 0},
			{storage.NotifyLike, carol.ID, post},
			{storage.NotifyLike, fx.Bob.ID, post},
		}, base...)
		wantNotifications(t, s, fx.Alice.ID, want...)

		// A follow held for approval notifies when it is accepted.
		dave := storagetest.RemoteActor(t, s, "dave", "other.example")
		if _, err := s.AddFollow(ctx, dave.ID, storage.FollowAccount, fx.Bob.ID, nil, false); err != nil {
			t.Fatal(err)
		}
		if have := notificationsOf(t, s, fx.Bob.ID); len(have) != 1 {
			t.Fatalf("a held follow notified bob: %+v", have)
		}
		if err := s.AcceptFollow(ctx, dave.ID, storage.FollowAccount, fx.Bob.ID); err != nil {
			t.Fatal(err)
		}
		if have := notificationsOf(t, s, fx.Bob.ID); have[0] != (got{storage.NotifyFollow, dave.ID, 0}) {
			t.Fatalf("bob's newest notification = %+v", have[0])
		}
		if err := s.AnnouncePost(ctx, 12345, carol.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("announce of no post: %v", err)
		}
	})
}

// Read state: one at a time, all at once up to a given notification,
// and never another member's; the unread count follows.
func TestReadNotifications(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		for i := range 3 {
			if _, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID,
				Source: fmt.Sprint(i), HTML: fmt.Sprintf("<p>%d</p>", i)}); err != nil {
				t.Fatal(err)
			}
		}
		entries, err := s.Notifications(ctx, fx.Alice.ID, 0, 10)
		if err != nil || len(entries) != 4 {
			t.Fatalf("entries %d, %v", len(entries), err)
		}
		if n, _ := s.UnreadNotifications(ctx, fx.Alice.ID); n != 4 {
			t.Fatalf("unread = %d, want 4", n)
		}
		if _, err := s.ReadNotification(ctx, fx.Bob.ID, entries[0].ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("bob read alice's notification: %v", err)
		}
		for range 2 {
			n, err := s.ReadNotification(ctx, fx.Alice.ID, entries[0].ID)
			if err != nil || n.ReadAt == nil || n.PostID != entries[0].PostID {
				t.Fatalf("read: %+v %v", n, err)
			}
		}
		if n, _ := s.UnreadNotifications(ctx, fx.Alice.ID); n != 3 {
			t.Fatalf("unread after reading one = %d, want 3", n)
		}
		// Up to the second newest: the newest (read) and the two below it.
		if k, err := s.ReadAllNotifications(ctx, fx.Alice.ID, entries[2].ID); err != nil || k != 2 {
			t.Fatalf("read all up to the third: %d %v", k, err)
		}
		if n, _ := s.UnreadNotifications(ctx, fx.Alice.ID); n != 1 {
			t.Fatalf("unread = %d, want 1", n)
		}
		if k, err := s.ReadAllNotifications(ctx, fx.Alice.ID, 0); err != nil || k != 1 {
			t.Fatalf("read all: %d %v", k, err)
		}
		notificationsOf(t, s, fx.Alice.ID)
		// The session's account carries the count.
		a, _ := s.AccountByID(ctx, fx.Alice.ID)
		if a.UnreadNotifications != 0 {
			t.Fatalf("account says %d unread", a.UnreadNotifications)
		}
	})
}

// Deleting a post, a thread or an account takes its notifications along
// and keeps the unread counts right.
func TestNotificationsForgotten(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		if err := s.DeletePost(ctx, fx.Posts[1].ID); err != nil {
			t.Fatal(err)
		}
		wantNotifications(t, s, fx.Alice.ID)
		// A second thread: Bob replies; then the thread goes.
		th, _, err := s.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Alice.ID, Title: "Two",
			Source: "x", HTML: "<p>x</p>"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreatePost(ctx, storage.NewPost{ThreadID: th.ID, AuthorID: fx.Bob.ID, Source: "y", HTML: "<p>y</p>"}); err != nil {
			t.Fatal(err)
		}
		if len(notificationsOf(t, s, fx.Alice.ID)) != 1 {
			t.Fatal("no reply notification")
		}
		if err := s.DeleteThread(ctx, th.ID); err != nil {
			t.Fatal(err)
		}
		wantNotifications(t, s, fx.Alice.ID)
		// Bob's account goes: what he did notifies nobody any more.
		if _, err := s.LikePost(ctx, fx.Posts[0].ID, fx.Bob.ID, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteOwnAccount(ctx, fx.Bob.ID); err != nil {
			t.Fatal(err)
		}
		wantNotifications(t, s, fx.Alice.ID)
		wantNotifications(t, s, fx.Bob.ID)
		// A suspended account's: the same.
		dave := storagetest.RemoteActor(t, s, "dave", "other.example")
		if _, err := s.LikePost(ctx, fx.Posts[0].ID, dave.ID, nil); err != nil {
			t.Fatal(err)
		}
		if len(notificationsOf(t, s, fx.Alice.ID)) != 1 {
			t.Fatal("no like notification")
		}
		if err := s.SuspendAccount(ctx, 0, dave.ID, true); err != nil {
			t.Fatal(err)
		}
		wantNotifications(t, s, fx.Alice.ID)
		// A suspended domain's actors: the same.
		carol := storagetest.RemoteActor(t, s, "carol", "social.example")
		if err := s.AnnouncePost(ctx, fx.Posts[0].ID, carol.ID); err != nil {
			t.Fatal(err)
		}
		if len(notificationsOf(t, s, fx.Alice.ID)) != 1 {
			t.Fatal("no boost notification")
		}
		if err := s.BlockDomain(ctx, 0, storage.DomainBlock{Host: "social.example", Severity: storage.SeveritySuspend}); err != nil {
			t.Fatal(err)
		}
		wantNotifications(t, s, fx.Alice.ID)
	})
}

// An edit that adds a mention notifies the member newly mentioned, once;
// members the post notified before are not told again.
func TestEditNotifiesNewMentions(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		reply := fx.Posts[1] // Bob's reply to Alice: she was notified
		for range 2 {
			if _, err := s.UpdatePost(ctx, reply.ID, storage.PostEdit{Source: "@alice @morgan", HTML: "<p>@alice @morgan</p>",
				Mentions: []storage.ID{fx.Alice.ID, fx.Mod.ID}}); err != nil {
				t.Fatal(err)
			}
		}
		wantNotifications(t, s, fx.Mod.ID, got{storage.NotifyMention, fx.Bob.ID, reply.ID})
		wantNotifications(t, s, fx.Alice.ID, got{storage.NotifyReply, fx.Bob.ID, reply.ID})
	})
}

func TestNotificationPrefs(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		prefs, err := s.NotificationPrefs(ctx, fx.Alice.ID)
		if err != nil || prefs[storage.NotifyMention] != storage.DeliverMail || prefs[storage.NotifyLike] != storage.DeliverWeb ||
			len(prefs) != len(storage.NotificationKinds) {
			t.Fatalf("defaults = %v, %v", prefs, err)
		}
		for _, d := range []string{storage.DeliverDigest, storage.DeliverWeb} {
			if err := s.SetNotificationPref(ctx, fx.Alice.ID, storage.NotifyMention, d); err != nil {
				t.Fatal(err)
			}
		}
		if prefs, _ = s.NotificationPrefs(ctx, fx.Alice.ID); prefs[storage.NotifyMention] != storage.DeliverWeb {
			t.Fatalf("mention delivery = %q", prefs[storage.NotifyMention])
		}
		if err := s.SetNotificationPref(ctx, fx.Alice.ID, "poke", storage.DeliverWeb); !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("unknown kind: %v", err)
		}
		if err := s.SetNotificationPref(ctx, fx.Alice.ID, storage.NotifyLike, "pigeon"); !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("unknown delivery: %v", err)
		}
	})
}

// Content warnings are stored, kept by EditPost, changed by UpdatePost,
// and searchable by their own words.
func TestContentWarnings(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		p, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, Source: "the ending twist",
			HTML: "<p>the ending twist</p>", Summary: "  film\nspoilers "})
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := s.PostByID(ctx, p.ID)
		if stored.Summary != "film spoilers" || !stored.Sensitive || stored.Warning() != "film spoilers" {
			t.Fatalf("stored summary %q sensitive %v", stored.Summary, stored.Sensitive)
		}
		hits, _, err := s.Search(ctx, "spoilers", 1)
		if err != nil || len(hits) != 1 || hits[0].ID != p.ID {
			t.Fatalf("search by warning: %+v %v", hits, err)
		}
		if _, err := s.EditPost(ctx, p.ID, "the ending", "<p>the ending</p>"); err != nil {
			t.Fatal(err)
		}
		if stored, _ = s.PostByID(ctx, p.ID); stored.Summary != "film spoilers" {
			t.Fatalf("EditPost dropped the warning: %q", stored.Summary)
		}
		if _, err := s.UpdatePost(ctx, p.ID, storage.PostEdit{Source: "x", HTML: "<p>x</p>"}); err != nil {
			t.Fatal(err)
		}
		if stored, _ = s.PostByID(ctx, p.ID); stored.Summary != "" || stored.Sensitive || stored.Warning() != "" {
			t.Fatalf("UpdatePost kept the warning: %q %v", stored.Summary, stored.Sensitive)
		}
		// A remote post marked sensitive without a summary is collapsed too.
		carol := storagetest.RemoteActor(t, s, "carol", "social.example")
		apid := "https://social.example/notes/9"
		res, err := s.CreatePosts(ctx, []storage.NewPost{
			{ThreadID: fx.Thread.ID, AuthorID: carol.ID, HTML: "<p>photo</p>", APID: &apid, Sensitive: true},
			{ThreadID: fx.Thread.ID, AuthorID: carol.ID, HTML: "<p>long</p>", Summary: strings.Repeat("x", storage.MaxSummaryLen+1)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Err != nil || res[0].Post.Warning() != storage.SensitiveWarning {
			t.Fatalf("sensitive post: %+v", res[0])
		}
		if !errors.Is(res[1].Err, storage.ErrInvalid) {
			t.Fatalf("an overlong warning: %v", res[1].Err)
		}
		if _, _, err := s.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Bob.ID, Title: "T",
			Source: "x", HTML: "<p>x</p>", Summary: "cw"}); err != nil {
			t.Fatal(err)
		}
	})
}

// The forum view leaves out the mentions of the thread and of the author
// replied to that a Mastodon reply opens with; the stored HTML keeps them.
func TestLeadingMentionsHidden(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		carol := storagetest.RemoteActor(t, s, "carol", "social.example")
		mention := func(href, name string) string {
			return `<span class="h-card"><a href="` + href + `" class="u-url mention" rel="nofollow ugc noopener">@<span>` + name + `</span></a></span>`
		}
		thread := mention("https://forum.example/t/"+fx.Thread.ID.String(), storage.ThreadHandle(fx.Thread.ID))
		bob := mention("https://forum.example/u/bob", "bob")
		html := "<p>" + bob + " " + thread + " Rye, yes.</p>"
		apid := "https://social.example/notes/5"
		res, err := s.CreatePosts(ctx, []storage.NewPost{{ThreadID: fx.Thread.ID, AuthorID: carol.ID, HTML: html, APID: &apid,
			ReplyToID: &fx.Posts[1].ID}})
		if err != nil || res[0].Err != nil {
			t.Fatalf("create: %v %+v", err, res)
		}
		p, _ := s.PostByID(ctx, res[0].Post.ID)
		if p.HTML != html || p.ViewHTML() != "<p>Rye, yes.</p>" {
			t.Fatalf("stored %q, shown %q", p.HTML, p.ViewHTML())
		}
		// Replying to Alice, a leading @bob is someone else: kept.
		apid2 := "https://social.example/notes/6"
		res, err = s.CreatePosts(ctx, []storage.NewPost{{ThreadID: fx.Thread.ID, AuthorID: carol.ID, HTML: html, APID: &apid2,
			ReplyToID: &fx.Posts[0].ID}})
		if err != nil || res[0].Err != nil {
			t.Fatalf("create: %v %+v", err, res)
		}
		if p, _ = s.PostByID(ctx, res[0].Post.ID); p.ViewHTML() != html {
			t.Fatalf("shown %q", p.ViewHTML())
		}
		// A member's own post shows as written.
		own, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Alice.ID, Source: "@bob thanks",
			HTML: "<p>" + bob + " thanks</p>", ReplyToID: &fx.Posts[1].ID})
		if err != nil || own.ViewHTML() != own.HTML {
			t.Fatalf("own post shown %q, %v", own.ViewHTML(), err)
		}
		// An edit computes it again.
		if _, err := s.EditPost(ctx, p.ID, "", "<p>"+thread+" edited</p>"); err != nil {
			t.Fatal(err)
		}
		if p, _ = s.PostByID(ctx, p.ID); p.ViewHTML() != "<p>edited</p>" {
			t.Fatalf("after edit shown %q", p.ViewHTML())
		}
	})
}

// Unsubscribing from notification mail moves the kinds it covers to the
// web only and leaves the others as they were.
func TestUnsubscribeScopes(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		id := fx.Alice.ID
		err := s.SetNotificationPrefs(ctx, id, map[string]string{storage.NotifyLike: storage.DeliverDigest,
			storage.NotifyThreadPost: storage.DeliverDigest, storage.NotifyQuote: storage.DeliverMail})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetNotificationPrefs(ctx, id, map[string]string{"poke": storage.DeliverWeb}); !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("unknown kind: %v", err)
		}
		step := func(scope string, want map[string]string) {
			t.Helper()
			if err := s.Unsubscribe(ctx, id, scope); err != nil {
				t.Fatal(err)
			}
			prefs, err := s.NotificationPrefs(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			for k, d := range want {
				if prefs[k] != d {
					t.Errorf("after %s: %s is %s, want %s", scope, k, prefs[k], d)
				}
			}
		}
		step(storage.UnsubscribeKind(storage.NotifyQuote), map[string]string{storage.NotifyQuote: storage.DeliverWeb,
			storage.NotifyMention: storage.DeliverMail, storage.NotifyLike: storage.DeliverDigest})
		step(storage.UnsubscribeDigest, map[string]string{storage.NotifyLike: storage.DeliverWeb,
			storage.NotifyThreadPost: storage.DeliverWeb, storage.NotifyMention: storage.DeliverMail})
		step(storage.UnsubscribeMail, map[string]string{storage.NotifyMention: storage.DeliverWeb, storage.NotifyReply: storage.DeliverWeb})
		if err := s.Unsubscribe(ctx, id, "kind-poke"); !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("unknown scope: %v", err)
		}
	})
}
