package storage_test

import (
	"context"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// Watching: new posts in a followed thread and new threads in a followed
// forum notify, once per post, never the writer; a muted thread tells its
// muter nothing, not even a mention or a like.
func TestWatchNotifications(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		if _, err := s.AddFollow(ctx, fx.Mod.ID, storage.FollowThread, fx.Thread.ID, nil, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddFollow(ctx, fx.Bob.ID, storage.FollowForum, fx.Forum.ID, nil, true); err != nil {
			t.Fatal(err)
		}
		// Alice's two posts: Morgan hears of each; the batch path too.
		posts := storagetest.Replies(t, s, fx.Thread.ID, fx.Alice.ID, 2)
		res, err := s.CreatePosts(ctx, []storage.NewPost{{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID,
			Source: "batch", HTML: "<p>batch</p>"}})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res[0].Err)
		}
		wantNotifications(t, s, fx.Mod.ID,
			got{storage.NotifyThreadPost, fx.Bob.ID, res[0].Post.ID},
			got{storage.NotifyThreadPost, fx.Alice.ID, posts[1].ID},
			got{storage.NotifyThreadPost, fx.Alice.ID, posts[0].ID})

		// Morgan's own post tells Morgan nothing; a mention of a watcher
		// is one notification, the mention.
		storagetest.Replies(t, s, fx.Thread.ID, fx.Mod.ID, 1)
		p, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Alice.ID,
			Source: "@morgan", HTML: "<p>@morgan</p>", Mentions: []storage.ID{fx.Mod.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if have := notificationsOf(t, s, fx.Mod.ID); len(have) != 4 || have[0] != (got{storage.NotifyMention, fx.Alice.ID, p.ID}) {
			t.Fatalf("after Morgan's post and a mention: %+v", have)
		}

		// A new thread in the forum Bob follows.
		th, first, err := s.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Alice.ID,
			Title: "Rye ratios", Source: "What ratio?", HTML: "<p>What ratio?</p>"})
		if err != nil {
			t.Fatal(err)
		}
		if have := notificationsOf(t, s, fx.Bob.ID); have[0] != (got{storage.NotifyForumThread, fx.Alice.ID, first.ID}) {
			t.Fatalf("Bob's notifications after the new thread: %+v", have)
		}

		// Muted, the thread tells Morgan nothing: neither posts, nor
		// mentions, nor likes; and posting in it does not follow it again.
		if err := s.MuteThread(ctx, fx.Mod.ID, fx.Thread.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAutoWatch(ctx, fx.Mod.ID, true); err != nil {
			t.Fatal(err)
		}
		before := notificationsOf(t, s, fx.Mod.ID)
		mine := storagetest.Replies(t, s, fx.Thread.ID, fx.Mod.ID, 1)[0]
		storagetest.Replies(t, s, fx.Thread.ID, fx.Alice.ID, 1)
		if _, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Alice.ID,
			Source: "@morgan", HTML: "<p>@morgan</p>", Mentions: []storage.ID{fx.Mod.ID}, ReplyToID: &mine.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LikePost(ctx, mine.ID, fx.Alice.ID, nil); err != nil {
			t.Fatal(err)
		}
		if have := notificationsOf(t, s, fx.Mod.ID); len(have) != len(before) {
			t.Fatalf("a muted thread notified: %+v", have[:len(have)-len(before)])
		}
		// Another thread still notifies Morgan.
		if _, err := s.CreatePost(ctx, storage.NewPost{ThreadID: th.ID, AuthorID: fx.Alice.ID,
			Source: "@morgan", HTML: "<p>@morgan</p>", Mentions: []storage.ID{fx.Mod.ID}}); err != nil {
			t.Fatal(err)
		}
		if have := notificationsOf(t, s, fx.Mod.ID); len(have) != len(before)+1 {
			t.Fatalf("a mention elsewhere: %d notifications, want %d", len(have), len(before)+1)
		}
		// Unmuted, Morgan hears of the thread again once followed.
		if err := s.MuteThread(ctx, fx.Mod.ID, fx.Thread.ID, false); err != nil {
			t.Fatal(err)
		}
		storagetest.Replies(t, s, fx.Thread.ID, fx.Mod.ID, 1) // follows it again (auto-watch)
		last := storagetest.Replies(t, s, fx.Thread.ID, fx.Bob.ID, 1)[0]
		if have := notificationsOf(t, s, fx.Mod.ID); have[0] != (got{storage.NotifyThreadPost, fx.Bob.ID, last.ID}) {
			t.Fatalf("after unmuting: %+v", have[0])
		}
	})
}
