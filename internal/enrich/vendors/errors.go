package vendors

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinels for errors.Is. Every error returned after a request was sent is an *APIError (or
// wraps ctx.Err()), and errors.Is(err, ErrRateLimited) etc. classify it.
var (
	// ErrNotConfigured: a required setting is empty; *ConfigError.Field names it.
	ErrNotConfigured = errors.New("vendors: not configured")
	// ErrInvalidConfig: a setting is present but unusable (for example a BaseURL without a host).
	ErrInvalidConfig = errors.New("vendors: invalid configuration")

	ErrBadRequest    = errors.New("vendors: request rejected")
	ErrUnauthorized  = errors.New("vendors: unauthorized")
	ErrNotFound      = errors.New("vendors: not found")
	ErrRateLimited   = errors.New("vendors: rate limited")
	ErrQuotaExceeded = errors.New("vendors: quota exceeded")
	ErrUpstream      = errors.New("vendors: upstream failure")
	// ErrPending: Hunter is still verifying (HTTP 202) or the mail server did not answer in
	// time (HTTP 222); the same call later will have an answer.
	ErrPending = errors.New("vendors: result not ready, retry later")
	// ErrBadInput: the input lacks what the vendor needs; nothing was sent or billed.
	ErrBadInput = errors.New("vendors: not enough input")
)

// ConfigError names the setting at fault so the caller can tell the operator what to set.
type ConfigError struct {
	Service string // "hunter" or "pdl"
	Field   string // BaseURL or APIKey
	Problem string // "is empty" or what is wrong with the value
	missing bool
}

func (e *ConfigError) Error() string { return e.Service + ": " + e.Field + " " + e.Problem }

func (e *ConfigError) Is(target error) bool {
	return (target == ErrNotConfigured && e.missing) || (target == ErrInvalidConfig && !e.missing)
}

func missing(service, field string) *ConfigError {
	return &ConfigError{Service: service, Field: field, Problem: "is empty", missing: true}
}

// Kind is what went wrong, in terms a caller can act on.
type Kind string

const (
	KindBadRequest    Kind = "bad_request"    // 400/422: the request is wrong
	KindUnauthorized  Kind = "unauthorized"   // 401/403: the key is missing, wrong or lacks access
	KindNotFound      Kind = "not_found"      // no match: a normal answer, not an outage
	KindRateLimited   Kind = "rate_limited"   // 429: try again after RetryAfter
	KindQuotaExceeded Kind = "quota_exceeded" // out of credits: retrying soon will not help
	KindUpstream      Kind = "upstream"       // 5xx, timeouts, unreadable answers: an outage
	KindPending       Kind = "pending"        // Hunter 202/222: ask again later
)

// APIError is a failed exchange with the service. Message never contains the API key.
type APIError struct {
	Service    string // "hunter" or "pdl"
	Kind       Kind
	StatusCode int           // 0 when no HTTP answer arrived
	Code       string        // the service's error code or type, e.g. "invalid_api_key"
	Message    string        // the service's message
	RetryAfter time.Duration // how long the service asked us to wait, if it said
	Err        error         // transport cause, if any
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Service)
	b.WriteString(": ")
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "HTTP %d ", e.StatusCode)
	}
	b.WriteString(string(e.Kind))
	if e.Code != "" {
		b.WriteString(" (" + e.Code + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %s", e.RetryAfter)
	}
	return b.String()
}

func (e *APIError) Unwrap() error { return e.Err }

func (e *APIError) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.Kind == KindBadRequest
	case ErrUnauthorized:
		return e.Kind == KindUnauthorized
	case ErrNotFound:
		return e.Kind == KindNotFound
	case ErrRateLimited:
		return e.Kind == KindRateLimited
	case ErrQuotaExceeded:
		return e.Kind == KindQuotaExceeded
	case ErrUpstream:
		return e.Kind == KindUpstream
	case ErrPending:
		return e.Kind == KindPending
	}
	return false
}

// Retryable says whether the same request may succeed later without changes.
func (e *APIError) Retryable() bool {
	return e.Kind == KindRateLimited || e.Kind == KindUpstream || e.Kind == KindPending
}
