package mail

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/skein-forum/skein/internal/worker"
	"github.com/skein-forum/skein/storage"
)

// Worker sends the queued mail until its context ends. Fill the exported
// fields and call Run once; zero values get the defaults below. Several
// Workers (one per process) may share a PostgreSQL database: each claims
// its own messages.
//
// A message goes once when all goes well. The server's acceptance is
// recorded at once, before the next message; only a crash between the
// two (or a connection lost while the server was answering) can send a
// message again, and then with the same Message-ID.
type Worker struct {
	Store  *storage.Store
	Config Config
	Log    *slog.Logger
	// Observe, when set, hears every attempt's outcome (for metrics).
	Observe func(kind string, outcome storage.MailOutcome)

	Owner        string           // lease owner, unique per process; default host-pid-random
	Batch        int              // messages per claim (and per connection); default 20
	Lease        time.Duration    // how long a claim holds its messages; default 5 min
	PollInterval time.Duration    // how often to look for due mail without Notify; default 5 s
	RetryBase    time.Duration    // first retry delay before jitter; default 1 min
	RetryMax     time.Duration    // longest retry delay; default 1 h
	Clock        func() time.Time // default time.Now

	setupOnce sync.Once
	sender    *sender
	setupErr  error
	wake      worker.Signal
}

const (
	defaultMailBatch = 20
	defaultMailLease = 5 * time.Minute
	defaultMailPoll  = 5 * time.Second
	defaultRetryBase = time.Minute
	defaultRetryMax  = time.Hour
)

func (w *Worker) setup() {
	w.setupOnce.Do(func() {
		if w.Log == nil {
			w.Log = slog.Default()
		}
		if w.Owner == "" {
			w.Owner = storage.LeaseOwner("")
		}
		w.Batch = positive(w.Batch, defaultMailBatch)
		w.Lease = positive(w.Lease, defaultMailLease)
		w.PollInterval = positive(w.PollInterval, defaultMailPoll)
		w.RetryBase = positive(w.RetryBase, defaultRetryBase)
		w.RetryMax = positive(w.RetryMax, defaultRetryMax)
		if w.Clock == nil {
			w.Clock = time.Now
		}
		w.wake = worker.NewSignal()
		w.sender, w.setupErr = newSender(w.Config)
	})
}

// Notify wakes the worker to claim at once, for instance right after a
// form queued a message. It never blocks.
func (w *Worker) Notify() {
	w.setup()
	w.wake.Notify()
}

// Run claims and sends until ctx ends, then gives back what it claimed
// and never started.
func (w *Worker) Run(ctx context.Context) error {
	w.setup()
	if w.Store == nil {
		return fmt.Errorf("mail worker: Store is required")
	}
	if w.setupErr != nil {
		return fmt.Errorf("mail worker: %w", w.setupErr)
	}
	defer func() {
		if n, err := w.Store.ReleaseMail(context.WithoutCancel(ctx), w.Owner, w.Clock()); err != nil {
			w.Log.Error("release mail", "err", err)
		} else if n > 0 {
			w.Log.Info("released unsent mail for the next run", "messages", n)
		}
	}()
	worker.Loop(ctx, w.PollInterval, w.wake, func(ctx context.Context) bool {
		mails, err := w.Store.ClaimMail(ctx, w.Owner, w.Clock(), w.Batch, w.Lease)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("claim mail", "err", err)
		}
		if len(mails) == 0 {
			return false
		}
		w.sendBatch(ctx, mails)
		return len(mails) == w.Batch // more may be due
	})
	return nil
}

// sendBatch sends claimed messages over one connection and records each
// outcome as soon as it is known.
func (w *Worker) sendBatch(ctx context.Context, mails []storage.Mail) {
	now := w.Clock()
	live := mails[:0:0]
	for _, m := range mails {
		if !now.Before(m.ExpiresAt) {
			w.Log.Warn("mail expired unsent", "id", m.ID, "kind", m.Kind, "attempts", m.Attempts-1, "last_error", m.LastError)
			w.finish(ctx, m.Kind, storage.MailResult{ID: m.ID, Outcome: storage.MailFailed})
			continue
		}
		live = append(live, m)
	}
	if len(live) == 0 {
		return
	}
	// A message is only started with its lease well ahead of the
	// server's slowest answer: otherwise its lease could run out mid-send
	// and another process send it too.
	margin := 2*w.sender.cfg.Timeout + 5*time.Second
	ready := func(m *storage.Mail) bool {
		return m.LeaseUntil == nil || w.Clock().Add(margin).Before(*m.LeaseUntil)
	}
	started := w.sender.send(ctx, live, ready, func(m *storage.Mail, a attempt) {
		w.finish(ctx, m.Kind, w.result(m, a))
	})
	// What was not started goes back, due at once, its attempt
	// uncounted.
	for _, m := range live[started:] {
		w.finish(ctx, m.Kind, storage.MailResult{ID: m.ID, Outcome: storage.MailReleased, RetryAt: w.Clock()})
	}
}

func (w *Worker) result(m *storage.Mail, a attempt) storage.MailResult {
	switch {
	case a.sent:
		w.Log.Debug("mail sent", "id", m.ID, "kind", m.Kind)
		return storage.MailResult{ID: m.ID, Outcome: storage.MailSent}
	case a.permanent:
		w.Log.Warn("mail refused for good", "id", m.ID, "kind", m.Kind, "to", m.To, "err", a.err)
		return storage.MailResult{ID: m.ID, Outcome: storage.MailFailed}
	}
	retry := w.Clock().Add(w.backoff(m.Attempts))
	w.Log.Warn("mail not sent; will retry", "id", m.ID, "kind", m.Kind, "attempt", m.Attempts,
		"retry_at", retry.UTC().Format(time.RFC3339), "err", a.err)
	msg := "unknown error"
	if a.err != nil {
		msg = a.err.Error()
	}
	return storage.MailResult{ID: m.ID, Outcome: storage.MailRetry, RetryAt: retry, Error: msg}
}

func (w *Worker) finish(ctx context.Context, kind string, r storage.MailResult) {
	// A result is written even while shutting down: it is what keeps a
	// sent message from going again.
	if err := w.Store.FinishMail(context.WithoutCancel(ctx), w.Owner, []storage.MailResult{r}); err != nil {
		w.Log.Error("record mail outcome", "id", r.ID, "err", err)
	}
	if w.Observe != nil {
		w.Observe(kind, r.Outcome)
	}
}

// backoff is the delay before attempt n+1: RetryBase doubled per
// attempt, at most RetryMax, less up to a fifth at random so messages
// refused together do not all come back together.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.RetryBase
	for i := 1; i < attempts && d < w.RetryMax; i++ {
		d *= 2
	}
	d = min(d, w.RetryMax)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

func positive[T ~int | ~int64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
