package web

import (
	"context"
	"net/http"
	"time"

	"github.com/skein-forum/skein/storage"
)

// The admin area: /admin and the pages under it. Administrators see it
// all; moderators see the reports queue (and act on it) and read the
// audit log. Everyone else, guests included, gets 403: the pages are not
// a secret, but nothing about them is for the public. [Server.Register]
// wraps each of them in [Server.adminOnly] or [Server.staffOnly], so the
// handlers here may take viewerFrom(r) as the staff member acting.

// actionOn reads the form of a staff action on the {id} of the path: the
// one acting and the id. viewer is nil when it has answered, or with
// ErrNotFound for an id that is none.
func (s *Server) actionOn(w http.ResponseWriter, r *http.Request) (viewer *storage.Account, id storage.ID, err error) {
	if !s.parseForm(w, r) {
		return nil, 0, nil
	}
	id, ok := parseIDParam(r, "id")
	if !ok {
		return nil, 0, storage.ErrNotFound
	}
	return viewerFrom(r), id, nil
}

// adminPage renders one page of the admin area; section names the tab.
func (s *Server) adminPage(w http.ResponseWriter, r *http.Request, status int, name, title, section string, data any) {
	s.renderPage(w, r, status, name, title, s.URLs.Abs(r.URL.Path), adminData{Section: section, Viewer: viewerFrom(r), Page: data})
}

// adminData wraps every admin page's own data with what the tabs need.
type adminData struct {
	Section string
	Viewer  *storage.Account
	Page    any
}

// FederationStats is what the dashboard shows about federation. The node
// fills it from the delivery and inbox queues (see Config.FederationStats).
type FederationStats struct {
	DeliveriesQueued int64       // delivery jobs waiting, leased ones included
	InboxPending     int64       // received activities not processed yet
	InboxPerMinute   float64     // activities accepted per minute, recently
	Hosts            []HostQueue // hosts with jobs waiting or failing, worst first
}

// HostQueue is one remote host's share of the delivery queue.
type HostQueue struct {
	Host         string
	Pending      int64
	LastSuccess  *time.Time // nil when it never answered
	FailingSince *time.Time // nil when the host answers
	Unavailable  bool       // failing long enough that only probes go out
}

type dashboardData struct {
	Members, Posts, Threads, RemoteServers int64
	OpenReports, PendingMembers            int64
	FederationMode                         string
	Federation                             *FederationStats // nil: not available
	FederationError                        bool
	MailOn                                 bool
	MailQueued, MailRetrying               int64 // messages waiting; of those, the ones the server refused before
}

// dashboard shows the node at a glance.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var d dashboardData
	var err error
	count := func(dst *int64, f func(context.Context) (int64, error)) {
		if err == nil {
			*dst, err = f(ctx)
		}
	}
	count(&d.Members, s.Store.CountMembers)
	count(&d.Posts, s.Store.CountLocalPosts)
	count(&d.Threads, s.Store.CountThreads)
	count(&d.RemoteServers, s.Store.CountRemoteServers)
	count(&d.OpenReports, func(ctx context.Context) (int64, error) { return s.Store.CountReports(ctx, storage.ReportOpen) })
	if err == nil {
		d.MailOn = s.sendMail
		d.MailQueued, d.MailRetrying, err = s.Store.CountQueuedMail(ctx)
	}
	if err == nil {
		var pending []storage.Account
		pending, err = s.Store.ListPendingMembers(ctx, 1000)
		d.PendingMembers = int64(len(pending))
	}
	if err != nil {
		return err
	}
	d.FederationMode = s.Store.FederationMode()
	if s.FederationStats != nil {
		st, ferr := s.FederationStats(ctx)
		if ferr != nil {
			s.Log.Error("federation stats", "err", ferr)
			d.FederationError = true
		}
		d.Federation = st
	}
	s.adminPage(w, r, http.StatusOK, "admin_dashboard", "Administration", "dashboard", d)
	return nil
}
