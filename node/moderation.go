package node

import (
	"context"

	"github.com/skein-forum/skein/storage"
)

// deliveryRefused tells the delivery worker to drop a job queued before
// its host or its recipient was suspended: a suspension stops delivery at
// once, not after the queue has drained. Both lookups are in memory.
func (n *Node) deliveryRefused(job *storage.DeliveryJob) bool {
	if n.blockedDomain(job.Host) {
		return true
	}
	suspended, err := n.Store.InboxSuspended(context.Background(), job.Inbox)
	return err != nil || suspended
}
