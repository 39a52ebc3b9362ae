// Package apperr is Lantern's one error type. Domain packages return *Error with a stable
// Code; the API maps codes to HTTP statuses in one table (api/errors.go). Anything that is not
// an *Error is internal: its text is logged, never shown to a client.
package apperr

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error class. Clients switch on it.
type Code string

const (
	Invalid             Code = "invalid_input"
	Unauthorized        Code = "unauthorized"
	NotFound            Code = "not_found"
	Conflict            Code = "conflict"
	RateLimited         Code = "rate_limited"
	InsufficientCredits Code = "insufficient_credits"
	Unavailable         Code = "upstream_unavailable"
	NotConfigured       Code = "not_configured" // the feature needs a setting this server lacks
	Internal            Code = "internal"
)

// Error is an error a client may see. Message is written for the client; Field names the input
// at fault (for example "query.limit") when there is one; Err is the cause, kept for logs.
type Error struct {
	Code    Code
	Message string
	Field   string
	Err     error
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with a code and a client-facing message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field returns an invalid_input error that names the input at fault.
func Field(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap keeps cause for logs behind a client-facing message.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CodeOf is the code of err: its *Error's code, or Internal for anything else.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := As(err); ok {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }
