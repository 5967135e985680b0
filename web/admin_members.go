package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/skein-forum/skein/storage"
)

const membersPerPage = 50

type membersData struct {
	Pending        []storage.Account
	FollowRequests []followRequestView // see [Server.followRequests]
	Members        []storage.Account
	Found          *storage.Account // the account looked up with ?acct=
	Acct           string
	Next           string
	Roles          []string
}

// adminMembers lists registrations waiting for approval, then members by
// age; ?acct=name or name@host finds one account, a remote actor too.
func (s *Server) adminMembers(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	data := membersData{Acct: strings.TrimSpace(q.Get("acct")),
		Roles: []string{storage.RoleMember, storage.RoleModerator, storage.RoleAdmin}}
	var err error
	if data.Acct != "" {
		data.Found, err = s.Store.AccountByAcct(ctx, data.Acct)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	var after storage.ID
	if v := q.Get("after"); v != "" {
		if after, err = storage.ParseID(v); err != nil {
			return storage.ErrNotFound
		}
	}
	if after == 0 {
		if data.Pending, err = s.Store.ListPendingMembers(ctx, 200); err != nil {
			return err
		}
		if data.FollowRequests, err = s.followRequests(ctx); err != nil {
			return err
		}
	}
	members, err := s.Store.ListMembers(ctx, after, membersPerPage+1)
	if err != nil {
		return err
	}
	data.Members, data.Next = pageAndNext(s, members, membersPerPage, "/admin/members?after=",
		func(a *storage.Account) storage.ID { return a.ID })
	s.adminPage(w, r, http.StatusOK, "admin_members", "Members", "members", data)
	return nil
}

// changeMember suspends, unsuspends, silences, unsilences, approves,
// rejects or changes the role of an account (role=...). Admins cannot
// act on themselves, so nobody locks the last admin out by a slip.
func (s *Server) changeMember(w http.ResponseWriter, r *http.Request) error {
	viewer, id, err := s.actionOn(w, r)
	if viewer == nil {
		return err
	}
	if id == viewer.ID {
		s.errorPage(w, r, http.StatusBadRequest, "You cannot change your own account here; ask another administrator, or use the skein command.")
		return nil
	}
	ctx := r.Context()
	switch r.PostForm.Get("action") {
	case "suspend":
		err = s.Store.SuspendAccount(ctx, viewer.ID, id, true)
	case "unsuspend":
		err = s.Store.SuspendAccount(ctx, viewer.ID, id, false)
	case "silence":
		err = s.Store.SilenceAccount(ctx, viewer.ID, id, true)
	case "unsilence":
		err = s.Store.SilenceAccount(ctx, viewer.ID, id, false)
	case "approve":
		var welcome func(*storage.Account) (storage.NewMail, error)
		if s.sendMail {
			welcome = s.mail.Approved
		}
		err = s.Store.ApproveMember(ctx, viewer.ID, id, welcome)
		s.mailQueued()
	case "reject":
		err = s.Store.RejectMember(ctx, viewer.ID, id)
	case "role":
		err = s.Store.ChangeRole(ctx, viewer.ID, id, r.PostForm.Get("role"))
	default:
		s.errorPage(w, r, http.StatusBadRequest, "Unknown action.")
		return nil
	}
	if err != nil {
		return err
	}
	back := localPath(r.PostForm.Get("back"))
	if !strings.HasPrefix(back, "/admin/members") {
		back = "/admin/members"
	}
	s.redirect(w, r, back)
	return nil
}

// memberRowData is one row of the members table.
type memberRowData struct {
	Account *storage.Account
	Roles   []string
}

// newMemberRow is the templates' memberRow: rows come from slices of
// accounts and from a single *Account.
func newMemberRow(a any, roles []string) memberRowData {
	switch a := a.(type) {
	case storage.Account:
		return memberRowData{Account: &a, Roles: roles}
	case *storage.Account:
		return memberRowData{Account: a, Roles: roles}
	}
	return memberRowData{}
}
