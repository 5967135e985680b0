package storage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/skein-forum/skein/internal/cputime"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// The outbox processor's reads, on both databases.
func TestOutboxLookups(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		r := remoteFollower(t, s, fx.Forum.ID, "lemmy.example", "zoe", true)
		zoe, err := s.RemoteAccountByAcct(ctx, "zoe", "LEMMY.example")
		if err != nil || zoe.Inbox != r.Inbox {
			t.Fatalf("by acct: %v %v", zoe, err)
		}
		// A local follower needs no delivery.
		if _, err := s.AddFollow(ctx, fx.Bob.ID, storage.FollowForum, fx.Forum.ID, nil, true); err != nil {
			t.Fatal(err)
		}
		if sw, err := s.DomainsSoftware(ctx, []string{"lemmy.example"}); err != nil || len(sw) != 0 {
			t.Fatalf("software before it is known = %v, %v", sw, err)
		}
		if err := s.SetDomainSoftware(ctx, "lemmy.example", "lemmy"); err != nil {
			t.Fatal(err)
		}
		if sw, err := s.DomainsSoftware(ctx, []string{"lemmy.example", "elsewhere.example"}); err != nil || len(sw) != 1 || sw["lemmy.example"] != "lemmy" {
			t.Fatalf("software = %v, %v", sw, err)
		}
		got, err := s.RemoteFollowerTargets(ctx, storage.FollowForum, fx.Forum.ID)
		if err != nil || len(got) != 1 || got[0].AccountID != zoe.ID || got[0].Software != "lemmy" || got[0].SharedInbox == "" || got[0].Followers != 1 {
			t.Fatalf("remote followers = %+v, %v", got, err)
		}

		if _, err := s.LikePost(ctx, fx.Posts[1].ID, fx.Alice.ID, nil); err != nil {
			t.Fatal(err)
		}
		evs, _ := s.PendingEvents(ctx, 100)
		last := evs[len(evs)-1]
		if id, err := s.LastLikeEvent(ctx, fx.Alice.ID, fx.Posts[1].ID, last.ID+1); err != nil || id != last.ID {
			t.Fatalf("last like event = %v, %v; want %v", id, err, last.ID)
		}
		if id, _ := s.LastLikeEvent(ctx, fx.Bob.ID, fx.Posts[1].ID, last.ID+1); id != 0 {
			t.Fatalf("bob's like event = %v", id)
		}

		apID := "https://lemmy.example/u/zoe#follow"
		if _, err := s.AddFollow(ctx, fx.Alice.ID, storage.FollowAccount, zoe.ID, &apID, false); err != nil {
			t.Fatal(err)
		}
		following, err := s.RemoteFollowing(ctx, fx.Alice.ID, 10)
		if err != nil || len(following) != 1 || following[0].ID != zoe.ID || following[0].Accepted || following[0].MirrorID != 0 {
			t.Fatalf("remote following = %+v, %v", following, err)
		}
		if n, err := s.ReleaseAllDeliveries(ctx, fx.Posts[0].CreatedAt); err != nil || n != 0 {
			t.Fatalf("release = %d, %v", n, err)
		}

		// Two followers behind one shared inbox are one place to deliver
		// to; suspending one leaves the other, named.
		yan := remoteFollower(t, s, fx.Forum.ID, "lemmy.example", "yan", true)
		if err := s.SetDomainSoftware(ctx, "lemmy.example", "lemmy"); err != nil {
			t.Fatal(err)
		}
		targets, err := s.RemoteFollowerTargets(ctx, storage.FollowForum, fx.Forum.ID)
		if err != nil || len(targets) != 1 || targets[0].Followers != 2 || targets[0].AccountID != 0 ||
			targets[0].FollowID != got[0].FollowID || targets[0].SharedInbox != r.SharedInbox || targets[0].Software != "lemmy" {
			t.Fatalf("targets = %+v, %v", targets, err)
		}
		if err := s.SuspendAccount(ctx, storage.Operator, yan.FollowerID, true); err != nil {
			t.Fatal(err)
		}
		if targets, err := s.RemoteFollowerTargets(ctx, storage.FollowForum, fx.Forum.ID); err != nil || len(targets) != 1 ||
			targets[0].Followers != 1 || targets[0].AccountID != zoe.ID || targets[0].Inbox != zoe.Inbox {
			t.Fatalf("targets with yan suspended = %+v, %v", targets, err)
		}
	})
}

// The delivery metrics look up the software of a fan-out's new hosts all
// at once; through an index holding only the domain SQLite reads every
// account row of every host, so the lookup must be answered from
// accounts_domain_software alone.
func TestDomainsSoftwareReadsOnlyAnIndex(t *testing.T) {
	s := storagetest.Open(t, "sqlite")
	var plan []struct {
		ID      int    `bun:"id"`
		Parent  int    `bun:"parent"`
		NotUsed int    `bun:"notused"`
		Detail  string `bun:"detail"`
	}
	err := s.DB().NewRaw("EXPLAIN QUERY PLAN "+storage.SQLDomainsSoftware, bun.List([]string{"a.example", "b.example"})).
		Scan(context.Background(), &plan)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, p := range plan {
		steps = append(steps, p.Detail)
	}
	got := strings.Join(steps, "; ")
	if !strings.Contains(got, "COVERING INDEX accounts_domain_software") {
		t.Errorf("plan = %q, want a covering index on (domain, software)", got)
	}
}

// seedFanoutFollowers makes hosts*perHost remote actors, each with a
// shared inbox and a public key of a real key's size, follow the
// fixtures' thread: the load tool's fan-out.
func seedFanoutFollowers(b *testing.B, s *storage.Store, fx *storagetest.Fixtures, hosts, perHost int) []string {
	pem := "-----BEGIN PUBLIC KEY-----\n" + strings.Repeat("A", 392) + "\n-----END PUBLIC KEY-----\n"
	var followers []storage.RemoteFollower
	domains := make([]string, 0, hosts)
	for h := range hosts {
		domain := fmt.Sprintf("host%d.example", h)
		domains = append(domains, domain)
		for i := range perHost {
			id := fmt.Sprintf("https://%s/users/u%d", domain, i)
			followers = append(followers, storage.RemoteFollower{APID: id, Handle: fmt.Sprintf("u%d", i), Domain: domain,
				Inbox: id + "/inbox", SharedInbox: "https://" + domain + "/inbox", PublicKeyID: id + "#main-key", PublicKeyPEM: pem})
		}
	}
	if err := s.SeedFollowers(context.Background(), storage.FollowThread, fx.Thread.ID, followers); err != nil {
		b.Fatal(err)
	}
	return domains
}

// afterAWrite writes a row, as the delivery worker does every few
// milliseconds during a fan-out: SQLite then empties every read
// connection's page cache, so the lookups below run on a cold cache, as
// they do in a node.
func afterAWrite(b *testing.B, s *storage.Store) {
	if _, err := s.DB().NewRaw("UPDATE accounts SET bio = bio WHERE id = (SELECT MIN(id) FROM accounts)").Exec(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDomainsSoftware looks up the software of 1,000 hosts with
// 10 followers each, none known yet: the delivery metrics' first lookup
// during a fan-out to new hosts.
func BenchmarkDomainsSoftware(b *testing.B) {
	s := storagetest.Open(b, "sqlite")
	fx := storagetest.Seed(b, s)
	domains := seedFanoutFollowers(b, s, fx, 1000, 10)
	coldReads(b, s, func() {
		if _, err := s.DomainsSoftware(context.Background(), domains); err != nil {
			b.Fatal(err)
		}
	})
}

// coldReads runs op once an iteration after a write has emptied the read
// connections' page cache, as in a node, and reports its process CPU.
func coldReads(b *testing.B, s *storage.Store, op func()) {
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		afterAWrite(b, s)
		start := cputime.Process()
		b.StartTimer()
		op()
		cpu += cputime.Process() - start
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkRemoteFollowerTargets reads where a thread's 10,000 remote
// followers on 1,000 servers take deliveries, one row per shared inbox,
// as the outbox does for a reply in it.
func BenchmarkRemoteFollowerTargets(b *testing.B) {
	s := storagetest.Open(b, "sqlite")
	fx := storagetest.Seed(b, s)
	seedFanoutFollowers(b, s, fx, 1000, 10)
	coldReads(b, s, func() {
		targets, err := s.RemoteFollowerTargets(context.Background(), storage.FollowThread, fx.Thread.ID)
		if err != nil || len(targets) != 1000 {
			b.Fatal(len(targets), err)
		}
	})
}

// FollowedRemotely names, of the threads asked about, those an accepted
// remote follower follows: not a member's follow, not a pending one.
func TestFollowedRemotely(t *testing.T) {
	storagetest.ForEachSeeded(t, func(t *testing.T, s *storage.Store, fx *storagetest.Fixtures) {
		ctx := context.Background()
		threads := []storage.ID{fx.Thread.ID}
		for _, grain := range []string{"Rye", "Spelt", "Emmer"} {
			th, _, err := s.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: fx.Bob.ID,
				Title: grain + " starters", Source: grain, HTML: "<p>" + grain + "</p>"})
			if err != nil {
				t.Fatalf("thread on %s: %v", grain, err)
			}
			threads = append(threads, th.ID)
		}
		zed := storagetest.RemoteActor(t, s, "zed", "bread.example")
		follow := func(who storage.ID, thread storage.ID, accepted bool) {
			if _, err := s.AddFollow(ctx, who, storage.FollowThread, thread, nil, accepted); err != nil {
				t.Fatal(err)
			}
		}
		follow(zed.ID, threads[0], true)
		follow(zed.ID, threads[1], false)
		follow(fx.Bob.ID, threads[2], true)
		got, err := s.FollowedRemotely(ctx, storage.FollowThread, threads)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !got[threads[0]] {
			t.Fatalf("followed remotely: %v, want only %s", got, threads[0])
		}
		if got, err := s.FollowedRemotely(ctx, storage.FollowForum, threads); err != nil || len(got) != 0 {
			t.Fatalf("as forums: %v, %v; want none", got, err)
		}
	})
}
