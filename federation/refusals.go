package federation

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// RefusalLog writes what the node refuses or drops from remote servers
// (signatures it does not accept, activities it does not apply) at most
// once per remote host and reason a minute: an operator sees every kind
// of refusal a peer meets, and one noisy peer cannot flood the log. A
// line says how many like it were left out since the previous one. It is
// safe for concurrent use.
type RefusalLog struct {
	log *slog.Logger
	now func() time.Time

	mu   sync.Mutex
	seen map[refusalKey]*refusalWindow
}

type refusalKey struct{ host, reason string }

type refusalWindow struct {
	until      time.Time // lines for this key are counted, not written, until then
	suppressed int
}

const (
	refusalEvery   = time.Minute
	refusalKeysMax = 10000
)

// NewRefusalLog writes to log, with now as its clock (nil: time.Now).
func NewRefusalLog(log *slog.Logger, now func() time.Time) *RefusalLog {
	if now == nil {
		now = time.Now
	}
	return &RefusalLog{log: log, now: now, seen: make(map[refusalKey]*refusalWindow)}
}

// Log writes msg at level with the host, the reason and attrs, unless a
// line for the same host and reason went out less than a minute ago;
// then it only counts it. reason must be a short fixed phrase, never
// text from the request, or nothing would ever repeat.
func (l *RefusalLog) Log(ctx context.Context, level slog.Level, msg, host, reason string, attrs ...slog.Attr) {
	if !l.log.Enabled(ctx, level) {
		return
	}
	now := l.now()
	k := refusalKey{host, reason}
	l.mu.Lock()
	w := l.seen[k]
	if w != nil && now.Before(w.until) {
		w.suppressed++
		l.mu.Unlock()
		return
	}
	if w == nil {
		if len(l.seen) >= refusalKeysMax {
			l.sweep(now)
		}
		w = &refusalWindow{}
		l.seen[k] = w
	}
	suppressed := w.suppressed
	w.until, w.suppressed = now.Add(refusalEvery), 0
	l.mu.Unlock()

	head := []slog.Attr{slog.String("host", host), slog.String("reason", reason)}
	if suppressed > 0 {
		head = append(head, slog.Int("suppressed", suppressed))
	}
	l.log.LogAttrs(ctx, level, msg, append(head, attrs...)...)
}

// sweep drops windows that have ended, and everything if none has: the
// counts of a flood of made-up hosts are not worth unbounded memory.
func (l *RefusalLog) sweep(now time.Time) {
	for k, w := range l.seen {
		if !now.Before(w.until) {
			delete(l.seen, k)
		}
	}
	if len(l.seen) >= refusalKeysMax {
		clear(l.seen)
	}
}
