package inbox

import (
	"time"

	"github.com/skein-forum/skein/storage"
)

// ApplyDirectlyNow lets in store Creates as they arrive with no worker
// running, as a worker's start does with nothing queued, and remembers
// signer as a worker that applied one of its Creates would.
func ApplyDirectlyNow(in *Inbox, signer *storage.Account) {
	in.order.seed(nil, nil)
	in.recent.signers.put(*signer.APID, *signer, time.Now())
}

// QueueEveryActivity makes in queue every activity, as before Creates
// were stored as they arrive; call it before the worker starts.
func QueueEveryActivity(in *Inbox) { in.order.off = true }
