package main

import (
	"context"
	"slices"
	"testing"
	"time"
)

// The post counts are read conditionally: a thread that has not changed
// since its last read answers 304 and keeps its count, and one that has
// answers with the new count.
func TestThreadCountsAreConditional(t *testing.T) {
	tg, _ := startNode(t, "")
	ctx := context.Background()
	client := newClient(4)
	threads := tg.Manifest.Threads[:3]
	tc := newThreadCounts(client, tg.Base, threads)
	first, err := tc.read(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, th := range threads {
		if first[i] != th.Posts {
			t.Fatalf("thread %s: count %d, the seed wrote %d", th.ID, first[i], th.Posts)
		}
	}
	again, err := tc.read(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again, first) || tc.Gets.Load() != 6 || tc.NotModified.Load() != 3 {
		t.Fatalf("second read: %v (first %v), %d GETs, %d answered 304", again, first, tc.Gets.Load(), tc.NotModified.Load())
	}
	// A reply in the second thread changes its count, and only its.
	if err := postReply(ctx, tg, threads[1].ID, "one more"); err != nil {
		t.Fatal(err)
	}
	after, err := tc.read(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(first)
	want[1]++
	if !slices.Equal(after, want) || tc.NotModified.Load() != 5 {
		t.Fatalf("after a reply: %v, want %v; %d answered 304", after, want, tc.NotModified.Load())
	}
	// awaitVisible asks every thread once, then only the ones still short
	// of their posts (here the second, which waits for a post that never
	// comes until the settle passes), then every thread once for the
	// counts it returns: a few reads of one thread between two rounds of
	// three, not three a round.
	gets := tc.Gets.Load()
	counts, more, _, err := awaitVisible(ctx, tc, first, []int64{0, 2, 0}, 600*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if more != 1 || !slices.Equal(counts, want) {
		t.Fatalf("awaitVisible: %d more, counts %v, want 1 and %v", more, counts, want)
	}
	if got := tc.Gets.Load() - gets - 6; got < 1 || got > 5 {
		t.Fatalf("awaitVisible read the short thread %d times between its first and last rounds", got)
	}
}

// The watcher reads a thread only while a request written for it has not
// shown as a post yet; the samples still have every thread at every tick.
func TestWatchReadsOnlyThreadsWithRequestsOutstanding(t *testing.T) {
	tg, _ := startNode(t, "")
	ctx := context.Background()
	tc := newThreadCounts(newClient(2), tg.Base, tg.Manifest.Threads[:2])
	start, err := tc.read(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	gets := tc.Gets.Load()
	sent := make(sentCounts, 2)
	watch := watchVisible(ctx, tc, start, 10*time.Millisecond, sent)
	time.Sleep(200 * time.Millisecond)
	// The first tick reads both threads; nothing was sent, so no other.
	if got := tc.Gets.Load() - gets; got != 2 {
		t.Fatalf("%d reads with nothing outstanding, want the first tick's 2", got)
	}
	sent.add(0, 1)
	if err := postReply(ctx, tg, tg.Manifest.Threads[0].ID, "seen by the watcher"); err != nil {
		t.Fatal(err)
	}
	// Wait (with a reader of its own) until the post shows, and a few ticks
	// more.
	probe := newThreadCounts(newClient(1), tg.Base, tg.Manifest.Threads[:1])
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if c, err := probe.read(ctx, nil); err != nil || c[0] > start[0] {
			break
		}
	}
	time.Sleep(100 * time.Millisecond)
	samples := watch()
	reads := tc.Gets.Load() - gets - 2
	for i, want := range []int64{1, 0} {
		s := samples[i]
		if len(s) < 10 || s[len(s)-1].n != want {
			t.Fatalf("thread %d: %d samples, last %+v, want %d new", i, len(s), s[len(s)-1], want)
		}
	}
	// Thread 0 was read until its post showed, thread 1 never again.
	if reads < 1 || int(reads) >= len(samples[0]) {
		t.Fatalf("%d reads after the first tick over %d ticks", reads, len(samples[0]))
	}
}
