package storage_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// remoteReply adds a reply by a remote actor to the fixture thread.
func remoteReply(t *testing.T, s *storage.Store, fx *storagetest.Fixtures, author *storage.Account, n int) *storage.Post {
	t.Helper()
	apID := *author.APID + "/statuses/" + string(rune('a'+n))
	p, err := s.CreatePost(context.Background(), storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: author.ID,
		HTML: "<p>remote words</p>", APID: &apID})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// auditActions lists the actions in the audit log, oldest first.
func auditActions(t *testing.T, s *storage.Store) []string {
	t.Helper()
	entries, err := s.ListAudit(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, entries[i].Action)
	}
	return out
}

func eventKinds(t *testing.T, s *storage.Store) []string {
	t.Helper()
	evs, err := s.PendingEvents(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

func TestReports(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		bobPost := fx.Posts[1].ID

		// A member reports a post; reporting it again while open changes nothing.
		r1, err := s.CreateReport(ctx, storage.NewReport{ReporterID: fx.Alice.ID, PostID: &bobPost, Reason: "rude"})
		if err != nil {
			t.Fatal(err)
		}
		if r1.AccountID != fx.Bob.ID || r1.Status != storage.ReportOpen {
			t.Fatalf("report = %+v", r1)
		}
		again, err := s.CreateReport(ctx, storage.NewReport{ReporterID: fx.Alice.ID, PostID: &bobPost, Reason: "very rude"})
		if err != nil || again.ID != r1.ID {
			t.Fatalf("second report from the same member: %v %v", again, err)
		}

		// A remote server's Flag lands in the same queue, once however often it arrives.
		dana := storagetest.RemoteActor(t, s, "dana", "social.example")
		instance := storagetest.RemoteActor(t, s, "social.example", "social.example")
		flagID := "https://social.example/flags/1"
		rf, err := s.CreateReport(ctx, storage.NewReport{ReporterID: instance.ID, PostID: &bobPost, Reason: "spam", RemoteFlagAPID: &flagID})
		if err != nil {
			t.Fatal(err)
		}
		rf2, err := s.CreateReport(ctx, storage.NewReport{ReporterID: instance.ID, PostID: &bobPost, Reason: "spam", RemoteFlagAPID: &flagID})
		if err != nil || rf2.ID != rf.ID {
			t.Fatalf("Flag delivered twice made two reports: %v %v", rf2, err)
		}
		// A Flag naming only an account.
		ra, err := s.CreateReport(ctx, storage.NewReport{ReporterID: instance.ID, AccountID: fx.Alice.ID, RemoteFlagAPID: &flagID})
		if err != nil || ra.PostID != nil || ra.AccountID != fx.Alice.ID {
			t.Fatalf("account report: %+v %v", ra, err)
		}
		open, err := s.ListReports(ctx, storage.ReportOpen, 0, 10)
		if err != nil || len(open) != 3 {
			t.Fatalf("open reports: %d %v", len(open), err)
		}
		if open[0].Post == nil || open[0].Post.ID != bobPost || open[0].Reporter.Handle != "alice" || open[0].Account.Handle != "bob" {
			t.Fatalf("report relations not loaded: %+v", open[0])
		}
		if page, _ := s.ListReports(ctx, storage.ReportOpen, open[0].ID, 10); len(page) != 2 {
			t.Fatalf("keyset page after the first: %d", len(page))
		}

		// Deleting the post resolves every open report about it.
		if err := s.ResolveReport(ctx, fx.Mod.ID, r1.ID, storage.ReportActionDeletePost); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.PostByID(ctx, bobPost); !p.IsDeleted() {
			t.Fatal("post survived its report")
		}
		if n, _ := s.CountReports(ctx, storage.ReportOpen); n != 1 {
			t.Fatalf("open reports after deletion: %d, want 1", n)
		}
		got, _ := s.ReportByID(ctx, rf.ID)
		if got.Status != storage.ReportResolved || got.Resolution != storage.ReportActionDeletePost || got.ResolvedBy == nil || *got.ResolvedBy != fx.Mod.ID {
			t.Fatalf("flag report after deletion: %+v", got)
		}
		if err := s.ResolveReport(ctx, fx.Mod.ID, r1.ID, storage.ReportActionDismiss); !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("resolving a closed report: %v", err)
		}

		// Suspending the reported account ends its sessions.
		token, _ := s.CreateSession(ctx, fx.Alice.ID, time.Hour)
		if err := s.ResolveReport(ctx, fx.Mod.ID, ra.ID, storage.ReportActionSuspendAuthor); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.AccountByID(ctx, fx.Alice.ID); !a.Suspended {
			t.Fatal("author not suspended")
		}
		if _, err := s.SessionMember(ctx, token); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("suspended member kept a session: %v", err)
		}

		// Dismissing; forwarding only reports about remote accounts.
		danaPost := remoteReply(t, s, fx, dana, 1)
		rd, _ := s.CreateReport(ctx, storage.NewReport{ReporterID: fx.Bob.ID, PostID: &danaPost.ID, Reason: "off topic"})
		if err := s.ForwardReport(ctx, fx.Mod.ID, rd.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.ForwardReport(ctx, fx.Mod.ID, rf.ID); !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("forwarding a report about a member: %v", err)
		}
		if err := s.ResolveReport(ctx, fx.Mod.ID, rd.ID, storage.ReportActionDismiss); err != nil {
			t.Fatal(err)
		}
		rd, _ = s.ReportByID(ctx, rd.ID)
		if rd.Status != storage.ReportDismissed || !rd.Forwarded {
			t.Fatalf("dismissed report: %+v", rd)
		}
		evs, _ := s.PendingEvents(ctx, 100)
		fwd := evs[len(evs)-1]
		if fwd.Kind != storage.EventReportForward || fwd.ReportID != rd.ID || fwd.PostID != danaPost.ID || fwd.AccountID != dana.ID {
			t.Fatalf("forward event = %+v", fwd)
		}

		want := []string{storage.AuditPostRemove, storage.AuditReportResolve, storage.AuditAccountSuspend, storage.AuditReportResolve,
			storage.AuditReportForward, storage.AuditReportDismiss}
		if got := auditActions(t, s); !slices.Equal(got[len(got)-len(want):], want) {
			t.Fatalf("audit = %v, want it to end with %v", got, want)
		}
	})
}

func TestDomainPolicy(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		policy := func(host string) string {
			t.Helper()
			p, err := s.DomainPolicy(ctx, host)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		if p := policy("social.example"); p != storage.PolicyNone {
			t.Fatalf("unblocked host: %q", p)
		}
		// The cached answer changes at once with a change made here.
		if err := s.BlockDomain(ctx, fx.Mod.ID, storage.DomainBlock{Host: "https://Social.Example/", Severity: storage.SeveritySilence, PublicReason: "spam waves"}); err != nil {
			t.Fatal(err)
		}
		cases := map[string]string{
			"social.example": storage.SeveritySilence, "media.social.example": storage.SeveritySilence,
			"SOCIAL.EXAMPLE": storage.SeveritySilence, "social.example:8443": storage.SeveritySilence,
			"othersocial.example": storage.PolicyNone, "example": storage.PolicyNone,
		}
		for host, want := range cases {
			if got := policy(host); got != want {
				t.Errorf("policy(%q) = %q, want %q", host, got, want)
			}
		}
		// The most specific block wins.
		if err := s.BlockDomain(ctx, fx.Mod.ID, storage.DomainBlock{Host: "bad.social.example", Severity: storage.SeveritySuspend}); err != nil {
			t.Fatal(err)
		}
		if policy("x.bad.social.example") != storage.SeveritySuspend || policy("social.example") != storage.SeveritySilence {
			t.Fatal("subdomain block not applied")
		}
		if err := s.BlockDomain(ctx, fx.Mod.ID, storage.DomainBlock{Host: "social.example", Severity: "ban"}); !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("bad severity: %v", err)
		}
		blocks, _ := s.ListDomainBlocks(ctx)
		if len(blocks) != 2 || blocks[1].Host != "social.example" || blocks[1].PublicReason != "spam waves" {
			t.Fatalf("blocks = %+v", blocks)
		}
		if err := s.UnblockDomain(ctx, fx.Mod.ID, "social.example"); err != nil {
			t.Fatal(err)
		}
		if policy("social.example") != storage.PolicyNone {
			t.Fatal("unblock not seen at once")
		}
		if err := s.UnblockDomain(ctx, fx.Mod.ID, "social.example"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("unblocking twice: %v", err)
		}

		// Actor-level flags combine with the domain's policy.
		dana := storagetest.RemoteActor(t, s, "dana", "social.example")
		if err := s.SilenceAccount(ctx, fx.Mod.ID, dana.ID, true); err != nil {
			t.Fatal(err)
		}
		dana, _ = s.AccountByID(ctx, dana.ID)
		if p, _ := s.ActorPolicy(ctx, dana); p != storage.SeveritySilence {
			t.Fatalf("silenced actor: %q", p)
		}
		s.SuspendAccount(ctx, fx.Mod.ID, dana.ID, true)
		dana, _ = s.AccountByID(ctx, dana.ID)
		if p, _ := s.ActorPolicy(ctx, dana); p != storage.SeveritySuspend {
			t.Fatalf("suspended actor: %q", p)
		}
		want := []string{storage.AuditDomainBlock, storage.AuditDomainBlock, storage.AuditDomainUnblock, storage.AuditAccountSilence, storage.AuditAccountSuspend}
		if got := auditActions(t, s); !slices.Equal(got[len(got)-len(want):], want) {
			t.Fatalf("audit = %v", got)
		}
	})
}

// Another process's block reaches this one within PolicyRecheck: the
// other store confirms its copy against policy_version that often and
// reloads when it moved. This process's own changes are seen at once.
func TestDomainPolicyAcrossStores(t *testing.T) {
	storagetest.ForEachDialectShared(t, func(t *testing.T, a *storage.Store, opts storage.Options) {
		b := storagetest.OpenWith(t, opts)
		ctx := context.Background()
		if p, _ := b.DomainPolicy(ctx, "spam.example"); p != storage.PolicyNone {
			t.Fatal(p)
		}
		if err := a.BlockDomain(ctx, storage.Operator, storage.DomainBlock{Host: "spam.example", Severity: storage.SeveritySuspend}); err != nil {
			t.Fatal(err)
		}
		if p, _ := a.DomainPolicy(ctx, "spam.example"); p != storage.SeveritySuspend {
			t.Fatalf("own change not seen: %q", p)
		}
		time.Sleep(storage.PolicyRecheck + 50*time.Millisecond)
		if p, _ := b.DomainPolicy(ctx, "spam.example"); p != storage.SeveritySuspend {
			t.Fatalf("the other store still answers %q after PolicyRecheck", p)
		}
		// So do the allow list and suspended actors.
		remote := storagetest.RemoteActor(t, a, "eve", "ok.example")
		if err := a.SuspendAccount(ctx, storage.Operator, remote.ID, true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(storage.PolicyRecheck + 50*time.Millisecond)
		if sus, _ := b.ActorSuspended(ctx, *remote.APID); !sus {
			t.Fatal("the other store does not see the actor's suspension")
		}
	})
}

// What another process stored from a host while it had not yet seen the
// host's suspension is purged by that process once it has.
func TestDomainSuspendPurgesWhatSlippedThrough(t *testing.T) {
	storagetest.ForEachDialectShared(t, func(t *testing.T, a *storage.Store, opts storage.Options) {
		ctx := context.Background()
		fx := storagetest.Seed(t, a)
		b := storagetest.OpenWith(t, opts)
		spammer := storagetest.RemoteActor(t, a, "spammer", "spam.example")
		if p, _ := b.DomainPolicy(ctx, "spam.example"); p != storage.PolicyNone {
			t.Fatal(p)
		}
		if err := a.BlockDomain(ctx, storage.Operator, storage.DomainBlock{Host: "spam.example", Severity: storage.SeveritySuspend}); err != nil {
			t.Fatal(err)
		}
		// b, whose copy is still the old one, stores an activity from the
		// host: the block's own purge has run already and missed it.
		late := remoteReply(t, b, fx, spammer, 1)
		if p, _ := b.PostByID(ctx, late.ID); p.IsDeleted() {
			t.Fatal("setup: the late post is deleted already")
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if err := b.PurgeSlippedThrough(ctx); err != nil {
				t.Fatal(err)
			}
			if p, _ := b.PostByID(ctx, late.ID); p.IsDeleted() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("what slipped through the suspension was never purged")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func TestAllowlistMode(t *testing.T) {
	opts := storagetest.Options(t, "sqlite")
	opts.Federation = storage.FederationAllowlist
	s := storagetest.OpenWith(t, opts)
	ctx := context.Background()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if s.FederationMode() != storage.FederationAllowlist {
		t.Fatal(s.FederationMode())
	}
	if p, _ := s.DomainPolicy(ctx, "friends.example"); p != storage.SeveritySuspend {
		t.Fatalf("unlisted host in allow-list mode: %q", p)
	}
	if err := s.AllowDomain(ctx, storage.Operator, "friends.example"); err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{"friends.example": "", "social.friends.example": "", "strangers.example": storage.SeveritySuspend} {
		if p, _ := s.DomainPolicy(ctx, host); p != want {
			t.Errorf("policy(%q) = %q, want %q", host, p, want)
		}
	}
	// A block beats the allow list.
	s.BlockDomain(ctx, storage.Operator, storage.DomainBlock{Host: "friends.example", Severity: storage.SeveritySilence})
	if p, _ := s.DomainPolicy(ctx, "friends.example"); p != storage.SeveritySilence {
		t.Fatalf("blocked and allowed: %q", p)
	}
	if err := s.DisallowDomain(ctx, storage.Operator, "friends.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.Open(ctx, storage.Options{DataDir: t.TempDir(), Federation: "sometimes"}); err == nil {
		t.Fatal("unknown federation mode accepted")
	}
}

// Suspending a domain purges what its actors left; silencing only keeps
// their threads out of forum lists.
func TestDomainSuspendPurgesAndSilenceHides(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		dana := storagetest.RemoteActor(t, s, "dana", "social.example")
		eve := storagetest.RemoteActor(t, s, "eve", "media.spam.example")
		remoteThread, _, err := s.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: dana.ID, Title: "From afar", HTML: "<p>hi</p>"})
		if err != nil {
			t.Fatal(err)
		}
		listed := func() []storage.ID {
			ts, err := s.ListThreads(ctx, fx.Forum.ID, 0, 50)
			if err != nil {
				t.Fatal(err)
			}
			var ids []storage.ID
			for _, th := range ts {
				ids = append(ids, th.ID)
			}
			return ids
		}
		if ids := listed(); len(ids) != 2 {
			t.Fatalf("listed %v", ids)
		}
		s.BlockDomain(ctx, fx.Mod.ID, storage.DomainBlock{Host: "social.example", Severity: storage.SeveritySilence})
		if ids := listed(); len(ids) != 1 || ids[0] != fx.Thread.ID {
			t.Fatalf("silenced domain's thread still listed: %v", ids)
		}
		if th, _ := s.ThreadByID(ctx, remoteThread.ID); th.DeletedAt != nil {
			t.Fatal("silence deleted the thread")
		}
		s.UnblockDomain(ctx, fx.Mod.ID, "social.example")
		s.SilenceAccount(ctx, fx.Mod.ID, dana.ID, true)
		if ids := listed(); len(ids) != 1 {
			t.Fatalf("silenced actor's thread still listed: %v", ids)
		}

		// eve (on a subdomain) replies, likes alice's post and follows the forum and bob.
		evePost := remoteReply(t, s, fx, eve, 1)
		if _, err := s.LikePost(ctx, fx.Posts[0].ID, eve.ID, nil); err != nil {
			t.Fatal(err)
		}
		s.AddFollow(ctx, eve.ID, storage.FollowForum, fx.Forum.ID, nil, true)
		s.AddFollow(ctx, fx.Bob.ID, storage.FollowAccount, eve.ID, nil, true)
		if a, _ := s.AccountByID(ctx, fx.Alice.ID); a.Reputation != 1 {
			t.Fatalf("alice's reputation = %d", a.Reputation)
		}
		if err := s.BlockDomain(ctx, storage.Operator, storage.DomainBlock{Host: "spam.example", Severity: storage.SeveritySuspend}); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.PostByID(ctx, evePost.ID); !p.IsDeleted() || p.HTML != "" {
			t.Fatalf("suspended domain's post kept: %+v", p)
		}
		if a, _ := s.AccountByID(ctx, fx.Alice.ID); a.Reputation != 0 {
			t.Fatalf("alice's reputation after the purge = %d, want 0", a.Reputation)
		}
		if p, _ := s.PostByID(ctx, fx.Posts[0].ID); p.LikeCount != 0 {
			t.Fatalf("like count after the purge = %d", p.LikeCount)
		}
		if n, _ := s.CountFollowers(ctx, storage.FollowForum, fx.Forum.ID); n != 0 {
			t.Fatalf("forum still has %d followers", n)
		}
		if _, err := s.FollowOf(ctx, fx.Bob.ID, storage.FollowAccount, eve.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("follow of a suspended domain's actor kept: %v", err)
		}
		// Nothing else was touched.
		if p, _ := s.PostByID(ctx, fx.Posts[2].ID); p.IsDeleted() {
			t.Fatal("a member's post was purged")
		}
	})
}

func TestMoveThread(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		garden, err := s.CreateForum(ctx, storage.NewForum{Slug: "garden", Title: "Garden"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.MoveThread(ctx, fx.Mod.ID, fx.Thread.ID, garden.ID); err != nil {
			t.Fatal(err)
		}
		kitchen, _ := s.ForumByID(ctx, fx.Forum.ID)
		garden, _ = s.ForumByID(ctx, garden.ID)
		if kitchen.ThreadCount != 0 || kitchen.PostCount != 0 || kitchen.LastPostID != nil {
			t.Fatalf("old forum after the move: %d threads, %d posts, last %v", kitchen.ThreadCount, kitchen.PostCount, kitchen.LastPostID)
		}
		if garden.ThreadCount != 1 || garden.PostCount != 3 || garden.LastPostID == nil || *garden.LastPostID != fx.Posts[2].ID {
			t.Fatalf("new forum after the move: %d threads, %d posts, last %v", garden.ThreadCount, garden.PostCount, garden.LastPostID)
		}
		if th, _ := s.ListThreads(ctx, garden.ID, 0, 10); len(th) != 1 {
			t.Fatal("moved thread not listed in its new forum")
		}
		evs, _ := s.PendingEvents(ctx, 100)
		ev := evs[len(evs)-1]
		if ev.Kind != storage.EventThreadMove || ev.ThreadID != fx.Thread.ID || ev.ForumID != garden.ID || ev.FromForumID != fx.Forum.ID {
			t.Fatalf("move event = %+v", ev)
		}
		if got := auditActions(t, s); got[len(got)-1] != storage.AuditThreadMove {
			t.Fatalf("audit = %v", got)
		}
		if err := s.MoveThread(ctx, fx.Mod.ID, fx.Thread.ID, 12345); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("move to no forum: %v", err)
		}
	})
}

func TestDeleteOwnAccount(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		token, _ := s.CreateSession(ctx, fx.Alice.ID, time.Hour)
		s.LikePost(ctx, fx.Posts[1].ID, fx.Alice.ID, nil)
		if err := s.DeleteOwnAccount(ctx, fx.Alice.ID); err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, 2} {
			if p, _ := s.PostByID(ctx, fx.Posts[i].ID); !p.IsDeleted() || p.Source != "" || p.HTML != "" {
				t.Fatalf("post %d not a tombstone: %+v", i, p)
			}
		}
		// Her thread stays for bob's reply.
		if th, _ := s.ThreadByID(ctx, fx.Thread.ID); th.DeletedAt != nil {
			t.Fatal("the thread went with its author")
		}
		if p, _ := s.PostByID(ctx, fx.Posts[1].ID); p.IsDeleted() || p.LikeCount != 0 {
			t.Fatalf("bob's post: %+v", p)
		}
		if bob, _ := s.AccountByID(ctx, fx.Bob.ID); bob.Reputation != 0 {
			t.Fatalf("bob keeps a deleted member's like: %d", bob.Reputation)
		}
		a, _ := s.AccountByID(ctx, fx.Alice.ID)
		if a.DeletedAt == nil || a.DisplayName != "" || a.PasswordHash != "" || a.Handle != "alice" {
			t.Fatalf("account after deletion: %+v", a)
		}
		if _, err := s.SessionMember(ctx, token); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("session survived: %v", err)
		}
		if _, err := s.CreateMember(ctx, storage.NewMember{Handle: "alice"}); !errors.Is(err, storage.ErrNameTaken) {
			t.Fatalf("a deleted member's name was free: %v", err)
		}
		kinds := eventKinds(t, s)
		if kinds[len(kinds)-1] != storage.EventAccountDelete {
			t.Fatalf("events = %v", kinds)
		}
		if got := auditActions(t, s); got[len(got)-1] != storage.AuditAccountDelete {
			t.Fatalf("audit = %v", got)
		}
	})
}

// A moderator's deletion of a member's post federates; of a remote
// actor's post it does not (remote_post.delete).
func TestRemovePostEvents(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		dana := storagetest.RemoteActor(t, s, "dana", "social.example")
		danaPost := remoteReply(t, s, fx, dana, 1)
		if err := s.RemovePost(ctx, fx.Mod.ID, fx.Posts[1].ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RemovePost(ctx, fx.Mod.ID, danaPost.ID); err != nil {
			t.Fatal(err)
		}
		kinds := eventKinds(t, s)
		if got := kinds[len(kinds)-2:]; got[0] != storage.EventPostDelete || got[1] != storage.EventRemotePostDelete {
			t.Fatalf("events = %v", kinds)
		}
		entries, _ := s.ListAudit(ctx, 0, 10)
		if len(entries) < 2 || entries[0].Action != storage.AuditPostRemove || entries[0].TargetID != danaPost.ID.String() ||
			entries[0].ActorID != fx.Mod.ID || entries[0].ActorName() != "morgan" || entries[0].Detail != "by dana@social.example" {
			t.Fatalf("audit = %+v", entries[0])
		}
	})
}

func TestMemberModeration(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		// A registration waiting for approval has no session until approved.
		hash, _ := storage.HashPassword(storagetest.Password)
		carol, err := s.CreateMember(ctx, storage.NewMember{Handle: "carol", PasswordHash: hash, ApprovalPending: true})
		if err != nil {
			t.Fatal(err)
		}
		token, _ := s.CreateSession(ctx, carol.ID, time.Hour)
		if _, err := s.SessionMember(ctx, token); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("pending member has a session: %v", err)
		}
		if pending, _ := s.ListPendingMembers(ctx, 10); len(pending) != 1 || pending[0].ID != carol.ID {
			t.Fatalf("pending = %v", pending)
		}
		if err := s.ApproveMember(ctx, storage.Operator, carol.ID, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionMember(ctx, token); err != nil {
			t.Fatalf("approved member: %v", err)
		}
		if err := s.ApproveMember(ctx, storage.Operator, carol.ID, nil); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("approving twice: %v", err)
		}
		// A rejected registration frees its name.
		dave, _ := s.CreateMember(ctx, storage.NewMember{Handle: "dave", ApprovalPending: true})
		if err := s.RejectMember(ctx, fx.Mod.ID, dave.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateMember(ctx, storage.NewMember{Handle: "dave"}); err != nil {
			t.Fatalf("name of a rejected registration: %v", err)
		}
		if err := s.RejectMember(ctx, fx.Mod.ID, fx.Bob.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("rejecting an approved member: %v", err)
		}

		// Roles, suspension, pin and lock, each audited.
		if err := s.ChangeRole(ctx, storage.Operator, fx.Bob.ID, storage.RoleModerator); err != nil {
			t.Fatal(err)
		}
		if err := s.ChangeRole(ctx, storage.Operator, fx.Bob.ID, "king"); !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("unknown role: %v", err)
		}
		bobToken, _ := s.CreateSession(ctx, fx.Bob.ID, time.Hour)
		// Bob is a moderator now: another moderator cannot suspend him.
		if err := s.SuspendAccount(ctx, fx.Mod.ID, fx.Bob.ID, true); !errors.Is(err, storage.ErrForbidden) {
			t.Fatalf("a moderator suspended a moderator: %v", err)
		}
		s.SuspendAccount(ctx, storage.Operator, fx.Bob.ID, true)
		if _, err := s.SessionMember(ctx, bobToken); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("suspended member kept a session: %v", err)
		}
		s.SuspendAccount(ctx, storage.Operator, fx.Bob.ID, false)
		if err := s.PinThread(ctx, fx.Mod.ID, fx.Thread.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := s.LockThread(ctx, fx.Mod.ID, fx.Thread.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := s.LockThread(ctx, fx.Mod.ID, 999, true); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("lock of no thread: %v", err)
		}
		if err := s.UpdateForum(ctx, storage.Operator, fx.Forum.ID, "Kitchen", "", 3); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveThread(ctx, fx.Mod.ID, fx.Thread.ID); err != nil {
			t.Fatal(err)
		}
		want := []string{storage.AuditForumCreate, storage.AuditAccountApprove, storage.AuditAccountReject, storage.AuditAccountRole,
			storage.AuditAccountSuspend, storage.AuditAccountRestore, storage.AuditThreadPin, storage.AuditThreadLock,
			storage.AuditForumUpdate, storage.AuditThreadRemove}
		if got := auditActions(t, s); !slices.Equal(got, want) {
			t.Fatalf("audit = %v\nwant    %v", got, want)
		}
	})
}
