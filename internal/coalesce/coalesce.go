// Package coalesce batches concurrent calls with the same key into one run ("group commit").
//
// A caller joins the batch that has not started yet; the batch starts when the previous one
// for its key finishes. So a result is never older than the call that receives it, and under
// load one database round trip serves many requests instead of each queueing for its own.
// Hot paths that touch one row per key (rate-limit counters, an org's balance) use it.
package coalesce

import (
	"context"
	"sync"
	"time"
)

// Func runs one batch of n callers for key and returns one result per caller, in arrival order.
type Func[K comparable, R any] func(ctx context.Context, key K, n int) ([]R, error)

// Coalescer runs Func for batches of callers.
type Coalescer[K comparable, R any] struct {
	run     Func[K, R]
	timeout time.Duration

	mu   sync.Mutex
	open map[K]*batch[R] // the batch still taking callers, per key
	busy map[K]bool      // whether a batch for the key is running
}

type batch[R any] struct {
	n    int
	done chan struct{}
	res  []R
	err  error
}

// New returns a Coalescer; each batch runs with its own timeout, since it serves many callers
// and must not die with the first one's context.
func New[K comparable, R any](run Func[K, R], timeout time.Duration) *Coalescer[K, R] {
	return &Coalescer[K, R]{run: run, timeout: timeout, open: map[K]*batch[R]{}, busy: map[K]bool{}}
}

// Do joins the next batch for key and returns this caller's result.
func (c *Coalescer[K, R]) Do(ctx context.Context, key K) (R, error) {
	c.mu.Lock()
	b := c.open[key]
	if b == nil {
		b = &batch[R]{done: make(chan struct{})}
		c.open[key] = b
	}
	i := b.n
	b.n++
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
func (c *Coalescer[K, R]) drain(key K) {
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
		b.res, b.err = c.run(ctx, key, b.n)
		cancel()
		if b.err == nil && len(b.res) != b.n {
			b.err = errShort
		}
		close(b.done)
	}
}

type shortError struct{}

func (shortError) Error() string { return "coalesce: batch returned fewer results than callers" }

var errShort error = shortError{}
