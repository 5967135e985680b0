package node

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/skein-forum/skein/storage"
)

// inboxReason maps an inbox answer to the reason label of
// skein_inbox_rejected_total. The inbox answers each refusal with one
// status (see [inbox.Inbox.Register]), so the status is the reason.
func inboxReason(status int) (accepted bool, reason string) {
	switch {
	case status == http.StatusAccepted || status == http.StatusOK:
		return true, ""
	case status == http.StatusUnauthorized:
		return false, RejectSignature
	case status == http.StatusForbidden:
		return false, RejectBlocked
	case status == http.StatusRequestEntityTooLarge:
		return false, RejectTooLarge
	case status == http.StatusNotFound:
		return false, RejectNoInbox
	case status == http.StatusServiceUnavailable:
		return false, RejectUnavailable
	case status == http.StatusTooManyRequests:
		return false, RejectRateLimited
	default:
		return false, RejectMalformed
	}
}

// observeInbox counts an answered inbox POST.
func (m *Metrics) observeInbox(status int) {
	if ok, reason := inboxReason(status); ok {
		m.InboxAccepted()
	} else {
		m.InboxRejected(reason)
	}
}

// hostClasses labels deliveries by the software a remote host runs, as
// the outbox's NodeInfo prober recorded it, from a small cache: a label
// per host would grow without bound, a label per software does not.
//
// A delivery to a host not in the cache waits in pending for a goroutine
// (see [Node.labelDeliveries]) that looks up every host waiting with one
// query: a fan-out to a thousand new hosts would otherwise make a
// thousand reads, each on a read connection whose page cache the
// delivery worker's writes have just emptied.
type hostClasses struct {
	store   *storage.Store
	mu      sync.Mutex
	known   map[string]hostClass
	pending chan observed
}

type hostClass struct {
	class string
	at    time.Time
}

// observed is one POST attempt's outcome, waiting for its host's class.
type observed struct {
	host    string
	outcome storage.DeliveryOutcome
}

func newHostClasses(store *storage.Store) *hostClasses {
	return &hostClasses{store: store, known: make(map[string]hostClass), pending: make(chan observed, 4096)}
}

// knownClasses are the label values besides "other" and "unknown".
var knownClasses = map[string]bool{
	"mastodon": true, "gotosocial": true, "misskey": true, "sharkey": true, "pleroma": true, "akkoma": true,
	"lemmy": true, "nodebb": true, "piefed": true, "mbin": true, "kbin": true, "friendica": true, "skein": true,
}

// cached returns the class of a host looked up in the last ten minutes.
func (h *hostClasses) cached(host string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.known[host]
	if !ok || time.Since(c.at) >= 10*time.Minute {
		return "", false
	}
	return c.class, true
}

// lookUp finds the classes of hosts with one query and keeps them; the
// cache is bounded.
func (h *hostClasses) lookUp(hosts []string) map[string]string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	software, err := h.store.DomainsSoftware(ctx, hosts)
	if err != nil {
		software = nil // every host "unknown" for now
	}
	out := make(map[string]string, len(hosts))
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.known)+len(hosts) > 10000 {
		clear(h.known)
	}
	for _, host := range hosts {
		class := "unknown"
		if sw := software[host]; sw != "" {
			class = strings.ToLower(sw)
			if !knownClasses[class] {
				class = HostClassOther
			}
		}
		out[host] = class
		h.known[host] = hostClass{class: class, at: now}
	}
	return out
}

// observeDelivery counts one POST attempt's outcome; it runs on the
// sending goroutine and never reads the database there unless pending
// is full.
func (n *Node) observeDelivery(host string, outcome storage.DeliveryOutcome) {
	if class, ok := n.classes.cached(host); ok {
		n.countDelivery(class, outcome)
		return
	}
	select {
	case n.classes.pending <- observed{host, outcome}:
	default:
		n.countDelivery(n.classes.lookUp([]string{host})[host], outcome)
	}
}

// labelLinger is how long labelDeliveries gathers outcomes after the
// first: the metrics lag by that much for a host seen the first time.
const labelLinger = 100 * time.Millisecond

// labelDeliveries counts the outcomes waiting for their hosts' classes,
// many at a time, until ctx ends.
func (n *Node) labelDeliveries(ctx context.Context) {
	for {
		var batch []observed
		select {
		case <-ctx.Done():
			return
		case o := <-n.classes.pending:
			batch = append(batch, o)
		}
		// A fan-out's deliveries finish over a second or so: gather them
		// for a moment, so a thousand new hosts are a few queries.
		linger := time.NewTimer(labelLinger)
	gather:
		for len(batch) < 1000 {
			select {
			case o := <-n.classes.pending:
				batch = append(batch, o)
			case <-linger.C:
				break gather
			case <-ctx.Done():
				break gather
			}
		}
		linger.Stop()
		var unknown []string
		classes := map[string]string{}
		for _, o := range batch {
			if _, seen := classes[o.host]; seen {
				continue
			}
			if class, ok := n.classes.cached(o.host); ok {
				classes[o.host] = class
			} else {
				classes[o.host] = ""
				unknown = append(unknown, o.host)
			}
		}
		if len(unknown) > 0 {
			maps.Copy(classes, n.classes.lookUp(unknown))
		}
		for _, o := range batch {
			n.countDelivery(classes[o.host], o.outcome)
		}
	}
}

func (n *Node) countDelivery(class string, outcome storage.DeliveryOutcome) {
	switch outcome {
	case storage.DeliverySent:
		n.Metrics.DeliverySent(class)
	case storage.DeliveryRetry:
		n.Metrics.DeliveryRetrying(class)
	case storage.DeliveryFailed, storage.DeliveryGone:
		n.Metrics.DeliveryFailed(class)
	}
}
