package mail_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skein-forum/skein/mail"
	"github.com/skein-forum/skein/mail/mailtest"
	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newMail(i int) storage.NewMail {
	return storage.NewMail{
		To:             fmt.Sprintf("member%d@example.test", i),
		Subject:        fmt.Sprintf("Message %d for you", i),
		Text:           fmt.Sprintf("Hello %d, read it at http://forum.test/t/%d\n", i, i),
		HTML:           fmt.Sprintf("<p>Hello %d, <a href=\"http://forum.test/t/%d\">read it</a></p>", i, i),
		UnsubscribeURL: fmt.Sprintf("https://forum.test/unsubscribe/tok%d", i),
		Kind:           "test",
	}
}

// runWorker runs w until the test ends (or stop is called) and returns
// a function that stops it and waits.
func runWorker(t *testing.T, w *mail.Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			t.Errorf("worker: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func waitEmptyQueue(t *testing.T, s *storage.Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if n, _, err := s.CountQueuedMail(context.Background()); err == nil && n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	q, _ := s.QueuedMail(context.Background(), 100)
	t.Fatalf("mail queue not empty: %+v", q)
}

// wantEachOnce checks that the sink holds exactly one message for each
// of the n addresses.
func wantEachOnce(t *testing.T, sink *mailtest.Sink, n int) {
	t.Helper()
	got := map[string]int{}
	for _, m := range sink.Messages() {
		for _, to := range m.To {
			got[to]++
		}
	}
	for i := range n {
		addr := newMail(i).To
		if got[addr] != 1 {
			t.Errorf("%s received %d messages, want 1", addr, got[addr])
		}
	}
	if len(sink.Messages()) != n {
		t.Errorf("sink holds %d messages, want %d", len(sink.Messages()), n)
	}
}

// A mail server that refuses for a while loses nothing: the queue keeps
// every message through the refusals, and once the server accepts again
// each arrives exactly once.
func TestQueueSurvivesRefusalThenAcceptance(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		sink := mailtest.Start(t)
		sink.RefuseFor()
		const n = 5
		for i := range n {
			if err := s.EnqueueMail(ctx, newMail(i)); err != nil {
				t.Fatal(err)
			}
		}
		w := &mail.Worker{Store: s, Config: sink.Config("Forum <forum@forum.test>"), Log: quietLog(),
			RetryBase: 30 * time.Millisecond, RetryMax: 60 * time.Millisecond, PollInterval: 10 * time.Millisecond}
		runWorker(t, w)

		// Every message is refused at least twice.
		deadline := time.Now().Add(10 * time.Second)
		for sink.Attempts() < 2*n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if sink.Attempts() < 2*n {
			t.Fatalf("only %d attempts while refusing", sink.Attempts())
		}
		if got := len(sink.Messages()); got != 0 {
			t.Fatalf("the refusing sink accepted %d messages", got)
		}
		queued, err := s.QueuedMail(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(queued) != n {
			t.Fatalf("queue holds %d messages while the server refuses, want %d", len(queued), n)
		}
		for _, m := range queued {
			if !strings.Contains(m.LastError, "451") {
				t.Errorf("queued %s: last error %q, want the server's 451", m.To, m.LastError)
			}
		}

		sink.Accept()
		sink.Wait(t, n, 10*time.Second)
		waitEmptyQueue(t, s)
		time.Sleep(150 * time.Millisecond) // two retry periods: a duplicate would show
		wantEachOnce(t, sink, n)
	})
}

// Every message has a plain-text part, an HTML part, one-click
// unsubscribe headers (RFC 8058), a Message-ID made from its queue row
// and the Auto-Submitted header.
func TestMessageShape(t *testing.T) {
	s := storagetest.Open(t, "sqlite")
	ctx := context.Background()
	sink := mailtest.Start(t)
	if err := s.EnqueueMail(ctx, newMail(7)); err != nil {
		t.Fatal(err)
	}
	queued, _ := s.QueuedMail(ctx, 1)
	runWorker(t, &mail.Worker{Store: s, Config: sink.Config("Kitchen Forum <forum@forum.test>"), Log: quietLog()})
	m := sink.Wait(t, 1, 10*time.Second)[0]

	if m.Subject != "Message 7 for you" {
		t.Errorf("subject %q", m.Subject)
	}
	if !strings.Contains(m.Text, "read it at http://forum.test/t/7") {
		t.Errorf("text part %q", m.Text)
	}
	if !strings.Contains(m.HTML, `<a href="http://forum.test/t/7">read it</a>`) {
		t.Errorf("html part %q", m.HTML)
	}
	if got := m.Header.Get("List-Unsubscribe"); got != "<https://forum.test/unsubscribe/tok7>" {
		t.Errorf("List-Unsubscribe %q", got)
	}
	if got := m.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %q", got)
	}
	if got, want := m.Header.Get("Message-Id"), "<skein."+queued[0].ID.String()+"@forum.test>"; got != want {
		t.Errorf("Message-ID %q, want %q", got, want)
	}
	if got := m.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted %q", got)
	}
	if !strings.Contains(m.Header.Get("From"), "forum@forum.test") || m.From != "forum@forum.test" {
		t.Errorf("From header %q, envelope %q", m.Header.Get("From"), m.From)
	}
	if m.To[0] != "member7@example.test" {
		t.Errorf("envelope to %v", m.To)
	}
}

// A recipient the server refuses for good (550) is dropped with a log
// line; the other messages of the batch still go.
func TestRecipientRefusedForGoodIsDropped(t *testing.T) {
	s := storagetest.Open(t, "sqlite")
	ctx := context.Background()
	sink := mailtest.Start(t)
	sink.RejectRecipient(newMail(1).To)
	for i := range 3 {
		if err := s.EnqueueMail(ctx, newMail(i)); err != nil {
			t.Fatal(err)
		}
	}
	runWorker(t, &mail.Worker{Store: s, Config: sink.Config("forum@forum.test"), Log: quietLog(), RetryBase: 10 * time.Millisecond})
	waitEmptyQueue(t, s)
	if got := len(sink.To(newMail(0).To)) + len(sink.To(newMail(2).To)); got != 2 {
		t.Errorf("the two good recipients got %d messages, want 2", got)
	}
	if got := len(sink.To(newMail(1).To)); got != 0 {
		t.Errorf("the refused recipient got %d messages", got)
	}
}

// A worker that died holding a lease leaves its messages to the next
// one: they go when the lease runs out, once.
func TestRestartResumesLeasedMail(t *testing.T) {
	storagetest.ForEachDialect(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		sink := mailtest.Start(t)
		for i := range 3 {
			if err := s.EnqueueMail(ctx, newMail(i)); err != nil {
				t.Fatal(err)
			}
		}
		// The dead worker: it claimed everything and never reported.
		claimed, err := s.ClaimMail(ctx, "dead-process", time.Now(), 10, 300*time.Millisecond)
		if err != nil || len(claimed) != 3 {
			t.Fatalf("claim: %d, %v", len(claimed), err)
		}
		runWorker(t, &mail.Worker{Store: s, Config: sink.Config("forum@forum.test"), Log: quietLog(),
			PollInterval: 20 * time.Millisecond})
		time.Sleep(100 * time.Millisecond)
		if got := len(sink.Messages()); got != 0 {
			t.Fatalf("%d messages sent while another worker's lease held them", got)
		}
		sink.Wait(t, 3, 10*time.Second)
		waitEmptyQueue(t, s)
		wantEachOnce(t, sink, 3)
	})
}

// Stopping a worker gives back what it claimed and did not send, and a
// new worker (a restarted process) sends it, once.
func TestStopReleasesUnsentMail(t *testing.T) {
	s := storagetest.Open(t, "sqlite")
	ctx := context.Background()
	sink := mailtest.Start(t)
	sink.RefuseFor()
	for i := range 4 {
		if err := s.EnqueueMail(ctx, newMail(i)); err != nil {
			t.Fatal(err)
		}
	}
	stop := runWorker(t, &mail.Worker{Store: s, Config: sink.Config("forum@forum.test"), Log: quietLog(),
		RetryBase: time.Hour})
	deadline := time.Now().Add(10 * time.Second)
	for sink.Attempts() < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	queued, _ := s.QueuedMail(ctx, 10)
	if len(queued) != 4 {
		t.Fatalf("after stopping, the queue holds %d messages, want 4", len(queued))
	}
	for _, m := range queued {
		if m.LeaseUntil != nil || m.LeaseOwner != "" {
			t.Errorf("message %s still leased by %q after its worker stopped", m.ID, m.LeaseOwner)
		}
	}
	// The retry is an hour away; the next start (SQLite: one process
	// owns the queue) makes what a dead process held due, and an admin
	// who fixed the server does not want to wait: due now.
	if _, err := s.DB().NewRaw("UPDATE mail_queue SET next_attempt_at = ?", time.Now().UTC()).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	sink.Accept()
	runWorker(t, &mail.Worker{Store: s, Config: sink.Config("forum@forum.test"), Log: quietLog()})
	sink.Wait(t, 4, 10*time.Second)
	waitEmptyQueue(t, s)
	wantEachOnce(t, sink, 4)
}

// Two processes on one PostgreSQL database share the queue: every
// message goes once, whichever process claimed it.
func TestTwoWorkersShareQueueOnPostgres(t *testing.T) {
	opts := storagetest.Options(t, "postgres") // skips without PostgreSQL
	ctx := context.Background()
	a := storagetest.OpenWith(t, opts)
	if _, err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b := storagetest.OpenWith(t, opts)
	sink := mailtest.Start(t)
	const n = 40
	for i := range n {
		if err := a.EnqueueMail(ctx, newMail(i)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := sink.Config("forum@forum.test")
	runWorker(t, &mail.Worker{Store: a, Config: cfg, Log: quietLog(), Owner: "a", Batch: 3})
	runWorker(t, &mail.Worker{Store: b, Config: cfg, Log: quietLog(), Owner: "b", Batch: 3})
	sink.Wait(t, n, 20*time.Second)
	waitEmptyQueue(t, a)
	time.Sleep(100 * time.Millisecond)
	wantEachOnce(t, sink, n)
}

// A message past its validity is dropped, not sent late.
func TestExpiredMailIsDropped(t *testing.T) {
	s := storagetest.Open(t, "sqlite")
	ctx := context.Background()
	sink := mailtest.Start(t)
	late := newMail(1)
	late.ValidFor = time.Millisecond
	if err := s.EnqueueMail(ctx, late, newMail(2)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	runWorker(t, &mail.Worker{Store: s, Config: sink.Config("forum@forum.test"), Log: quietLog()})
	sink.WaitTo(t, newMail(2).To, "Message 2", 10*time.Second)
	waitEmptyQueue(t, s)
	if got := len(sink.To(late.To)); got != 0 {
		t.Errorf("expired message sent %d times", got)
	}
}

// Credentials in the configuration authenticate with the server.
func TestAuthenticatesWithServer(t *testing.T) {
	s := storagetest.Open(t, "sqlite")
	ctx := context.Background()
	sink := mailtest.Start(t)
	sink.RequireAuth("forum", "s3cret pass")
	cfg, err := mail.ParseURL("smtp://forum:s3cret%20pass@" + strings.TrimPrefix(sink.URL(), "smtp://"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.From = "forum@forum.test"
	if err := s.EnqueueMail(ctx, newMail(3)); err != nil {
		t.Fatal(err)
	}
	runWorker(t, &mail.Worker{Store: s, Config: cfg, Log: quietLog()})
	sink.Wait(t, 1, 10*time.Second)
	waitEmptyQueue(t, s)
}
