package llm

import (
	"errors"
	"strings"

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
	KindBadRequest    = httpx.KindBadRequest // also a client-supplied schema the server rejects
	KindUnauthorized  = httpx.KindUnauthorized
	KindNotFound      = httpx.KindNotFound // the model or deployment does not exist
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

// Sentinels for what only a model does.
var (
	ErrInvalidSchema  = errors.New("llm: invalid JSON schema")
	ErrInvalidOutput  = errors.New("llm: output does not match the schema")
	ErrRefused        = errors.New("llm: the model refused")
	ErrTruncated      = errors.New("llm: output truncated")
	ErrContentFilter  = errors.New("llm: output withheld by the provider's content filter")
	errEmptyUserInput = errors.New("llm: Request.User is empty")
)

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
