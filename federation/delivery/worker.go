// Package delivery carries queued activities to remote inboxes. A Worker
// claims jobs from the storage delivery queue in batches, signs and POSTs
// each with bounded concurrency overall and per remote host, and reports
// the results back in batches. Storage decides what is queued (in the
// transaction of the change) and keeps hosts' health; this package decides
// how and when to send.
package delivery

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skein-forum/skein/federation/transport"
	"github.com/skein-forum/skein/internal/worker"
	"github.com/skein-forum/skein/storage"
)

// Worker sends queued deliveries until its context ends. Fill the exported
// fields and call Run once; zero values get the defaults below. Several
// Workers (one per process) may share a PostgreSQL database; on SQLite one
// process owns the queue.
type Worker struct {
	Store  *storage.Store
	Client *transport.Client
	// Keys returns the key that signs for a local key owner and its keyId
	// (ACTOR#main-key). Run calls it from one goroutine, once per key per
	// claimed batch, so it may read the database and need not cache.
	Keys func(ctx context.Context, kind string, id storage.ID) (keyID string, key *rsa.PrivateKey, err error)
	Log  *slog.Logger
	// Refused reports whether a claimed job must not be sent after all:
	// its host or its recipient was suspended after it was queued. Such a
	// job is dropped unattempted. It is called for every claimed job, so
	// it must answer from memory. nil refuses nothing.
	Refused func(job *storage.DeliveryJob) bool
	// Observe, when set, hears the outcome of every POST attempt (for
	// metrics); it runs on the sending goroutine and must be quick.
	Observe func(host string, outcome storage.DeliveryOutcome)

	Owner         string           // lease owner, unique per process; default host-pid-random
	Concurrency   int              // POSTs in flight overall; default 256
	Signers       int              // signatures computed at once; default GOMAXPROCS
	PerHost       int              // POSTs in flight per remote host; default 4
	HostQueue     int              // jobs of one host held in memory, sending or waiting; default 8*PerHost
	Batch         int              // jobs per claim; default 200
	Lease         time.Duration    // how long a claim holds its jobs; default 3 min
	Timeout       time.Duration    // one POST, signing included; default 10 s
	PollInterval  time.Duration    // how often to look for due jobs without Notify; default 1 s
	RetryBase     time.Duration    // first retry delay before jitter; default 30 s
	RetryMax      time.Duration    // longest retry delay; default 12 h
	FlushDelay    time.Duration    // how long results gather before one write; default 25 ms
	ShutdownGrace time.Duration    // how long shutdown waits for POSTs in flight; default 10 s
	Clock         func() time.Time // default time.Now

	setupOnce sync.Once
	wake      worker.Signal // Notify
	room      worker.Signal // a job finished: maybe claim more
	global    chan struct{} // semaphore of Concurrency
	signing   chan struct{} // semaphore of Signers
	held      atomic.Int64  // jobs claimed and not yet finished
	mu        sync.Mutex    // guards hosts
	hosts     map[string]*hostSlots
	counters  counters
}

// hostSlots limits one host: a job waits on sem before it takes a global
// slot, so jobs of a slow host queue among themselves and never hold the
// slots other hosts need.
type hostSlots struct {
	sem  chan struct{}
	held int // jobs of this host in memory, waiting or sending
}

// Defaults. Concurrency is high because a POST mostly waits on the
// network: 1,000 hosts at a few hundred milliseconds each need a few
// hundred in flight to finish in about a second, while signing (about
// 1 ms of CPU) runs on every core, Signers at a time (see sign). PerHost
// matches the transport's idle connections per host, so every connection
// is reused.
const (
	defaultConcurrency = 256
	defaultPerHost     = 4
	defaultBatch       = 200
	defaultLease       = 3 * time.Minute
	defaultTimeout     = 10 * time.Second
	defaultPoll        = time.Second
	defaultRetryBase   = 30 * time.Second
	defaultRetryMax    = 12 * time.Hour
	defaultFlushDelay  = 25 * time.Millisecond
	defaultGrace       = 10 * time.Second

	// A host whose held jobs reach HostQueue is busy: claims leave its
	// jobs out, so a slow host with a long queue never fills the worker's
	// memory, and what one claim brings beyond HostQueue goes back to the
	// queue for about deferDelay. With the defaults the last held job of a
	// host whose every POST times out still starts within its lease.
	hostQueuePerSlot = 8
	deferDelay       = 2 * time.Second
	// leaseMargin is the lease a job must have left, beyond Timeout, to
	// be sent: a job whose lease could run out mid-POST might be claimed
	// and sent by another process too.
	leaseMargin = 5 * time.Second
)

func (w *Worker) setup() {
	w.setupOnce.Do(func() {
		if w.Log == nil {
			w.Log = slog.Default()
		}
		if w.Owner == "" {
			w.Owner = storage.LeaseOwner("")
		}
		w.Concurrency = positive(w.Concurrency, defaultConcurrency)
		w.PerHost = positive(w.PerHost, defaultPerHost)
		w.Signers = positive(w.Signers, runtime.GOMAXPROCS(0))
		w.HostQueue = positive(w.HostQueue, hostQueuePerSlot*w.PerHost)
		w.Batch = positive(w.Batch, defaultBatch)
		w.Lease = positive(w.Lease, defaultLease)
		w.Timeout = positive(w.Timeout, defaultTimeout)
		w.PollInterval = positive(w.PollInterval, defaultPoll)
		w.RetryBase = positive(w.RetryBase, defaultRetryBase)
		w.RetryMax = positive(w.RetryMax, defaultRetryMax)
		w.FlushDelay = positive(w.FlushDelay, defaultFlushDelay)
		w.ShutdownGrace = positive(w.ShutdownGrace, defaultGrace)
		if w.Clock == nil {
			w.Clock = time.Now
		}
		w.wake = worker.NewSignal()
		w.room = worker.NewSignal()
		w.global = make(chan struct{}, w.Concurrency)
		w.signing = make(chan struct{}, w.Signers)
		w.hosts = map[string]*hostSlots{}
	})
}

// Notify wakes the worker to claim at once, for instance right after a
// post's jobs were queued, instead of at the next poll. It never blocks.
func (w *Worker) Notify() {
	w.setup()
	w.wake.Notify()
}

// maxHeld bounds the jobs in memory: enough to keep every slot busy while
// the next claim is on its way.
func (w *Worker) maxHeld() int { return max(2*w.Concurrency, w.Batch) }

// Run claims and sends until ctx ends, then stops claiming, lets POSTs in
// flight finish (for at most ShutdownGrace), records their results and
// gives the jobs it never started back to the queue.
func (w *Worker) Run(ctx context.Context) error {
	w.setup()
	if w.Store == nil || w.Client == nil || w.Keys == nil {
		return fmt.Errorf("delivery worker: Store, Client and Keys are required")
	}
	// POSTs outlive ctx by the grace period, and results are written
	// after it ends.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	results := make(chan storage.DeliveryResult, w.maxHeld()+w.Batch)
	flushed := make(chan struct{})
	go func() {
		w.finishLoop(context.WithoutCancel(ctx), results)
		close(flushed)
	}()

	var inflight sync.WaitGroup
	tick := time.NewTicker(w.PollInterval)
	defer tick.Stop()
	// A claim needs room for at least half a batch, so claims stay
	// batches. drained: the last claim found fewer due jobs than it asked
	// for, so the next waits for Notify or the poll instead of following
	// finished jobs with empty claims. When the claim came back short only
	// because busy hosts were left out, their queues are still due: claim
	// again once another half batch of room has opened.
	threshold := min(w.Batch, w.maxHeld()) / 2
	needRoom, drained := threshold, false
	for ctx.Err() == nil {
		room := w.maxHeld() - int(w.held.Load())
		if !drained && (room >= needRoom || room == w.maxHeld()) {
			limit := min(w.Batch, room)
			busy := w.busyHosts()
			jobs, err := w.Store.ClaimDeliveries(ctx, w.Owner, w.Clock(), limit, w.Lease, busy)
			if err != nil && ctx.Err() == nil {
				w.Log.Error("claim deliveries", "err", err)
			}
			w.dispatch(ctx, sendCtx, jobs, results, &inflight)
			switch {
			case err == nil && len(jobs) == limit:
				needRoom = threshold
				continue // more may be due
			case err == nil && len(busy) > 0:
				needRoom = min(w.maxHeld(), room-len(jobs)+threshold)
			default:
				drained = true
			}
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
			needRoom, drained = threshold, false
		case <-tick.C:
			needRoom, drained = threshold, false
		case <-w.room:
		}
	}

	done := make(chan struct{})
	go func() { inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.ShutdownGrace):
		cancelSends()
		<-done
	}
	close(results)
	<-flushed
	relCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if n, err := w.Store.ReleaseDeliveries(relCtx, w.Owner, w.Clock()); err != nil {
		return fmt.Errorf("delivery worker shutdown: %w", err)
	} else if n > 0 {
		w.Log.Info("released deliveries on shutdown", "jobs", n)
	}
	return nil
}

// errRefused is the reason of a job dropped by Refused.
var errRefused = errors.New("recipient suspended since the job was queued")

// dispatch starts one goroutine per claimed job. The goroutine waits for
// a slot of its host and then a global slot; nothing here blocks on a
// remote server.
func (w *Worker) dispatch(ctx, sendCtx context.Context, jobs []storage.DeliveryJob, results chan<- storage.DeliveryResult, inflight *sync.WaitGroup) {
	keys := map[keyRef]*signingKey{}
	for i := range jobs {
		job := &jobs[i]
		if w.Refused != nil && w.Refused(job) {
			results <- w.fail(job, storage.DeliveryFailed, storage.HostUntried, errRefused)
			continue
		}
		key, err := w.key(ctx, keys, job.Activity)
		if err != nil {
			results <- w.keyFailure(job, err)
			continue
		}
		slots, ok := w.takeHost(job.Host)
		if !ok {
			results <- w.release(job, w.Clock().Add(deferDelay/2+jitter(deferDelay)))
			continue
		}
		w.held.Add(1)
		inflight.Go(func() {
			results <- w.send(ctx, sendCtx, slots, job, key)
			w.leaveHost(job.Host, slots)
			w.held.Add(-1)
			w.room.Notify()
		})
	}
}

// send waits for slots and delivers one job. A job still waiting when the
// worker stops, or whose lease is too short to risk a POST, goes back to
// the queue unattempted.
func (w *Worker) send(ctx, sendCtx context.Context, slots *hostSlots, job *storage.DeliveryJob, key *signingKey) storage.DeliveryResult {
	select {
	case slots.sem <- struct{}{}:
	case <-ctx.Done():
		return w.release(job, w.Clock())
	}
	defer func() { <-slots.sem }()
	select {
	case w.global <- struct{}{}:
	case <-ctx.Done():
		return w.release(job, w.Clock())
	}
	defer func() { <-w.global }()
	// Then a signing slot. RSA signing is the fan-out's CPU cost (about
	// 1 ms a request); with a signature in each of hundreds of POST
	// goroutines at once the run queue fills with signers, and the
	// goroutines that dial, write requests, read answers, claim and
	// record results wait behind all of them, so nothing leaves until
	// nearly every claimed job is signed. As many signers as cores keep
	// every core signing while the rest runs as soon as it can. The slot
	// is waited for before the POST's Timeout starts: on a busy node the
	// wait can be long, and the POST keeps the whole Timeout for the
	// network (one cut short after the server took it is sent again).
	// The lease is checked after the wait.
	select {
	case w.signing <- struct{}{}:
	case <-ctx.Done():
		return w.release(job, w.Clock())
	}
	slot := &signSlot{w: w, held: true}
	defer slot.free()
	if ctx.Err() != nil || w.Clock().Add(w.Timeout+leaseMargin).After(job.LeaseUntil) {
		return w.release(job, w.Clock())
	}
	return w.deliver(sendCtx, job, key, slot)
}

// signSlot is one of the Signers slots, held by a job from before its
// POST until its request is signed.
type signSlot struct {
	w    *Worker
	held bool
}

// free gives the slot back; later calls do nothing. Only the job's own
// goroutine calls it (the request is signed on that goroutine).
func (s *signSlot) free() {
	if s.held {
		s.held = false
		<-s.w.signing
	}
}

// release puts a job back in the queue, due at the given time, its
// attempt not counted.
func (w *Worker) release(job *storage.DeliveryJob, at time.Time) storage.DeliveryResult {
	w.counters.released.Add(1)
	return storage.DeliveryResult{Job: job, Outcome: storage.DeliveryReleased, RetryAt: at}
}

func (w *Worker) takeHost(host string) (*hostSlots, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.hosts[host]
	if h == nil {
		h = &hostSlots{sem: make(chan struct{}, w.PerHost)}
		w.hosts[host] = h
	}
	if h.held >= w.HostQueue {
		return nil, false
	}
	h.held++
	return h, true
}

// busyHosts lists the hosts holding a full HostQueue.
func (w *Worker) busyHosts() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for name, h := range w.hosts {
		if h.held >= w.HostQueue {
			out = append(out, name)
		}
	}
	return out
}

func (w *Worker) leaveHost(host string, h *hostSlots) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h.held--
	if h.held == 0 {
		delete(w.hosts, host)
	}
}

// finishLoop writes results in batches: after the first result it waits
// FlushDelay for more, so a busy worker writes one transaction per batch
// and an idle one reports within milliseconds.
func (w *Worker) finishLoop(ctx context.Context, results <-chan storage.DeliveryResult) {
	const maxBatch = 1000
	worker.Batches(results, w.FlushDelay, maxBatch, func(batch []storage.DeliveryResult) { w.flush(ctx, batch) })
}

// flush writes one batch, retrying a failing database a few times. If it
// never succeeds the leases run out and the jobs are sent again: delivery
// is at least once, and receivers ignore an activity id they have seen.
func (w *Worker) flush(ctx context.Context, batch []storage.DeliveryResult) {
	delay := 100 * time.Millisecond
	for try := 1; ; try++ {
		err := w.Store.FinishDeliveries(ctx, w.Owner, w.Clock(), batch)
		if err == nil {
			return
		}
		if try == 5 {
			w.Log.Error("record delivery results; their jobs will be sent again", "jobs", len(batch), "err", err)
			return
		}
		w.Log.Warn("record delivery results", "try", try, "err", err)
		time.Sleep(delay)
		delay *= 2
	}
}

// Counters are totals since the worker started, for metrics.
type Counters struct {
	Sent     int64 // accepted by the remote inbox
	Retried  int64 // failed, to be tried again
	Failed   int64 // dropped: refused, gone, or retried for too long
	Released int64 // put back unattempted (host busy, shutdown)
}

type counters struct {
	sent, retried, failed, released atomic.Int64
}

// Counters returns the totals so far.
func (w *Worker) Counters() Counters {
	return Counters{Sent: w.counters.sent.Load(), Retried: w.counters.retried.Load(),
		Failed: w.counters.failed.Load(), Released: w.counters.released.Load()}
}

func positive[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
