package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

// Every moderation method that acts on an account or its content refuses
// staff whose role is not above that account's, and lets the shell
// (Operator) and higher roles through.
func TestStaffActOnlyBelowTheirRole(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		fx := storagetest.Seed(t, s)
		admin, err := s.CreateMember(ctx, storage.NewMember{Handle: "ada", PasswordHash: "x", Role: storage.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		admin2, err := s.CreateMember(ctx, storage.NewMember{Handle: "ada2", PasswordHash: "x", Role: storage.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		th, adminPost, err := s.CreateThread(ctx, storage.NewThread{ForumID: fx.Forum.ID, AuthorID: admin.ID, Title: "Rules", Source: "x", HTML: "<p>x</p>"})
		if err != nil {
			t.Fatal(err)
		}
		report, err := s.CreateReport(ctx, storage.NewReport{ReporterID: fx.Alice.ID, AccountID: admin.ID, Reason: "x"})
		if err != nil {
			t.Fatal(err)
		}
		postReport, err := s.CreateReport(ctx, storage.NewReport{ReporterID: fx.Alice.ID, PostID: &adminPost.ID, Reason: "x"})
		if err != nil {
			t.Fatal(err)
		}
		refused := map[string]error{
			"moderator suspends admin":         s.SuspendAccount(ctx, fx.Mod.ID, admin.ID, true),
			"moderator silences admin":         s.SilenceAccount(ctx, fx.Mod.ID, admin.ID, true),
			"moderator demotes admin":          s.ChangeRole(ctx, fx.Mod.ID, admin.ID, storage.RoleMember),
			"moderator promotes to admin":      s.ChangeRole(ctx, fx.Mod.ID, fx.Alice.ID, storage.RoleAdmin),
			"moderator removes admin's post":   s.RemovePost(ctx, fx.Mod.ID, adminPost.ID),
			"moderator removes admin's thread": s.RemoveThread(ctx, fx.Mod.ID, th.ID),
			"report suspends admin":            s.ResolveReport(ctx, fx.Mod.ID, report.ID, storage.ReportActionSuspendAuthor),
			"report deletes admin's post":      s.ResolveReport(ctx, fx.Mod.ID, postReport.ID, storage.ReportActionDeletePost),
			"admin suspends another admin":     s.SuspendAccount(ctx, admin2.ID, admin.ID, true),
			"member suspends member":           s.SuspendAccount(ctx, fx.Alice.ID, fx.Bob.ID, true),
			"admin suspends themself":          s.SuspendAccount(ctx, admin.ID, admin.ID, true),
			"moderator suspends themself":      s.SuspendAccount(ctx, fx.Mod.ID, fx.Mod.ID, true),
		}
		for what, err := range refused {
			if !errors.Is(err, storage.ErrForbidden) {
				t.Errorf("%s: %v, want ErrForbidden", what, err)
			}
		}
		if a, _ := s.AccountByID(ctx, admin.ID); a.Suspended || a.Silenced || a.Role != storage.RoleAdmin {
			t.Fatalf("a refused action changed the admin: %+v", a)
		}
		if p, _ := s.PostByID(ctx, adminPost.ID); p.IsDeleted() {
			t.Fatal("a refused action deleted the admin's post")
		}

		allowed := map[string]error{
			"moderator suspends member":  s.SuspendAccount(ctx, fx.Mod.ID, fx.Bob.ID, true),
			"moderator removes own post": s.RemovePost(ctx, fx.Mod.ID, mustModPost(t, s, fx).ID),
			"admin demotes moderator":    s.ChangeRole(ctx, admin.ID, fx.Mod.ID, storage.RoleMember),
			"admin makes an admin":       s.ChangeRole(ctx, admin.ID, fx.Alice.ID, storage.RoleAdmin),
			"shell suspends admin":       s.SuspendAccount(ctx, storage.Operator, admin2.ID, true),
		}
		for what, err := range allowed {
			if err != nil {
				t.Errorf("%s: %v", what, err)
			}
		}
	})
}

func mustModPost(t *testing.T, s *storage.Store, fx *storagetest.Fixtures) *storage.Post {
	t.Helper()
	p, err := s.CreatePost(context.Background(), storage.NewPost{ThreadID: fx.Thread.ID, AuthorID: fx.Mod.ID, Source: "m", HTML: "<p>m</p>"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
