package storage_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// A whole node moves from one database to another, SQLite to PostgreSQL
// and back: every table's rows, and with them what a member sees and
// does (signing in with an existing session, reading a thread, finding a
// post by search, a domain block), the same after the copy.
func TestCopyNodeBetweenDatabases(t *testing.T) {
	pairs := [][2]string{{"sqlite", "sqlite"}}
	if len(storagetest.Dialects()) > 1 {
		pairs = append(pairs, [2]string{"sqlite", "postgres"}, [2]string{"postgres", "sqlite"})
	}
	for _, pair := range pairs {
		t.Run(pair[0]+"_to_"+pair[1], func(t *testing.T) {
			ctx := context.Background()
			from := storagetest.Open(t, pair[0])
			fx := storagetest.Seed(t, from)
			seeded, err := from.Seed(ctx, storage.SeedSpec{Forums: 2, ThreadsPerForum: 4, PostsPerThread: 5, Members: 6, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			token, err := from.CreateSession(ctx, fx.Alice.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if err := from.BlockDomain(ctx, storage.Operator, storage.DomainBlock{Host: "spam.example", Severity: storage.SeveritySuspend}); err != nil {
				t.Fatal(err)
			}
			if _, err := from.CreateReport(ctx, storage.NewReport{ReporterID: fx.Bob.ID, PostID: &fx.Posts[0].ID, Reason: "rude"}); err != nil {
				t.Fatal(err)
			}
			if _, err := from.LikePost(ctx, fx.Posts[1].ID, fx.Alice.ID, nil); err != nil {
				t.Fatal(err)
			}
			zed := remoteActor(t, from, "zed", "remote.example")
			// Keys, follows and both queues.
			if _, err := from.SaveActorKey(ctx, &storage.ActorKey{OwnerKind: "member", OwnerID: fx.Alice.ID,
				PublicPEM: "public", PrivatePEM: "private"}); err != nil {
				t.Fatal(err)
			}
			if _, err := from.AddFollow(ctx, zed.ID, storage.FollowThread, fx.Thread.ID, nil, true); err != nil {
				t.Fatal(err)
			}
			if err := from.EnqueueActivities(ctx, []storage.NewActivity{{APID: "https://forum.example/a/1", ActorID: "https://forum.example/u/alice",
				KeyOwnerKind: "member", KeyOwnerID: fx.Alice.ID, Body: []byte(`{"type":"Create"}`),
				Inboxes: []storage.Recipient{{Inbox: *zed.APID + "/inbox", FollowerID: zed.ID}}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := from.EnqueueInbox(ctx, storage.NewInboxItem{ActorID: *zed.APID, KeyID: *zed.APID + "#main-key", Body: []byte(`{"type":"Like"}`)}); err != nil {
				t.Fatal(err)
			}

			to := storagetest.Open(t, pair[1])
			copied, err := storage.Copy(ctx, from, to, nil)
			if err != nil {
				t.Fatal(err)
			}
			rows := map[string]int64{}
			for _, c := range copied {
				rows[c.Name] = c.Rows
			}
			for _, table := range []string{"accounts", "forums", "threads", "posts", "sessions", "likes", "reports",
				"domain_blocks", "audit_log", "outbox_events", "actor_keys", "policy_version", "follows", "activities",
				"deliveries", "inbox_items", "local_names"} {
				if rows[table] == 0 {
					t.Errorf("table %s: nothing copied (%v)", table, rows)
				}
			}
			if _, ok := rows["id_nodes"]; ok {
				t.Error("the id leases of the source's processes were copied")
			}

			// What members see and do is the same.
			if a, err := to.SessionMember(ctx, token); err != nil || a.ID != fx.Alice.ID {
				t.Fatalf("session after the copy: %v, %v", a, err)
			}
			m, err := to.MemberByHandle(ctx, "alice")
			if err != nil || storage.CheckPassword(m.PasswordHash, storagetest.Password) != nil {
				t.Fatalf("alice cannot sign in after the copy: %v", err)
			}
			for _, id := range append([]storage.ID{fx.Thread.ID}, seeded.ThreadIDs...) {
				want, err := from.PostsInRange(ctx, id, 1, 100)
				if err != nil {
					t.Fatal(err)
				}
				got, err := to.PostsInRange(ctx, id, 1, 100)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("thread %s: %d posts, want %d", id, len(got), len(want))
				}
				for i := range want {
					w, g := want[i], got[i]
					w.Author, g.Author = nil, nil
					if !reflect.DeepEqual(w.CreatedAt.UTC(), g.CreatedAt.UTC()) || w.HTML != g.HTML || w.ID != g.ID ||
						w.Position != g.Position || w.LikeCount != g.LikeCount || !reflect.DeepEqual(w.ReplyToID, g.ReplyToID) {
						t.Fatalf("thread %s post %d differs:\n%+v\n%+v", id, i, w, g)
					}
				}
			}
			if hits, _, err := to.Search(ctx, "sourdough", 1); err != nil || len(hits) == 0 {
				t.Fatalf("search after the copy: %v, %v", hits, err)
			}
			if p, _ := to.DomainPolicy(ctx, "spam.example"); p != storage.SeveritySuspend {
				t.Fatalf("the domain block did not move: %q", p)
			}
			// New ids go on after the copied ones.
			if id := to.NewID(); id <= fx.Posts[2].ID {
				t.Fatalf("new id %s is not after the copied ones", id)
			}

			// A database that holds a node is never a target.
			if _, err := storage.Copy(ctx, from, to, nil); !errors.Is(err, storage.ErrTargetNotEmpty) {
				t.Fatalf("copy into a non-empty database: %v", err)
			}
		})
	}
}
