package federation

import (
	"context"
	"html"
	"net/http"
	"time"
)

// NodeInfo schema relations and the FEP-2677 link to the instance actor.
const (
	nodeInfoRel20  = "http://nodeinfo.diaspora.software/ns/schema/2.0"
	nodeInfoRel21  = "http://nodeinfo.diaspora.software/ns/schema/2.1"
	applicationRel = "https://www.w3.org/ns/activitystreams#Application"
	// nodeInfoMaxAge bounds how stale the counts may be: they cost a few
	// COUNT queries, and crawlers fetch NodeInfo often.
	nodeInfoMaxAge = 5 * time.Minute
)

// NodeInfo is a NodeInfo 2.0 or 2.1 document.
type NodeInfo struct {
	Version           string           `json:"version"`
	Software          NodeInfoSoftware `json:"software"`
	Protocols         []string         `json:"protocols"`
	Services          NodeInfoServices `json:"services"`
	OpenRegistrations bool             `json:"openRegistrations"`
	Usage             NodeInfoUsage    `json:"usage"`
	Metadata          map[string]any   `json:"metadata"`
}

// NodeInfoSoftware names the software; repository and homepage exist in
// 2.1 only.
type NodeInfoSoftware struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	Repository string `json:"repository,omitempty"`
	Homepage   string `json:"homepage,omitempty"`
}

// NodeInfoServices lists third-party services; Skein bridges none.
type NodeInfoServices struct {
	Inbound  []string `json:"inbound"`
	Outbound []string `json:"outbound"`
}

// NodeInfoUsage holds the counts.
type NodeInfoUsage struct {
	Users      NodeInfoUsers `json:"users"`
	LocalPosts int64         `json:"localPosts"`
}

// NodeInfoUsers counts members: all, and those who posted in the last 30
// and 180 days.
type NodeInfoUsers struct {
	Total          int64 `json:"total"`
	ActiveMonth    int64 `json:"activeMonth"`
	ActiveHalfyear int64 `json:"activeHalfyear"`
}

type nodeInfoLink struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

func (s *Server) serveNodeInfoIndex(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	doc, err := newDocument(map[string][]nodeInfoLink{"links": {
		{Rel: nodeInfoRel20, Href: s.urls.NodeInfo("2.0")},
		{Rel: nodeInfoRel21, Href: s.urls.NodeInfo("2.1")},
		{Rel: applicationRel, Href: s.urls.InstanceActor()},
	}}, time.Time{})
	if err != nil {
		return err
	}
	writeBody(w, r, http.StatusOK, doc, "application/json; charset=utf-8")
	return nil
}

func (s *Server) serveNodeInfo(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	version := r.PathValue("version")
	if version != "2.0" && version != "2.1" {
		return errNotFound
	}
	doc, err := s.nodeInfoDoc(r.Context(), version)
	if err != nil {
		return err
	}
	writeBody(w, r, http.StatusOK, doc, `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/`+version+`#"`)
	return nil
}

// nodeInfoDoc renders the document, reusing a recent rendering.
func (s *Server) nodeInfoDoc(ctx context.Context, version string) (*document, error) {
	s.nodeInfoMu.Lock()
	defer s.nodeInfoMu.Unlock()
	now := s.cfg.Now()
	// A renamed site shows at once; only the counts may be stale.
	name := s.siteName() + "\x00" + s.siteDescription()
	if name != s.nodeInfoName {
		s.nodeInfo, s.nodeInfoName = nil, name
	}
	if doc := s.nodeInfo[version]; doc != nil && now.Sub(s.nodeInfoAt) < nodeInfoMaxAge {
		return doc, nil
	}
	ni, err := s.NodeInfo(ctx, version)
	if err != nil {
		return nil, err
	}
	doc, err := newDocument(ni, time.Time{})
	if err != nil {
		return nil, err
	}
	if s.nodeInfo == nil || now.Sub(s.nodeInfoAt) >= nodeInfoMaxAge {
		s.nodeInfo = make(map[string]*document)
		s.nodeInfoAt = now
	}
	s.nodeInfo[version] = doc
	return doc, nil
}

// NodeInfo builds the NodeInfo document of the given version.
func (s *Server) NodeInfo(ctx context.Context, version string) (*NodeInfo, error) {
	now := s.cfg.Now()
	var users NodeInfoUsers
	var err error
	if users.Total, err = s.store.CountMembers(ctx); err != nil {
		return nil, err
	}
	if users.ActiveMonth, err = s.store.CountActiveMembers(ctx, now.AddDate(0, 0, -30)); err != nil {
		return nil, err
	}
	if users.ActiveHalfyear, err = s.store.CountActiveMembers(ctx, now.AddDate(0, 0, -180)); err != nil {
		return nil, err
	}
	posts, err := s.store.CountLocalPosts(ctx)
	if err != nil {
		return nil, err
	}
	ni := &NodeInfo{
		Version:           version,
		Software:          NodeInfoSoftware{Name: "skein", Version: s.cfg.Version},
		Protocols:         []string{"activitypub"},
		Services:          NodeInfoServices{Inbound: []string{}, Outbound: []string{}},
		OpenRegistrations: s.cfg.OpenRegistrations != nil && s.cfg.OpenRegistrations(),
		Usage:             NodeInfoUsage{Users: users, LocalPosts: posts},
		Metadata:          map[string]any{"nodeName": s.siteName()},
	}
	if desc := s.siteDescription(); desc != "" {
		ni.Metadata["nodeDescription"] = desc
	}
	if version == "2.1" {
		ni.Software.Repository = "https://github.com/skein-forum/skein"
		ni.Software.Homepage = "https://github.com/skein-forum/skein"
	}
	return ni, nil
}

// siteName is the site's name, its host's when none is given.
func (s *Server) siteName() string {
	if s.cfg.SiteName != nil {
		if name := s.cfg.SiteName(); name != "" {
			return name
		}
	}
	return s.urls.Host()
}

// siteDescription is the site's one-line description, or "".
func (s *Server) siteDescription() string {
	if s.cfg.SiteDescription != nil {
		return s.cfg.SiteDescription()
	}
	return ""
}

// serveHostMeta answers /.well-known/host-meta, which older servers read
// to find WebFinger.
func (s *Server) serveHostMeta(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "application/xrd+xml; charset=utf-8")
	_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">` + "\n" +
		`  <Link rel="lrdd" template="` + html.EscapeString(s.urls.WebFinger()) + `?resource={uri}"/>` + "\n" +
		`</XRD>` + "\n"))
}
