package federation_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/federation"
)

// logCapture is a slog handler keeping every record.
type logCapture struct {
	mu      sync.Mutex
	records []slog.Record
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, r.Clone())
	return nil
}
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

// attrs are a record's attributes by key.
func attrs(r slog.Record) map[string]string {
	m := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

// One line per host and reason a minute; the next one says how many
// were left out.
func TestRefusalLogRateLimited(t *testing.T) {
	var c logCapture
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	l := federation.NewRefusalLog(slog.New(&c), func() time.Time { return now })
	ctx := context.Background()
	for range 5 {
		l.Log(ctx, slog.LevelWarn, "refused", "a.example", "bad signature", slog.String("actor", "https://a.example/u"))
	}
	l.Log(ctx, slog.LevelWarn, "refused", "a.example", "no id")
	l.Log(ctx, slog.LevelWarn, "refused", "b.example", "bad signature")
	now = now.Add(59 * time.Second)
	l.Log(ctx, slog.LevelWarn, "refused", "a.example", "bad signature")
	now = now.Add(time.Second)
	l.Log(ctx, slog.LevelWarn, "refused", "a.example", "bad signature")

	want := []map[string]string{
		{"host": "a.example", "reason": "bad signature", "actor": "https://a.example/u"},
		{"host": "a.example", "reason": "no id"},
		{"host": "b.example", "reason": "bad signature"},
		{"host": "a.example", "reason": "bad signature", "suppressed": "5"},
	}
	if len(c.records) != len(want) {
		t.Fatalf("%d lines, want %d", len(c.records), len(want))
	}
	for i, r := range c.records {
		got := attrs(r)
		for k, v := range want[i] {
			if got[k] != v {
				t.Errorf("line %d: %s=%q, want %q (%v)", i, k, got[k], v, got)
			}
		}
		if _, ok := got["suppressed"]; ok != (want[i]["suppressed"] != "") {
			t.Errorf("line %d: %v", i, got)
		}
		if r.Level != slog.LevelWarn || r.Message != "refused" {
			t.Errorf("line %d: %s %q", i, r.Level, r.Message)
		}
	}
}
