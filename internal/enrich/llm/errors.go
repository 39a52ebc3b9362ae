package llm

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinels for errors.Is. Every error this package returns after a request was sent is an
// *APIError (or wraps ctx.Err()), and errors.Is(err, ErrRateLimited) etc. classify it.
var (
	// ErrNotConfigured: a required setting is empty; *ConfigError.Field names it.
	ErrNotConfigured = errors.New("llm: not configured")
	// ErrInvalidConfig: a setting is present but unusable (for example a BaseURL without a host).
	ErrInvalidConfig = errors.New("llm: invalid configuration")

	ErrBadRequest     = errors.New("llm: request rejected")
	ErrUnauthorized   = errors.New("llm: unauthorized")
	ErrNotFound       = errors.New("llm: not found")
	ErrRateLimited    = errors.New("llm: rate limited")
	ErrQuotaExceeded  = errors.New("llm: quota exceeded")
	ErrUpstream       = errors.New("llm: upstream failure")
	ErrInvalidSchema  = errors.New("llm: invalid JSON schema")
	ErrInvalidOutput  = errors.New("llm: output does not match the schema")
	ErrRefused        = errors.New("llm: the model refused")
	ErrTruncated      = errors.New("llm: output truncated")
	ErrContentFilter  = errors.New("llm: output withheld by the provider's content filter")
	errEmptyUserInput = errors.New("llm: Request.User is empty")
)

// ConfigError names the setting at fault so the caller can tell the operator what to set.
type ConfigError struct {
	Field   string // BaseURL, APIKey or Model
	Problem string // "is empty" or what is wrong with the value
	missing bool
}

func (e *ConfigError) Error() string { return "llm: " + e.Field + " " + e.Problem }

func (e *ConfigError) Is(target error) bool {
	return (target == ErrNotConfigured && e.missing) || (target == ErrInvalidConfig && !e.missing)
}

func missing(field string) *ConfigError {
	return &ConfigError{Field: field, Problem: "is empty", missing: true}
}

// Kind is what went wrong, in terms a caller can act on.
type Kind string

const (
	KindBadRequest    Kind = "bad_request"    // 400/422: the request (or a client-supplied schema) is wrong
	KindUnauthorized  Kind = "unauthorized"   // 401/403: the key is missing, wrong or lacks access
	KindNotFound      Kind = "not_found"      // 404: the model or deployment does not exist
	KindRateLimited   Kind = "rate_limited"   // 429: try again after RetryAfter
	KindQuotaExceeded Kind = "quota_exceeded" // out of credits: retrying soon will not help
	KindUpstream      Kind = "upstream"       // 5xx, timeouts, unreadable answers: an outage
)

// APIError is a failed exchange with the service. Message never contains the API key.
type APIError struct {
	Service    string // "llm"
	Kind       Kind
	StatusCode int           // 0 when no HTTP answer arrived
	Code       string        // the service's error code or type, e.g. "invalid_api_key"
	Param      string        // the request parameter the service blamed, if it said
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
	}
	return false
}

// Retryable says whether the same request may succeed later without changes.
func (e *APIError) Retryable() bool {
	return e.Kind == KindRateLimited || e.Kind == KindUpstream
}

// SchemaError says why a client-supplied schema is not usable; the API reports it against
// body.schema. Reason is written for the client.
type SchemaError struct {
	Reason string
}

func (e *SchemaError) Error() string        { return "llm: schema " + e.Reason }
func (e *SchemaError) Is(target error) bool { return target == ErrInvalidSchema }

// InvalidOutputError: the model's answer still broke the schema after the repair turn.
type InvalidOutputError struct {
	Problems []string // validation errors, "at /path: message"
	Output   string   // the last answer, shortened, for logs
}

func (e *InvalidOutputError) Error() string {
	return "llm: output does not match the schema: " + strings.Join(e.Problems, "; ")
}
func (e *InvalidOutputError) Is(target error) bool { return target == ErrInvalidOutput }

// RefusalError: the model declined (structured outputs report this in message.refusal).
type RefusalError struct {
	Refusal string
}

func (e *RefusalError) Error() string        { return "llm: the model refused: " + e.Refusal }
func (e *RefusalError) Is(target error) bool { return target == ErrRefused }
