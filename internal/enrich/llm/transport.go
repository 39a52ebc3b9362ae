package llm

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

// transport sends requests with retries and turns failures into *APIError. It never lets the
// API key reach an error message: url.Error (whose text holds the URL) is unwrapped, and
// every service message is scrubbed.
type transport struct {
	service    string
	hc         *http.Client
	secret     string
	retry      RetryPolicy
	maxBody    int64
	sleep      func(ctx context.Context, d time.Duration) error
	parseError func(status int, body []byte) (code, param, message string)
	classify   func(status int, code string) Kind
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends the request build makes (once per attempt, so bodies can be re-read) and returns
// any answer below 400; everything else is an *APIError or the context's error.
func (t *transport) do(ctx context.Context, build func(context.Context) (*http.Request, error)) (*response, error) {
	for attempt := 0; ; attempt++ {
		resp, apiErr := t.once(ctx, build)
		if apiErr == nil {
			return resp, nil
		}
		var ae *APIError
		if !errors.As(apiErr, &ae) || !ae.Retryable() || attempt >= t.retry.MaxRetries {
			return nil, apiErr
		}
		wait := ae.RetryAfter
		if wait == 0 {
			wait = backoff(t.retry.BaseDelay, attempt)
		}
		if wait > t.retry.MaxWait {
			return nil, apiErr
		}
		if err := t.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s: %w", t.service, err)
		}
	}
}

func (t *transport) once(ctx context.Context, build func(context.Context) (*http.Request, error)) (*response, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", t.service, err)
	}
	req, err := build(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: building request: %s", t.service, t.scrub(err.Error()))
	}
	res, err := t.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s: %w", t.service, ctxErr)
		}
		// url.Error's text includes the request URL; keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &APIError{Service: t.service, Kind: KindUpstream, Message: "request failed: " + t.scrub(err.Error()), Err: err}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, t.maxBody+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s: %w", t.service, ctxErr)
		}
		return nil, &APIError{Service: t.service, Kind: KindUpstream, StatusCode: res.StatusCode,
			Message: "reading response: " + t.scrub(err.Error()), Err: err}
	}
	if int64(len(body)) > t.maxBody {
		return nil, &APIError{Service: t.service, Kind: KindUpstream, StatusCode: res.StatusCode,
			Message: fmt.Sprintf("response larger than %d bytes", t.maxBody)}
	}
	if res.StatusCode < 400 {
		return &response{status: res.StatusCode, header: res.Header, body: body}, nil
	}
	code, param, msg := t.parseError(res.StatusCode, body)
	if msg == "" {
		msg = http.StatusText(res.StatusCode)
	}
	return nil, &APIError{
		Service:    t.service,
		Kind:       t.classify(res.StatusCode, code),
		StatusCode: res.StatusCode,
		Code:       t.scrub(code),
		Param:      t.scrub(param),
		Message:    t.scrub(shorten(msg, 500)),
		RetryAfter: retryAfter(res.Header, time.Now()),
	}
}

// openAIKeyHint matches OpenAI's partly masked echo of a key ("sk-proj-****abcd").
var openAIKeyHint = regexp.MustCompile(`\bsk-[A-Za-z0-9_*-]{4,}`)

// scrub removes the key from text that may echo it (a service message, a transport error).
func (t *transport) scrub(s string) string {
	if t.secret != "" {
		s = strings.ReplaceAll(s, t.secret, "[redacted]")
		s = strings.ReplaceAll(s, url.QueryEscape(t.secret), "[redacted]")
	}
	return openAIKeyHint.ReplaceAllString(s, "[redacted]")
}

// classifyStatus is the usual HTTP mapping; services adjust it through their error codes.
func classifyStatus(status int) Kind {
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

// retryAfter reads Retry-After (seconds or an HTTP date) and Azure/OpenAI's retry-after-ms.
func retryAfter(h http.Header, now time.Time) time.Duration {
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

func shorten(s string, n int) string {
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
