package httpx

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Sentinels for errors.Is. Every error a Transport returns after a request was sent is an
// *APIError (or wraps ctx.Err()), and errors.Is(err, ErrRateLimited) etc. classify it. The
// clients re-export them. They carry no service name because they are only matched, never
// shown: APIError and ConfigError write their own messages, which name the service.
var (
	// ErrNotConfigured: a required setting is empty; *ConfigError.Field names it.
	ErrNotConfigured = errors.New("not configured")
	// ErrInvalidConfig: a setting is present but unusable (for example a BaseURL without a host).
	ErrInvalidConfig = errors.New("invalid configuration")

	ErrBadRequest    = errors.New("request rejected")
	ErrUnauthorized  = errors.New("unauthorized")
	ErrNotFound      = errors.New("not found")
	ErrRateLimited   = errors.New("rate limited")
	ErrQuotaExceeded = errors.New("quota exceeded")
	ErrUpstream      = errors.New("upstream failure")
	ErrPending       = errors.New("result not ready, retry later")
)

// ConfigError names the setting at fault so the caller can tell the operator what to set.
type ConfigError struct {
	Service string // "llm", "searxng", "hunter", "pdl"
	Field   string // e.g. BaseURL or APIKey
	Problem string // "is empty" or what is wrong with the value
	missing bool
}

func (e *ConfigError) Error() string { return e.Service + ": " + e.Field + " " + e.Problem }

func (e *ConfigError) Is(target error) bool {
	return (target == ErrNotConfigured && e.missing) || (target == ErrInvalidConfig && !e.missing)
}

// Missing is the *ConfigError for an empty setting; it matches ErrNotConfigured. Any other
// *ConfigError matches ErrInvalidConfig.
func Missing(service, field string) *ConfigError {
	return &ConfigError{Service: service, Field: field, Problem: "is empty", missing: true}
}

// ParseBaseURL checks a BaseURL setting and returns it without a trailing slash. Empty is
// Missing; anything but an http(s) URL with a host is a *ConfigError that shows example, if
// given, as a valid value.
func ParseBaseURL(service, raw, example string) (*url.URL, error) {
	base := strings.TrimSpace(raw)
	if base == "" {
		return nil, Missing(service, "BaseURL")
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problem := "must be an http(s) URL"
		if example != "" {
			problem += " such as " + example
		}
		return nil, &ConfigError{Service: service, Field: "BaseURL", Problem: problem}
	}
	return u, nil
}

// Kind is what went wrong, in terms a caller can act on.
type Kind string

const (
	KindBadRequest    Kind = "bad_request"    // 400/422: the request is wrong
	KindUnauthorized  Kind = "unauthorized"   // 401/403: the key is missing, wrong or lacks access
	KindNotFound      Kind = "not_found"      // 404: no such thing
	KindRateLimited   Kind = "rate_limited"   // 429: try again after RetryAfter
	KindQuotaExceeded Kind = "quota_exceeded" // out of credits: retrying soon will not help
	KindUpstream      Kind = "upstream"       // 5xx, timeouts, unreadable answers: an outage
	KindPending       Kind = "pending"        // accepted but not answered yet: ask again later
)

// APIError is a failed exchange with the service. Message never contains the API key.
type APIError struct {
	Service    string // "llm", "searxng", "hunter", "pdl"
	Kind       Kind
	StatusCode int           // 0 when no HTTP answer arrived
	Code       string        // the service's error code or type, e.g. "invalid_api_key"
	Param      string        // the request parameter the service blamed, if it said
	Message    string        // the service's message
	RetryAfter time.Duration // how long the service asked us to wait, if it said
	Err        error         // the cause, if any: a transport error or a client's own sentinel
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
