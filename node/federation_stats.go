package node

import (
	"context"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/web"
)

// federationStats feeds the admin dashboard from the queues, and keeps
// the queue-depth gauges current while it is at it.
func (n *Node) federationStats(ctx context.Context) (*web.FederationStats, error) {
	now := time.Now()
	st, err := n.Store.QueueStats(ctx, now)
	if err != nil {
		return nil, err
	}
	recent, err := n.Store.InboxReceivedSince(ctx, now.Add(-5*time.Minute))
	if err != nil {
		return nil, err
	}
	if n.Inbox != nil {
		recent += n.Inbox.DirectSince(now.Add(-5 * time.Minute)) // they leave no inbox item
	}
	n.Metrics.SetQueueDepth(QueueDelivery, st.Deliveries)
	n.Metrics.SetQueueDepth(QueueInbox, st.InboxPending)
	out := &web.FederationStats{
		DeliveriesQueued: st.Deliveries,
		InboxPending:     st.InboxPending,
		InboxPerMinute:   float64(recent) / 5,
	}
	for _, h := range st.FailingHosts {
		out.Hosts = append(out.Hosts, web.HostQueue{Host: h.Host, Pending: h.Pending,
			FailingSince: h.FailingSince, LastSuccess: h.LastSuccess, Unavailable: h.Unavailable})
	}
	return out, nil
}

// blockedDomain tells federation whether a host is suspended (by a block
// or by the allow list). A failed lookup blocks: refusing a request that
// would have been fine is better than admitting one that was not.
func (n *Node) blockedDomain(host string) bool {
	sev, err := n.Store.DomainPolicy(context.Background(), host)
	return err != nil || sev == storage.SeveritySuspend
}

// watchQueues keeps the queue-depth gauges current for /metrics.
func (n *Node) watchQueues(ctx context.Context) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		if _, err := n.federationStats(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("queue stats", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
