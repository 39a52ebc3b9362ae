package search

import (
	"context"
	"time"
)

// SetSleep replaces the retry wait so tests neither sleep nor guess how long they slept.
func SetSleep(c *Client, f func(context.Context, time.Duration) error) { c.t.Sleep = f }

// ParseResponse exposes the body parser to the fuzz target.
func ParseResponse(body []byte) (Response, error) { return parseResponse(body) }
