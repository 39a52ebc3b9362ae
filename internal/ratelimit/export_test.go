package ratelimit

import "time"

// RetryAfter and Fits expose the Retry-After arithmetic to the tests.
var RetryAfter = retryAfter

// Fits reports whether one more call fits wait after elapsed, as Take would judge it then.
func Fits(limit, current, previous int, elapsed, wait time.Duration) bool {
	into, cur, prev := elapsed+wait, current, previous
	if into >= Window {
		into, cur, prev = into-Window, 0, current
	}
	return fits(limit, cur, prev, into)
}
