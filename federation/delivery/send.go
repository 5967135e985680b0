package delivery

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/skein-forum/skein/federation/signature"
	"github.com/skein-forum/skein/federation/transport"
	"github.com/skein-forum/skein/storage"
)

// ContentType is what Mastodon, GoToSocial and the rest accept for an
// activity POSTed to an inbox.
const ContentType = "application/activity+json"

type keyRef struct {
	kind string
	id   storage.ID
}

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

// key returns the signing key of an activity's key owner, looking each up
// once per claimed batch. Keys are read-only once parsed, so the POST
// goroutines share them and sign in parallel without a lock.
func (w *Worker) key(ctx context.Context, cache map[keyRef]*signingKey, act *storage.Activity) (*signingKey, error) {
	ref := keyRef{act.KeyOwnerKind, act.KeyOwnerID}
	if k, ok := cache[ref]; ok {
		return k, nil
	}
	id, key, err := w.Keys(ctx, ref.kind, ref.id)
	if err != nil {
		return nil, fmt.Errorf("key of %s %s: %w", ref.kind, ref.id, err)
	}
	k := &signingKey{id: id, key: key}
	cache[ref] = k
	return k, nil
}

// keyFailure is the result for a job whose key could not be loaded: a
// missing key never appears by itself, anything else may be a passing
// database error.
func (w *Worker) keyFailure(job *storage.DeliveryJob, err error) storage.DeliveryResult {
	if errors.Is(err, storage.ErrNotFound) {
		return w.fail(job, storage.DeliveryFailed, storage.HostUntried, err)
	}
	return w.retry(job, storage.HostUntried, err)
}

// deliver signs and POSTs one job and says what became of it.
//
// 2xx is done; 408, 429, 5xx and no answer are retried with
// backoff; any other 4xx is final; 410 Gone also drops the follower behind
// a personal inbox. Refused addresses and schemes are final too.
func (w *Worker) deliver(ctx context.Context, job *storage.DeliveryJob, key *signingKey, slot *signSlot) storage.DeliveryResult {
	res := w.post(ctx, job, key, slot)
	if w.Observe != nil {
		w.Observe(job.Host, res.Outcome)
	}
	return res
}

func (w *Worker) post(ctx context.Context, job *storage.DeliveryJob, key *signingKey, slot *signSlot) storage.DeliveryResult {
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	var signErr error
	_, _, err := w.Client.Post(ctx, job.Inbox, ContentType, job.Body, func(r *http.Request, body []byte) error {
		signErr = signature.SignRequest(r, body, key.id, key.key)
		slot.free() // the next job signs while this one is on the network
		return signErr
	})
	var status *transport.StatusError
	switch {
	case err == nil:
		w.counters.sent.Add(1)
		return storage.DeliveryResult{Job: job, Outcome: storage.DeliverySent, Host: storage.HostAnswered}
	case signErr != nil:
		return w.fail(job, storage.DeliveryFailed, storage.HostUntried, err)
	case errors.As(err, &status):
		switch code := status.Code; {
		case code == http.StatusGone:
			return w.fail(job, storage.DeliveryGone, storage.HostAnswered, err)
		case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
			return w.retry(job, storage.HostAnswered, err)
		case code >= 500:
			return w.retry(job, storage.HostFailed, err)
		default:
			return w.fail(job, storage.DeliveryFailed, storage.HostAnswered, err)
		}
	case errors.Is(err, transport.ErrBlockedAddress), errors.Is(err, transport.ErrInsecureScheme):
		return w.fail(job, storage.DeliveryFailed, storage.HostUntried, err)
	case errors.Is(err, transport.ErrRedirect), errors.Is(err, transport.ErrTooLarge):
		return w.fail(job, storage.DeliveryFailed, storage.HostAnswered, err)
	case errors.Is(ctx.Err(), context.Canceled):
		// Shutdown cut the POST short: the host is not to blame.
		return w.retry(job, storage.HostUntried, err)
	default:
		// No answer: refused, reset, DNS, TLS or timeout.
		return w.retry(job, storage.HostFailed, err)
	}
}

// retry schedules another attempt after an exponential backoff with full
// jitter, or gives up once the job is DeliveryGiveUpAfter old.
func (w *Worker) retry(job *storage.DeliveryJob, host storage.HostHealth, err error) storage.DeliveryResult {
	now := w.Clock()
	if now.Sub(job.CreatedAt) >= storage.DeliveryGiveUpAfter {
		return w.fail(job, storage.DeliveryFailed, host, fmt.Errorf("gave up after %d attempts: %w", job.Attempts, err))
	}
	w.counters.retried.Add(1)
	w.Log.Debug("delivery will be retried", "inbox", job.Inbox, "activity", job.Activity.APID, "attempts", job.Attempts, "err", err)
	return storage.DeliveryResult{Job: job, Outcome: storage.DeliveryRetry, Host: host, Error: err.Error(),
		RetryAt: now.Add(Backoff(job.Attempts, w.RetryBase, w.RetryMax))}
}

func (w *Worker) fail(job *storage.DeliveryJob, outcome storage.DeliveryOutcome, host storage.HostHealth, err error) storage.DeliveryResult {
	w.counters.failed.Add(1)
	w.Log.Warn("delivery dropped", "inbox", job.Inbox, "activity", job.Activity.APID, "attempts", job.Attempts, "err", err)
	return storage.DeliveryResult{Job: job, Outcome: outcome, Host: host, Error: err.Error()}
}

// Backoff is the delay before retry number attempt (1 for the retry after
// the first failure): base doubled per attempt, capped at max, then drawn
// uniformly from [0, that] ("full jitter"), so many jobs failing together
// do not come back together. The inbox queue's workers can use it too.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	return jitter(min(d, max))
}

// jitter draws uniformly from [0, d].
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}
