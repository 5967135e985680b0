package node

import (
	"context"
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
type hostClasses struct {
	store *storage.Store
	mu    sync.Mutex
	known map[string]hostClass
}

type hostClass struct {
	class string
	at    time.Time
}

// knownClasses are the label values besides "other" and "unknown".
var knownClasses = map[string]bool{
	"mastodon": true, "gotosocial": true, "misskey": true, "sharkey": true, "pleroma": true, "akkoma": true,
	"lemmy": true, "nodebb": true, "piefed": true, "mbin": true, "kbin": true, "friendica": true, "skein": true,
}

// classOf returns the host's class; unknown hosts are looked up at most
// every ten minutes, and the cache is bounded.
func (h *hostClasses) classOf(host string) string {
	h.mu.Lock()
	c, ok := h.known[host]
	h.mu.Unlock()
	if ok && time.Since(c.at) < 10*time.Minute {
		return c.class
	}
	class := "unknown"
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if sw, err := h.store.DomainSoftware(ctx, host); err == nil && sw != "" {
		class = strings.ToLower(sw)
		if !knownClasses[class] {
			class = HostClassOther
		}
	}
	h.mu.Lock()
	if len(h.known) > 10000 {
		clear(h.known)
	}
	h.known[host] = hostClass{class: class, at: time.Now()}
	h.mu.Unlock()
	return class
}

// observeDelivery counts one POST attempt's outcome.
func (n *Node) observeDelivery(host string, outcome storage.DeliveryOutcome) {
	class := n.classes.classOf(host)
	switch outcome {
	case storage.DeliverySent:
		n.Metrics.DeliverySent(class)
	case storage.DeliveryRetry:
		n.Metrics.DeliveryRetrying(class)
	case storage.DeliveryFailed, storage.DeliveryGone:
		n.Metrics.DeliveryFailed(class)
	}
}
