// Package httpx is the HTTP plumbing the enrichment clients (llm, search, vendors) share: a
// Transport that retries within a RetryPolicy and keeps API keys out of errors, and the error
// types callers match with errors.Is and errors.As. Each client keeps what is specific to its
// service: how it builds requests, reads its bodies and classifies its status codes.
package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds how long one call may keep a worker busy. The zero value is the default:
// two retries for 429/5xx/transport failures, backoff from 500ms, and no single wait over 20s.
// A Retry-After above MaxWait is not slept through: the *APIError carries it instead so the
// caller (a Temporal activity) can reschedule without holding a worker.
type RetryPolicy struct {
	MaxRetries int           // retries after the first attempt; 0 means 2, negative disables, capped at 2
	BaseDelay  time.Duration // first backoff; 0 means 500ms
	MaxWait    time.Duration // longest single wait; 0 means 20s
}

func (p RetryPolicy) normalized() RetryPolicy {
	switch {
	case p.MaxRetries == 0:
		p.MaxRetries = 2
	case p.MaxRetries < 0:
		p.MaxRetries = 0
	case p.MaxRetries > 2:
		p.MaxRetries = 2
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 500 * time.Millisecond
	}
	if p.MaxWait <= 0 {
		p.MaxWait = 20 * time.Second
	}
	return p
}

// Transport sends requests with retries and turns failures into *APIError. It never lets the
// API key reach an error message: url.Error (whose text holds the URL) is unwrapped, and
// every service message is scrubbed. Service, Client and MaxBody are required; a nil func
// field takes the default its comment names.
type Transport struct {
	Service string // names the service in errors: "llm", "searxng", "hunter", "pdl"
	Client  *http.Client
	Secret  string         // the API key, redacted raw and query-escaped; may be empty
	Redact  *regexp.Regexp // other echoes of a key to redact, e.g. a masked one; may be nil
	Retry   RetryPolicy
	MaxBody int64 // a longer answer is an upstream failure

	// ParseError reads an error body; nil leaves Code and Param empty.
	ParseError func(status int, body []byte) (code, param, message string)
	// Classify maps an error answer to a Kind; nil is ClassifyStatus.
	Classify func(status int, code string) Kind
	// WaitHint reads how long the service asked us to wait; nil is RetryAfter.
	WaitHint func(h http.Header, now time.Time) time.Duration
	// Sleep waits between attempts; nil waits on a timer. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Response is an answer below 400.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends the request build makes (once per attempt, so bodies can be re-read) and returns
// any answer below 400; everything else is an *APIError or wraps the context's error.
func (t *Transport) Do(ctx context.Context, build func(context.Context) (*http.Request, error)) (*Response, error) {
	retry := t.Retry.normalized()
	sleep := t.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	for attempt := 0; ; attempt++ {
		resp, apiErr := t.once(ctx, build)
		if apiErr == nil {
			return resp, nil
		}
		var ae *APIError
		if !errors.As(apiErr, &ae) || !ae.Retryable() || attempt >= retry.MaxRetries {
			return nil, apiErr
		}
		wait := ae.RetryAfter
		if wait == 0 {
			wait = backoff(retry.BaseDelay, attempt)
		}
		if wait > retry.MaxWait {
			return nil, apiErr
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s: %w", t.Service, err)
		}
	}
}

func (t *Transport) once(ctx context.Context, build func(context.Context) (*http.Request, error)) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", t.Service, err)
	}
	req, err := build(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: building request: %s", t.Service, t.Scrub(err.Error()))
	}
	res, err := t.Client.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s: %w", t.Service, ctxErr)
		}
		// url.Error's text includes the request URL; keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &APIError{Service: t.Service, Kind: KindUpstream, Message: "request failed: " + t.Scrub(err.Error()), Err: err}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, t.MaxBody+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s: %w", t.Service, ctxErr)
		}
		return nil, &APIError{Service: t.Service, Kind: KindUpstream, StatusCode: res.StatusCode,
			Message: "reading response: " + t.Scrub(err.Error()), Err: err}
	}
	if int64(len(body)) > t.MaxBody {
		return nil, &APIError{Service: t.Service, Kind: KindUpstream, StatusCode: res.StatusCode,
			Message: fmt.Sprintf("response larger than %d bytes", t.MaxBody)}
	}
	if res.StatusCode < 400 {
		return &Response{Status: res.StatusCode, Header: res.Header, Body: body}, nil
	}
	var code, param, msg string
	if t.ParseError != nil {
		code, param, msg = t.ParseError(res.StatusCode, body)
	}
	if msg == "" {
		msg = http.StatusText(res.StatusCode)
	}
	kind := ClassifyStatus(res.StatusCode)
	if t.Classify != nil {
		kind = t.Classify(res.StatusCode, code)
	}
	wait := RetryAfter(res.Header, time.Now())
	if t.WaitHint != nil {
		wait = t.WaitHint(res.Header, time.Now())
	}
	return nil, &APIError{
		Service:    t.Service,
		Kind:       kind,
		StatusCode: res.StatusCode,
		Code:       t.Scrub(code),
		Param:      t.Scrub(param),
		Message:    t.Scrub(Shorten(msg, 500)),
		RetryAfter: wait,
	}
}

// Scrub removes the key from text that may echo it (a service message, a transport error).
func (t *Transport) Scrub(s string) string {
	if t.Secret != "" {
		s = strings.ReplaceAll(s, t.Secret, "[redacted]")
		s = strings.ReplaceAll(s, url.QueryEscape(t.Secret), "[redacted]")
	}
	if t.Redact != nil {
		s = t.Redact.ReplaceAllString(s, "[redacted]")
	}
	return s
}

// ClassifyStatus is the usual HTTP mapping; services adjust it through Transport.Classify.
func ClassifyStatus(status int) Kind {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindUnauthorized
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusPaymentRequired:
		return KindQuotaExceeded
	case status == http.StatusRequestTimeout || status >= 500:
		return KindUpstream
	default:
		return KindBadRequest
	}
}

// RetryAfter reads Retry-After (seconds or an HTTP date) and Azure/OpenAI's retry-after-ms.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 1e9 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 || secs > 1e6 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

// backoff doubles per attempt with jitter, so parallel workers do not retry in lockstep.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << attempt
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Shorten trims s to at most n bytes (plus an ellipsis) without splitting a UTF-8 sequence.
func Shorten(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
