package inbox

import (
	"testing"
	"time"

	as "github.com/skein-forum/skein/federation/activitystreams"

	"github.com/skein-forum/skein/storage"
)

// ApplyDirectlyNow lets in store Creates as they arrive with no worker
// running, as a worker's start does with nothing queued, and remembers
// signer as a worker that applied one of its Creates would.
func ApplyDirectlyNow(in *Inbox, signer *storage.Account) {
	in.order.seed(nil, nil)
	in.recent.signers.put(*signer.APID, *signer, time.Now())
}

// OnDirectStore runs f where a node's worker would be woken (to wake the
// outbox and mail) after a commit stored activities directly.
func OnDirectStore(in *Inbox, f func()) {
	in.order.mu.Lock()
	defer in.order.mu.Unlock()
	in.order.applied = f
}

// QueueEveryActivity makes in queue every activity, as before Creates
// were stored as they arrive; call it before the worker starts.
func QueueEveryActivity(in *Inbox) { in.order.off = true }

// OnQueueing runs f with the id of each activity about to be queued,
// until t ends.
func OnQueueing(t testing.TB, f func(activityID string)) {
	hook := func(env *as.Envelope) { f(env.ID) }
	testHookQueueing.Store(&hook)
	t.Cleanup(func() { testHookQueueing.Store(nil) })
}

// Accepting is how many POSTs of actor are on their way to the queue.
func Accepting(in *Inbox, actor string) int {
	in.order.mu.Lock()
	defer in.order.mu.Unlock()
	if t := in.order.actors[actor]; t != nil {
		return t.accepting
	}
	return 0
}

// BeforePostCommit runs f before each commit of posts, until t ends.
func BeforePostCommit(t testing.TB, f func()) {
	testHookCommit.Store(&f)
	t.Cleanup(func() { testHookCommit.Store(nil) })
}

// WaitingForStoring is how many replies wait for a Note being stored
// directly.
func WaitingForStoring(in *Inbox) int {
	in.storing.mu.Lock()
	defer in.storing.mu.Unlock()
	return in.storing.waiters
}

// PostsPerCommit is the mean size of the posts' commits so far.
func PostsPerCommit(in *Inbox) float64 {
	return float64(in.posts.stored.Load()) / float64(max(1, in.posts.commits.Load()))
}

// StoredDirectly is how many activities in has stored as they arrived.
func StoredDirectly(in *Inbox) int64 { return in.directDone.Load() }
