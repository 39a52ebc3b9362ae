package coalesce

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBatchesConcurrentCallersAndKeepsOrder(t *testing.T) {
	var runs atomic.Int32
	release := make(chan struct{})
	c := New(func(ctx context.Context, key string, ins []struct{}) ([]int, error) {
		n := len(ins)
		if runs.Add(1) == 1 {
			<-release // hold the first batch so the others pile up behind it
		}
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}, time.Second)
	first := make(chan int)
	go func() { r, _ := c.Do(context.Background(), "k", struct{}{}); first <- r }()
	time.Sleep(50 * time.Millisecond)
	var wg sync.WaitGroup
	got := make([]int, 20)
	for i := range 20 {
		wg.Go(func() {
			r, err := c.Do(context.Background(), "k", struct{}{})
			if err != nil {
				t.Error(err)
			}
			got[i] = r
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if r := <-first; r != 0 {
		t.Fatalf("first caller got %d", r)
	}
	if n := runs.Load(); n != 2 {
		t.Fatalf("%d runs for 21 callers, want 2 (one, then the 20 that waited)", n)
	}
	seen := map[int]bool{}
	for _, r := range got {
		seen[r] = true
	}
	if len(seen) != 20 {
		t.Fatalf("callers did not get distinct positions: %v", got)
	}
}

func TestCallAfterABatchStartedGetsAFreshRun(t *testing.T) {
	var value atomic.Int32
	c := New(func(ctx context.Context, key int, ins []struct{}) ([]int32, error) {
		n := len(ins)
		out := make([]int32, n)
		for i := range out {
			out[i] = value.Load()
		}
		return out, nil
	}, time.Second)
	for i := range int32(5) {
		value.Store(i)
		if r, _ := c.Do(context.Background(), 1, struct{}{}); r != i {
			t.Fatalf("got %d, want %d: a result older than the call", r, i)
		}
	}
}

func TestErrorsReachEveryCallerAndKeysAreIndependent(t *testing.T) {
	boom := errors.New("boom")
	c := New(func(ctx context.Context, key string, ins []struct{}) ([]int, error) {
		n := len(ins)
		if key == "bad" {
			return nil, boom
		}
		return make([]int, n), nil
	}, time.Second)
	if _, err := c.Do(context.Background(), "bad", struct{}{}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Do(context.Background(), "good", struct{}{}); err != nil {
		t.Fatalf("good key: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slow := New(func(ctx context.Context, key string, ins []struct{}) ([]int, error) {
		n := len(ins)
		time.Sleep(100 * time.Millisecond)
		return make([]int, n), nil
	}, time.Second)
	if _, err := slow.Do(ctx, "x", struct{}{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
}
