// Package coalesce batches concurrent calls with the same key into one run ("group commit").
//
// A caller joins the batch that has not started yet; the batch starts when the previous one
// for its key finishes. So a result is never older than the call that receives it, and under
// load one database round trip serves many requests instead of each queueing for its own.
// Hot paths that touch one row per key (rate-limit counters, an org's balance) use it.
package coalesce

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Func runs one batch for key: ins holds each caller's input in arrival order, and it returns
// one result per caller, in the same order.
type Func[K comparable, I, R any] func(ctx context.Context, key K, ins []I) ([]R, error)

// Coalescer runs Func for batches of callers.
type Coalescer[K comparable, I, R any] struct {
	run     Func[K, I, R]
	timeout time.Duration

	mu   sync.Mutex
	open map[K]*batch[I, R] // the batch still taking callers, per key
	busy map[K]bool         // keys with a batch running
}

type batch[I, R any] struct {
	ins  []I
	done chan struct{}
	res  []R
	err  error
}

// New returns a Coalescer running one batch per key at a time; each batch runs with its own
// timeout, since it serves many callers and must not die with the first one's context.
func New[K comparable, I, R any](run Func[K, I, R], timeout time.Duration) *Coalescer[K, I, R] {
	return &Coalescer[K, I, R]{run: run, timeout: timeout, open: map[K]*batch[I, R]{}, busy: map[K]bool{}}
}

// Do joins the next batch for key with this caller's input and returns this caller's result.
func (c *Coalescer[K, I, R]) Do(ctx context.Context, key K, in I) (R, error) {
	c.mu.Lock()
	b := c.open[key]
	if b == nil {
		b = &batch[I, R]{done: make(chan struct{})}
		c.open[key] = b
	}
	i := len(b.ins)
	b.ins = append(b.ins, in)
	start := !c.busy[key]
	c.busy[key] = true
	c.mu.Unlock()
	if start {
		go c.drain(key)
	}
	select {
	case <-b.done:
		if b.err != nil {
			var zero R
			return zero, b.err
		}
		return b.res[i], nil
	case <-ctx.Done():
		var zero R
		return zero, ctx.Err()
	}
}

// drain runs batches for key until no caller is waiting.
func (c *Coalescer[K, I, R]) drain(key K) {
	for {
		c.mu.Lock()
		b := c.open[key]
		if b == nil {
			delete(c.busy, key)
			c.mu.Unlock()
			return
		}
		delete(c.open, key)
		c.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		b.res, b.err = c.run(ctx, key, b.ins)
		cancel()
		if b.err == nil && len(b.res) != len(b.ins) {
			b.err = errShort
		}
		close(b.done)
	}
}

var errShort = errors.New("coalesce: batch returned fewer results than callers")
