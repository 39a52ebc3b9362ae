package vendors

import (
	"errors"

	"github.com/lanternhq/lantern/internal/enrich/httpx"
)

// The transport and its errors are shared with the other enrichment clients; these names keep
// this package's API. Every error returned after a request was sent is an *APIError (or wraps
// ctx.Err()), and errors.Is(err, ErrRateLimited) etc. classify it.
type (
	RetryPolicy = httpx.RetryPolicy
	APIError    = httpx.APIError
	ConfigError = httpx.ConfigError
	Kind        = httpx.Kind
)

const (
	KindBadRequest    = httpx.KindBadRequest
	KindUnauthorized  = httpx.KindUnauthorized
	KindNotFound      = httpx.KindNotFound // no match: a normal answer, not an outage
	KindRateLimited   = httpx.KindRateLimited
	KindQuotaExceeded = httpx.KindQuotaExceeded
	KindUpstream      = httpx.KindUpstream
	KindPending       = httpx.KindPending // Hunter 202/222: ask again later
)

var (
	ErrNotConfigured = httpx.ErrNotConfigured
	ErrInvalidConfig = httpx.ErrInvalidConfig
	ErrBadRequest    = httpx.ErrBadRequest
	ErrUnauthorized  = httpx.ErrUnauthorized
	ErrNotFound      = httpx.ErrNotFound
	ErrRateLimited   = httpx.ErrRateLimited
	ErrQuotaExceeded = httpx.ErrQuotaExceeded
	ErrUpstream      = httpx.ErrUpstream
	// ErrPending: Hunter is still verifying (HTTP 202) or the mail server did not answer in
	// time (HTTP 222); the same call later will have an answer.
	ErrPending = httpx.ErrPending
)

// ErrBadInput: the input lacks what the vendor needs; nothing was sent or billed.
var ErrBadInput = errors.New("vendors: not enough input")
