package worker

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestSignalCoalescesAndNeverBlocks(t *testing.T) {
	s := NewSignal()
	s.Notify()
	s.Notify() // would block forever if Notify waited for a reader
	<-s
	select {
	case <-s:
		t.Fatal("two notifications before a read woke the worker twice")
	default:
	}
}

func TestLoopRunsAgainAtOnceWhenThereIsMoreAndWakesOnSignal(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	wake := NewSignal()
	passes := 0
	// The ticker never fires within the test: every pass after the
	// third runs only because of the previous pass's result or the wake.
	Loop(ctx, time.Hour, wake, func(context.Context) bool {
		passes++
		switch passes {
		case 1, 2:
			return true
		case 3:
			wake.Notify()
		default:
			cancel()
		}
		return false
	})
	if passes != 4 {
		t.Fatalf("passes = %d, want 4 (two full batches, one drained pass, one after the wake)", passes)
	}
}

func TestBatchesGroupsUpToTheLimitAndFlushesTheRestOnClose(t *testing.T) {
	results := make(chan int, 5)
	for i := range 5 {
		results <- i
	}
	close(results)
	var got [][]int
	// The delay never passes: batches end at the limit or at the close.
	Batches(results, time.Hour, 2, func(b []int) { got = append(got, slices.Clone(b)) })
	want := [][]int{{0, 1}, {2, 3}, {4}}
	if !slices.EqualFunc(got, want, slices.Equal[[]int]) {
		t.Fatalf("batches = %v, want %v", got, want)
	}
}

func TestGatherWithoutLingerTakesOnlyWhatWaits(t *testing.T) {
	ch := make(chan int, 4)
	ch <- 1
	ch <- 2
	// Nothing else arrives: without a linger Gather must not wait for
	// the channel's other two places.
	if got := Gather([]int{0}, ch, 10, nil); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("gathered %v, want [0 1 2]", got)
	}
	ch <- 3
	ch <- 4
	ch <- 5
	if got := Gather(nil, ch, 2, nil); !slices.Equal(got, []int{3, 4}) {
		t.Fatalf("gathered %v, want the first two, [3 4]", got)
	}
}
