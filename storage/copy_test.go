package storage_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
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
			zed := storagetest.RemoteActor(t, from, "zed", "remote.example")
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

			fillEveryTable(t, from, fx, zed)

			to := storagetest.Open(t, pair[1])
			copied, err := storage.Copy(ctx, from, to, nil)
			if err != nil {
				t.Fatal(err)
			}
			rows := map[string]int64{}
			for _, c := range copied {
				rows[c.Name] = c.Rows
			}
			// Every table the migrations create holds rows here, so each
			// is shown to copy: a new table fails this test until
			// fillEveryTable gives it some.
			for _, c := range copied {
				if c.Rows == 0 {
					t.Errorf("table %s is empty in the source: add a row to it in fillEveryTable", c.Name)
				}
			}
			for _, c := range copied {
				if want, got := tableContents(t, from, c.Name), tableContents(t, to, c.Name); !slices.Equal(want, got) {
					t.Errorf("table %s differs after the copy:\nsource %q\ntarget %q", c.Name, want, got)
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

// fillEveryTable gives each table the fixtures and the seed leave empty
// at least one row, through the methods the node itself uses.
func fillEveryTable(t *testing.T, s *storage.Store, fx *storagetest.Fixtures, zed *storage.Account) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// account_tokens, with the mail that carries the link (mail_queue).
	must("issue token", s.IssueToken(ctx, fx.Alice.ID, storage.TokenResetPassword, "", time.Hour, func(token string) (storage.NewMail, error) {
		return storage.NewMail{AccountID: fx.Alice.ID, To: "alice@example.test", Subject: "Reset", Text: "/reset/" + token, HTML: "<p>/reset/" + token + "</p>", Kind: "reset"}, nil
	}))
	must("allow domain", s.AllowDomain(ctx, storage.Operator, "friends.example"))
	must("keep form", s.KeepForm(ctx, "form-token-0123456789", fx.Alice.ID, storage.KeptForm{Action: "/t/x/reply", Fields: "body=kept", Message: "try again"}))
	must("tombstone", s.AddTombstone(ctx, zed.ID, *zed.APID+"/statuses/unknown"))
	_, err := s.ClaimKeyRefetch(ctx, *zed.APID+"#main-key", now, time.Minute)
	must("key refetch", err)
	// media, and media_trash through a dropped upload.
	for i, key := range []string{"ab0123456789abcdef0123456789abcd", "cd0123456789abcdef0123456789abcd"} {
		m, err := s.AddUpload(ctx, fx.Alice.ID, storage.MediaAttachment, storage.StoredFiles{ContentType: "image/webp",
			FileKey: key, Width: 640, Height: 480, ThumbKey: key[:30] + "th", ThumbWidth: 64, ThumbHeight: 48, Size: 1234})
		must("upload", err)
		if i == 1 {
			must("drop upload", s.DropMedia(ctx, m.ID))
		}
	}
	must("notification pref", s.SetNotificationPref(ctx, fx.Alice.ID, storage.NotificationKinds[0], storage.DeliverMail))
	_, err = s.Hit(ctx, "signup:203.0.113.5", time.Hour, now)
	must("rate limit", err)
	must("setting", s.SetSetting(ctx, "copy-test", "kept"))
	_, err = s.BeginSignIn(ctx, storage.SignInLimits{}, "203.0.113.5", "alice", now)
	must("sign-in attempt", err)
	must("mute", s.MuteThread(ctx, fx.Bob.ID, fx.Thread.ID, true))
	must("read", s.MarkRead(ctx, fx.Alice.ID, fx.Thread.ID, 2))
	// remote_hosts: a delivery to a host that does not answer.
	must("enqueue", s.EnqueueActivities(ctx, []storage.NewActivity{{APID: "https://forum.example/a/down", ActorID: "https://forum.example/u/alice",
		KeyOwnerKind: "member", KeyOwnerID: fx.Alice.ID, Body: []byte(`{"type":"Create"}`),
		Inboxes: []storage.Recipient{{Inbox: "https://down.example/inbox"}}}}))
	jobs, err := s.ClaimDeliveries(ctx, "copy-test", now, 100, time.Minute, nil)
	must("claim", err)
	var results []storage.DeliveryResult
	for i := range jobs {
		results = append(results, storage.DeliveryResult{Job: &jobs[i], Outcome: storage.DeliveryRetry,
			RetryAt: now.Add(time.Minute), Host: storage.HostFailed, Error: "connection refused"})
	}
	must("fail deliveries", s.FinishDeliveries(ctx, "copy-test", now, results))
}

// tableContents reads every row of a table as text, the same for both
// databases (booleans as 0/1, times in UTC to the microsecond), sorted.
func tableContents(t *testing.T, s *storage.Store, table string) []string {
	t.Helper()
	rows, err := s.DB().QueryContext(context.Background(), `SELECT * FROM "`+table+`"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fields := make([]string, len(cols))
		for i, v := range vals {
			var text string
			switch x := v.(type) {
			case nil:
				text = "NULL"
			case bool:
				text = "0"
				if x {
					text = "1"
				}
			case time.Time:
				text = x.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
			case []byte:
				text = string(x)
			case string:
				text = x
				// SQLite keeps times as text: as bun writes them, or as
				// CURRENT_TIMESTAMP does (UTC).
				for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.DateTime} {
					if tm, err := time.Parse(layout, x); err == nil {
						text = tm.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
						break
					}
				}
			default:
				text = fmt.Sprint(x)
			}
			fields[i] = cols[i] + "=" + text
		}
		sort.Strings(fields)
		out = append(out, strings.Join(fields, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}
