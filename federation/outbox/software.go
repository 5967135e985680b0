package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"
	"github.com/skein-forum/skein/federation/transport"
	"github.com/skein-forum/skein/storage"
)

// softwareProber learns which server software remote hosts run (their
// NodeInfo software.name) off the outbox's path: a fan-out queues hosts
// it does not know and goes on treating their followers as plain ones; a
// goroutine fetches NodeInfo and records the answer for every actor of
// the host. Each host is asked at most once per probeAgainAfter, and the
// queue and the memory of asked hosts are bounded.
type softwareProber struct {
	store  *storage.Store
	client *transport.Client
	log    *slog.Logger
	queue  chan probeHost

	mu    sync.Mutex
	asked map[string]time.Time
}

type probeHost struct{ host, origin string }

const (
	probeAgainAfter = time.Hour
	maxProbedHosts  = 10000
)

func newSoftwareProber(store *storage.Store, client *transport.Client, log *slog.Logger) *softwareProber {
	return &softwareProber{store: store, client: client, log: log, queue: make(chan probeHost, 256), asked: map[string]time.Time{}}
}

// want queues a host unless it was asked recently or the queue is full.
func (p *softwareProber) want(host, inbox string) {
	u, err := url.Parse(inbox)
	if err != nil || u.Host == "" {
		return
	}
	p.mu.Lock()
	if t, ok := p.asked[host]; ok && time.Since(t) < probeAgainAfter {
		p.mu.Unlock()
		return
	}
	if len(p.asked) >= maxProbedHosts {
		clear(p.asked)
	}
	p.asked[host] = time.Now()
	p.mu.Unlock()
	select {
	case p.queue <- probeHost{host: host, origin: u.Scheme + "://" + u.Host}:
	default:
	}
}

func (p *softwareProber) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case h := <-p.queue:
			name, err := p.probe(ctx, h.origin)
			if err != nil {
				p.log.Debug("nodeinfo probe", "host", h.host, "err", err)
				continue
			}
			if err := p.store.SetDomainSoftware(ctx, h.host, name); err != nil && ctx.Err() == nil {
				p.log.Warn("record server software", "host", h.host, "err", err)
			}
		}
	}
}

// probe reads a host's NodeInfo software name.
func (p *softwareProber) probe(ctx context.Context, origin string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	body, _, err := p.client.Get(ctx, origin+"/.well-known/nodeinfo", "application/json", nil)
	if err != nil {
		return "", err
	}
	var index struct {
		Links []struct{ Rel, Href string }
	}
	if err := json.Unmarshal(body, &index); err != nil {
		return "", err
	}
	href := ""
	for _, l := range index.Links {
		if strings.HasPrefix(l.Rel, "http://nodeinfo.diaspora.software/ns/schema/2.") {
			href = l.Href
		}
	}
	if href == "" || !as.SameHost(href, strings.TrimPrefix(strings.TrimPrefix(origin, "https://"), "http://")) {
		return "", errors.New("no nodeinfo 2.x link on the host")
	}
	body, _, err = p.client.Get(ctx, href, "application/json", nil)
	if err != nil {
		return "", err
	}
	var ni struct {
		Software struct{ Name string }
	}
	if err := json.Unmarshal(body, &ni); err != nil {
		return "", err
	}
	name := strings.ToLower(strings.TrimSpace(ni.Software.Name))
	if name == "" || len(name) > 64 {
		return "", errors.New("nodeinfo names no software")
	}
	return name, nil
}
