package batch

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
)

// Retry is how often and how patiently one record is retried.
type Retry struct {
	Attempts int           // tries per record, at least 1
	Backoff  time.Duration // wait before the second try; doubles after each
}

// Retryable reports whether retrying a record's error can help: invalid input and an
// exhausted budget cannot.
func Retryable(err error) bool {
	switch apperr.CodeOf(err) {
	case apperr.Invalid, apperr.InsufficientCredits, apperr.NotConfigured, apperr.NotFound:
		return false
	}
	return true
}

// Each calls fn for every index in [0, n) with at most concurrency calls at once, retrying
// each with backoff while the error is Retryable. The last error of each index is passed to
// done (nil on success) as soon as that index is finished. Each stops starting new work when
// ctx ends or stop returns true.
func Each(ctx context.Context, n, concurrency int, r Retry, stop func() bool, fn func(ctx context.Context, i int) error, done func(i int, err error)) {
	concurrency = max(1, min(concurrency, n))
	r.Attempts = max(1, r.Attempts)
	next := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				var err error
				wait := r.Backoff
				for attempt := 1; ; attempt++ {
					if err = fn(ctx, i); err == nil || attempt >= r.Attempts || !Retryable(err) || ctx.Err() != nil {
						break
					}
					// Jitter keeps parallel records from retrying a struggling provider in lockstep.
					t := time.NewTimer(wait/2 + rand.N(wait/2+1))
					select {
					case <-ctx.Done():
					case <-t.C:
					}
					t.Stop()
					wait *= 2
				}
				done(i, err)
			}
		})
	}
	for i := 0; i < n; i++ {
		if ctx.Err() != nil || (stop != nil && stop()) {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}
