package storage_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// upload records an upload of member as the media library does, with
// made-up keys named after what it is.
func upload(t *testing.T, s *storage.Store, member storage.ID, name string) *storage.Media {
	t.Helper()
	m, err := s.AddUpload(context.Background(), member, storage.MediaAttachment, storage.StoredFiles{
		ContentType: "image/jpeg", FileKey: name + ".jpg", Width: 800, Height: 600,
		ThumbKey: name + "-t.jpg", ThumbWidth: 400, ThumbHeight: 300, Size: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func trashed(t *testing.T, s *storage.Store) []string {
	t.Helper()
	keys, err := s.TrashedFiles(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// wantTrash fails t unless the files in the trash (sorted) are want;
// when says after what, for the message.
func wantTrash(t *testing.T, s *storage.Store, when string, want ...string) {
	t.Helper()
	if got := trashed(t, s); !slices.Equal(got, want) {
		t.Fatalf("trash %s: %v, want %v", when, got, want)
	}
}

func attachmentsOf(t *testing.T, s *storage.Store, postID storage.ID) []storage.Media {
	t.Helper()
	m, err := s.MediaOfPosts(context.Background(), []storage.ID{postID})
	if err != nil {
		t.Fatal(err)
	}
	return m[postID]
}

func postByID(t *testing.T, s *storage.Store, id storage.ID) *storage.Post {
	t.Helper()
	p, err := s.PostByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A reply takes its author's uploads, in order and with their alt text,
// in the transaction that stores it; uploads of others, or attached
// already, stay where they are.
func TestPostAttachesUploads(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		a1, a2 := upload(t, s, fx.Alice.ID, "a1"), upload(t, s, fx.Alice.ID, "a2")
		bobs := upload(t, s, fx.Bob.ID, "bob")
		p, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Alice.ID, Source: "Loaves", HTML: "<p>Loaves</p>",
			Media: []storage.AttachMedia{{ID: a2.ID, Description: "A rye loaf, cut"}, {ID: bobs.ID, Description: "not mine"}, {ID: a1.ID, Description: "The crumb"}}})
		if err != nil {
			t.Fatal(err)
		}
		if p.MediaCount != 2 || postByID(t, s, p.ID).MediaCount != 2 {
			t.Fatalf("media count %d", p.MediaCount)
		}
		got := attachmentsOf(t, s, p.ID)
		if len(got) != 2 || got[0].ID != a2.ID || got[0].Description != "A rye loaf, cut" || got[1].ID != a1.ID || !got[1].Attached {
			t.Fatalf("attachments %+v", got)
		}
		// The same uploads named again by another post attach nothing.
		p2, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Alice.ID, Source: "Again", HTML: "<p>Again</p>",
			Media: []storage.AttachMedia{{ID: a1.ID}}})
		if err != nil || p2.MediaCount != 0 || len(attachmentsOf(t, s, p2.ID)) != 0 {
			t.Fatalf("reattached: %v %+v", err, p2)
		}
		// Bob's upload still waits for Bob.
		if pending, err := s.PendingUploads(ctx, fx.Bob.ID, []storage.ID{bobs.ID, a1.ID}); err != nil || len(pending) != 1 || pending[0].ID != bobs.ID {
			t.Fatalf("Bob's pending uploads: %v %+v", err, pending)
		}
		// Too many, or alt text too long, is refused with the limit.
		var many []storage.AttachMedia
		for range storage.MaxAttachments + 1 {
			many = append(many, storage.AttachMedia{ID: upload(t, s, fx.Alice.ID, "m"+storage.NewFormToken()[:6]).ID})
		}
		_, err = s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Alice.ID, Source: "x", HTML: "<p>x</p>", Media: many})
		if !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("five images: %v", err)
		}
		long := strings.Repeat("é", storage.MaxDescriptionLen+1)
		_, err = s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Alice.ID, Source: "x", HTML: "<p>x</p>",
			Media: []storage.AttachMedia{{ID: many[0].ID, Description: long}}})
		if !errors.Is(err, storage.ErrInvalid) || !strings.Contains(err.Error(), "1500") {
			t.Fatalf("long description: %v", err)
		}
		// A thread's opening post takes uploads the same way.
		th, first, err := s.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Bob.ID, Title: "Pictures",
			Source: "See", HTML: "<p>See</p>", Media: []storage.AttachMedia{{ID: bobs.ID, Description: "a bowl"}}})
		if err != nil || first.MediaCount != 1 || th.ID != first.ThreadID {
			t.Fatalf("thread with an image: %v %+v", err, first)
		}
	})
}

// Deleting a post, a thread or an account takes its images away: the
// rows go and the files are in the trash for the sweep, in the same
// transaction.
func TestDeletionTrashesFiles(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		reply := func(author storage.ID, keys ...string) *storage.Post {
			var media []storage.AttachMedia
			for _, k := range keys {
				media = append(media, storage.AttachMedia{ID: upload(t, s, author, k).ID})
			}
			p, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: author, Source: "pic", HTML: "<p>pic</p>", Media: media})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		p := reply(fx.Bob.ID, "p1", "p2")
		if err := s.DeletePost(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		wantTrash(t, s, "after deleting a post", "p1-t.jpg", "p1.jpg", "p2-t.jpg", "p2.jpg")
		if len(attachmentsOf(t, s, p.ID)) != 0 || postByID(t, s, p.ID).MediaCount != 0 {
			t.Fatal("a deleted post kept its attachments")
		}
		if err := s.ForgetTrashedFiles(ctx, trashed(t, s)); err != nil || len(trashed(t, s)) != 0 {
			t.Fatalf("forget: %v", err)
		}

		// An account: its posts' images, its avatar, its waiting uploads.
		reply(fx.Bob.ID, "b1")
		upload(t, s, fx.Bob.ID, "waiting")
		av, err := s.AddUpload(ctx, fx.Bob.ID, storage.MediaAvatar, storage.StoredFiles{ContentType: "image/jpeg", FileKey: "avatar.jpg", Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetAvatar(ctx, fx.Bob.ID, av.ID, "https://forum.example/media/avatar.jpg"); err != nil {
			t.Fatal(err)
		}
		reply(fx.Alice.ID, "alices")
		if err := s.DeleteOwnAccount(ctx, fx.Bob.ID); err != nil {
			t.Fatal(err)
		}
		wantTrash(t, s, "after deleting an account", "avatar.jpg", "b1-t.jpg", "b1.jpg", "waiting-t.jpg", "waiting.jpg")
		s.ForgetTrashedFiles(ctx, trashed(t, s))

		// A thread.
		if err := s.DeleteThread(ctx, fx.Thread.ID); err != nil {
			t.Fatal(err)
		}
		wantTrash(t, s, "after deleting the thread", "alices-t.jpg", "alices.jpg")
	})
}

// Editing a post can drop, reorder and add attachments.
func TestEditReplacesAttachments(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		a, b, c := upload(t, s, fx.Bob.ID, "ea"), upload(t, s, fx.Bob.ID, "eb"), upload(t, s, fx.Bob.ID, "ec")
		p, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, Source: "v1", HTML: "<p>v1</p>",
			Media: []storage.AttachMedia{{ID: a.ID}, {ID: b.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		before, _ := s.ThreadVersion(ctx, fx.Thread.ID)
		edited, err := s.EditPostAndMedia(ctx, p.ID, "v2", "<p>v2</p>", []storage.AttachMedia{{ID: c.ID, Description: "new"}, {ID: b.ID, Description: "kept"}})
		if err != nil {
			t.Fatal(err)
		}
		got := attachmentsOf(t, s, p.ID)
		if edited.MediaCount != 2 || len(got) != 2 || got[0].ID != c.ID || got[1].ID != b.ID || got[1].Description != "kept" {
			t.Fatalf("after the edit: %+v", got)
		}
		if after, _ := s.ThreadVersion(ctx, fx.Thread.ID); after <= before {
			t.Fatal("the edit did not change the thread's version")
		}
		wantTrash(t, s, "after the edit", "ea-t.jpg", "ea.jpg")
		// A plain edit leaves them.
		if _, err := s.EditPost(ctx, p.ID, "v3", "<p>v3</p>"); err != nil || len(attachmentsOf(t, s, p.ID)) != 2 {
			t.Fatalf("plain edit: %v", err)
		}
	})
}

// An admin's removal is audited, takes the image off its post (and the
// post's page changes) or off its member's profile.
func TestRemoveMedia(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		m := upload(t, s, fx.Bob.ID, "rm")
		p, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, Source: "x", HTML: "<p>x</p>",
			Media: []storage.AttachMedia{{ID: m.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		before, _ := s.ThreadVersion(ctx, fx.Thread.ID)
		if err := s.RemoveMedia(ctx, fx.Mod.ID, m.ID); err != nil {
			t.Fatal(err)
		}
		if postByID(t, s, p.ID).MediaCount != 0 || len(attachmentsOf(t, s, p.ID)) != 0 {
			t.Fatal("the post still shows the removed image")
		}
		if after, _ := s.ThreadVersion(ctx, fx.Thread.ID); after <= before {
			t.Fatal("removal did not change the thread's version")
		}
		wantTrash(t, s, "after the removal", "rm-t.jpg", "rm.jpg")
		log, err := s.ListAudit(ctx, 0, 10)
		if err != nil || len(log) == 0 || log[0].Action != storage.AuditMediaRemove || log[0].ActorID != fx.Mod.ID {
			t.Fatalf("audit: %v %+v", err, log)
		}
		if err := s.RemoveMedia(ctx, fx.Mod.ID, m.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("removing twice: %v", err)
		}

		av, _ := s.AddUpload(ctx, fx.Alice.ID, storage.MediaAvatar, storage.StoredFiles{FileKey: "av1.png"})
		if err := s.SetAvatar(ctx, fx.Alice.ID, av.ID, "https://forum.example/media/av1.png"); err != nil {
			t.Fatal(err)
		}
		av2, _ := s.AddUpload(ctx, fx.Alice.ID, storage.MediaAvatar, storage.StoredFiles{FileKey: "av2.png"})
		if err := s.SetAvatar(ctx, fx.Alice.ID, av2.ID, "https://forum.example/media/av2.png"); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.AccountByID(ctx, fx.Alice.ID); a.AvatarURL != "https://forum.example/media/av2.png" {
			t.Fatalf("avatar %q", a.AvatarURL)
		}
		if got := trashed(t, s); !slices.Contains(got, "av1.png") || slices.Contains(got, "av2.png") {
			t.Fatalf("the old avatar is not in the trash: %v", got)
		}
		if err := s.RemoveMedia(ctx, fx.Mod.ID, av2.ID); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.AccountByID(ctx, fx.Alice.ID); a.AvatarURL != "" {
			t.Fatalf("removed avatar still set: %q", a.AvatarURL)
		}
		list, err := s.ListMedia(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range list {
			if l.ID == av2.ID || l.ID == m.ID {
				t.Fatal("a removed image is still listed")
			}
		}
	})
}

// Uploads that never got their post are swept after a day.
func TestStaleUploadsAreTrashed(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		used := upload(t, s, fx.Bob.ID, "used")
		if _, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Bob.ID, Source: "x", HTML: "<p>x</p>",
			Media: []storage.AttachMedia{{ID: used.ID}}}); err != nil {
			t.Fatal(err)
		}
		upload(t, s, fx.Bob.ID, "left")
		if n, err := s.TrashStaleUploads(ctx, time.Now().Add(-storage.UploadTTL)); err != nil || n != 0 {
			t.Fatalf("fresh uploads swept: %d %v", n, err)
		}
		if n, err := s.TrashStaleUploads(ctx, time.Now().Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("stale uploads: %d %v", n, err)
		}
		wantTrash(t, s, "after the sweep", "left-t.jpg", "left.jpg")
	})
}

// A remote post's attachments are stored with it, wait to be fetched,
// are cached up to a size and evicted oldest first, and a fetch that
// finishes after the post went puts its files straight in the trash.
func TestRemoteAttachments(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		remote, err := s.UpsertRemoteAccount(ctx, &storage.Account{Handle: "zed", Domain: "social.example",
			APID: ptr("https://social.example/users/zed"), Inbox: "https://social.example/users/zed/inbox"})
		if err != nil {
			t.Fatal(err)
		}
		var posts []*storage.Post
		for i, name := range []string{"one", "two", "three"} {
			p, err := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: remote.ID, HTML: "<p>" + name + "</p>",
				APID: ptr("https://social.example/notes/" + name),
				RemoteMedia: []storage.RemoteAttachment{
					{URL: "https://files.social.example/" + name + ".jpg", ContentType: "image/jpeg", Description: "Photo " + name,
						Sensitive: i == 1, Width: 1200, Height: 800, Blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj"},
					{URL: "javascript:alert(1)"}, // dropped
				}})
			if err != nil {
				t.Fatal(err)
			}
			posts = append(posts, p)
		}
		got := attachmentsOf(t, s, posts[1].ID)
		if len(got) != 1 || !got[0].Sensitive || got[0].Description != "Photo two" || got[0].Stored() || !got[0].IsRemote() {
			t.Fatalf("remote attachments %+v", got)
		}
		queue, err := s.RemoteMediaToFetch(ctx, 10)
		if err != nil || len(queue) != 3 {
			t.Fatalf("to fetch: %v %d", err, len(queue))
		}
		for i, m := range queue {
			if err := s.StoreRemoteFiles(ctx, m.ID, storage.StoredFiles{ContentType: "image/jpeg", FileKey: m.ID.String() + ".jpg",
				ThumbKey: m.ID.String() + "-t.jpg", Size: 400}); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				time.Sleep(5 * time.Millisecond) // the first is the oldest copy
			}
		}
		if queue, _ := s.RemoteMediaToFetch(ctx, 10); len(queue) != 0 {
			t.Fatalf("fetched media still queued: %d", len(queue))
		}
		over, err := s.RemoteCacheOverflow(ctx, 1000)
		if err != nil || len(over) != 1 || over[0].ID != attachmentsOf(t, s, posts[0].ID)[0].ID {
			t.Fatalf("overflow of 1,200 bytes over 1,000: %v %+v", err, over)
		}
		if err := s.EvictRemoteMedia(ctx, []storage.ID{over[0].ID}); err != nil {
			t.Fatal(err)
		}
		if m := attachmentsOf(t, s, posts[0].ID)[0]; m.Stored() || m.RemoteURL == "" {
			t.Fatalf("evicted: %+v", m)
		}
		if over, _ := s.RemoteCacheOverflow(ctx, 1000); len(over) != 0 {
			t.Fatalf("still over: %+v", over)
		}
		if got := trashed(t, s); len(got) != 2 {
			t.Fatalf("trash after eviction: %v", got)
		}

		// A fetch finishing after its post was deleted.
		p, _ := s.CreatePost(ctx, storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: remote.ID, HTML: "<p>late</p>",
			APID: ptr("https://social.example/notes/late"), RemoteMedia: []storage.RemoteAttachment{{URL: "https://files.social.example/late.png"}}})
		id := attachmentsOf(t, s, p.ID)[0].ID
		if err := s.DeletePost(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		err = s.StoreRemoteFiles(ctx, id, storage.StoredFiles{FileKey: "late.png", ThumbKey: "late-t.png"})
		if !errors.Is(err, storage.ErrNotFound) || !slices.Contains(trashed(t, s), "late.png") {
			t.Fatalf("late fetch: %v, trash %v", err, trashed(t, s))
		}
	})
}

func ptr[T any](v T) *T { return &v }
