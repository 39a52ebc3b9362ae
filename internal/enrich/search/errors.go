package search

import "github.com/lanternhq/lantern/internal/enrich/httpx"

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
	KindNotFound      = httpx.KindNotFound // no such page
	KindRateLimited   = httpx.KindRateLimited
	KindQuotaExceeded = httpx.KindQuotaExceeded
	KindUpstream      = httpx.KindUpstream
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
)
