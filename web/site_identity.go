package web

import (
	"context"
	"sync"
	"time"

	"github.com/skein-forum/skein/storage"
)

// siteIdentity is the site's name and description as pages show them:
// an admin's edit, stored in the settings table, wins over the values
// the node was started with (--site-name, --site-description), which win
// over the host name. Every process rereads the stored values at most
// every identityTTL, so an edit made through another process shows within
// that time, and pages cost no query.
type siteIdentity struct {
	store       *storage.Store
	defaultName string
	defaultDesc string

	mu     sync.Mutex
	name   string
	desc   string
	loaded time.Time
}

const identityTTL = 10 * time.Second

func (si *siteIdentity) get() (name, desc string) {
	si.mu.Lock()
	defer si.mu.Unlock()
	if time.Since(si.loaded) < identityTTL {
		return si.name, si.desc
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	name, desc = si.defaultName, si.defaultDesc
	if v, ok, err := si.store.Setting(ctx, storage.SettingSiteName); err == nil && ok && v != "" {
		name = v
	}
	if v, ok, err := si.store.Setting(ctx, storage.SettingSiteDescription); err == nil && ok {
		desc = v
	}
	// On an error the defaults stand for one period; the next read tries
	// again.
	si.name, si.desc, si.loaded = name, desc, time.Now()
	return name, desc
}

// forget makes the next read go to the database: this process just
// stored an edit.
func (si *siteIdentity) forget() {
	si.mu.Lock()
	si.loaded = time.Time{}
	si.mu.Unlock()
}

// SiteName is the site's name, shown in every page header and title, in
// feeds and in mail.
func (s *Server) SiteName() string {
	name, _ := s.identity.get()
	return name
}

// SiteDescription is the site's one-line description; it may be empty.
func (s *Server) SiteDescription() string {
	_, desc := s.identity.get()
	return desc
}
