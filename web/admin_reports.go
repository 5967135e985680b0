package web

import (
	"net/http"

	"github.com/skein-forum/skein/storage"
)

const reportsPerPage = 20

type reportsData struct {
	Status  string // the tab shown: open, dismissed or resolved
	Reports []reportView
	Next    string // link to the next page, "" on the last
}

// reportView is a report with its post in context: the thread it is in
// and the post before it.
type reportView struct {
	storage.Report
	Thread     *storage.ThreadInForum // nil for a report about an account
	Previous   *storage.Post          // the post before the reported one, if any
	PostView   *postView
	CanForward bool
}

// adminReports is the moderators' queue of reports, oldest first.
func (s *Server) adminReports(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	data := reportsData{Status: q.Get("status")}
	switch data.Status {
	case "":
		data.Status = storage.ReportOpen
	case storage.ReportOpen, storage.ReportDismissed, storage.ReportResolved:
	default:
		return storage.ErrNotFound
	}
	var after storage.ID
	if v := q.Get("after"); v != "" {
		id, err := storage.ParseID(v)
		if err != nil {
			return storage.ErrNotFound
		}
		after = id
	}
	reports, err := s.Store.ListReports(ctx, data.Status, after, reportsPerPage+1)
	if err != nil {
		return err
	}
	reports, data.Next = pageAndNext(s, reports, reportsPerPage, "/admin/reports?status="+data.Status+"&after=",
		func(r *storage.Report) storage.ID { return r.ID })
	for _, rep := range reports {
		v := reportView{Report: rep}
		v.CanForward = rep.Status == storage.ReportOpen && rep.Account != nil && !rep.Account.IsLocal() && !rep.Forwarded
		if rep.Post != nil {
			if v.Thread, err = s.Store.ThreadWithForum(ctx, rep.Post.ThreadID); err != nil {
				return err
			}
			if rep.Post.Position > 1 {
				prev, err := s.Store.PostsInRange(ctx, rep.Post.ThreadID, rep.Post.Position-1, rep.Post.Position-1)
				if err != nil {
					return err
				}
				if len(prev) == 1 {
					v.Previous = &prev[0]
				}
			}
			p := *rep.Post
			p.Author = rep.Account
			pv := s.newPostView(&p)
			v.PostView = &pv
		}
		data.Reports = append(data.Reports, v)
	}
	s.adminPage(w, r, http.StatusOK, "admin_reports", "Reports", "reports", data)
	return nil
}

// resolveReport acts on a report: dismiss, delete (the post), suspend
// (its author) or forward (to the author's server, as a Flag).
func (s *Server) resolveReport(w http.ResponseWriter, r *http.Request) error {
	viewer, id, err := s.actionOn(w, r)
	if viewer == nil {
		return err
	}
	action := r.PostForm.Get("action")
	if action == "forward" {
		err = s.Store.ForwardReport(r.Context(), viewer.ID, id)
	} else {
		err = s.Store.ResolveReport(r.Context(), viewer.ID, id, action)
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, "/admin/reports")
	return nil
}

type reportForm struct {
	Post   *storage.Post
	Reason string
	Error  string
}

// reportPostForm asks a member why they report a post.
func (s *Server) reportPostForm(w http.ResponseWriter, r *http.Request) error {
	p, viewer := s.memberPost(w, r, "/report")
	if viewer == nil {
		return nil
	}
	s.renderReportForm(w, r, http.StatusOK, reportForm{Post: p})
	return nil
}

func (s *Server) renderReportForm(w http.ResponseWriter, r *http.Request, status int, form reportForm) {
	w.Header().Set("Cache-Control", "no-store")
	s.renderPage(w, r, status, "report", "Report a post", s.URLs.Post(form.Post.ID)+"/report", form)
}

// reportPost files a member's report for the moderators.
func (s *Server) reportPost(w http.ResponseWriter, r *http.Request) error {
	p, viewer := s.memberPost(w, r, "/report")
	if viewer == nil || !s.parseForm(w, r) {
		return nil
	}
	if p.IsDeleted() {
		s.errorPage(w, r, http.StatusGone, "This post was deleted already.")
		return nil
	}
	form := reportForm{Post: p, Reason: r.PostForm.Get("reason")}
	_, err := s.Store.CreateReport(r.Context(), storage.NewReport{ReporterID: viewer.ID, PostID: &p.ID, Reason: form.Reason})
	if err != nil {
		return withForm(err, func(status int, msg string) error {
			form.Error = msg
			s.renderReportForm(w, r, status, form)
			return nil
		})
	}
	s.notice(w, r, http.StatusOK, "Report sent", "Thank you. The moderators will look at the post.")
	return nil
}
