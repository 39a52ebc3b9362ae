package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/lanternhq/lantern/internal/apperr"
)

// statusOf maps each error code to its HTTP status: the one table that does so.
var statusOf = map[apperr.Code]int{
	apperr.Invalid:             http.StatusUnprocessableEntity,
	apperr.Unauthorized:        http.StatusUnauthorized,
	apperr.NotFound:            http.StatusNotFound,
	apperr.Conflict:            http.StatusConflict,
	apperr.RateLimited:         http.StatusTooManyRequests,
	apperr.InsufficientCredits: http.StatusPaymentRequired,
	apperr.Unavailable:         http.StatusServiceUnavailable,
	apperr.NotConfigured:       http.StatusNotImplemented,
	apperr.Internal:            http.StatusInternalServerError,
}

// codeOf is the inverse for errors Huma raises itself (validation, bad JSON, 404 routes).
func codeOf(status int) apperr.Code {
	for c, s := range statusOf {
		if s == status {
			return c
		}
	}
	switch {
	case status == http.StatusBadRequest, status == http.StatusRequestEntityTooLarge,
		status == http.StatusUnsupportedMediaType, status == http.StatusNotAcceptable,
		status == http.StatusMethodNotAllowed:
		return apperr.Invalid
	case status == http.StatusForbidden:
		return apperr.Unauthorized
	case status >= 500 && status != http.StatusInternalServerError && status != http.StatusNotImplemented:
		return apperr.Unavailable
	case status >= 500:
		return apperr.Internal
	}
	return apperr.Invalid
}

// Problem is every error body: RFC 9457 problem details plus success, code and request_id.
type Problem struct {
	Success   bool                `json:"success" doc:"Always false on errors"`
	Code      apperr.Code         `json:"code" enum:"invalid_input,unauthorized,not_found,conflict,rate_limited,insufficient_credits,upstream_unavailable,not_configured,internal" doc:"Stable machine-readable error code"`
	RequestID string              `json:"request_id" doc:"The X-Request-ID of the request, for support"`
	Type      string              `json:"type,omitempty" format:"uri" default:"about:blank"`
	Title     string              `json:"title" doc:"Short summary of the problem type"`
	Status    int                 `json:"status" doc:"HTTP status code"`
	Detail    string              `json:"detail" doc:"What went wrong, naming the field when there is one"`
	Errors    []*huma.ErrorDetail `json:"errors,omitempty" doc:"Each invalid field"`
}

func (p *Problem) Error() string  { return p.Detail }
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes problems application/problem+json, as RFC 9457 asks.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

func init() {
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		return newProblem(context.Background(), status, msg, errs...)
	}
	huma.NewErrorWithContext = func(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
		return newProblem(ctx.Context(), status, msg, errs...)
	}
}

// newProblem builds the error body. An *apperr.Error among errs decides the status and the
// message; anything else at status 500 is logged with the request id and shown as a generic
// message, so internal error text never reaches a client.
func newProblem(ctx context.Context, status int, msg string, errs ...error) *Problem {
	p := &Problem{RequestID: RequestIDFrom(ctx)}
	var details []*huma.ErrorDetail
	for _, err := range errs {
		if err == nil {
			continue
		}
		if ae, ok := apperr.As(err); ok {
			status, msg = statusOf[ae.Code], ae.Message
			if ae.Field != "" {
				msg = ae.Field + ": " + ae.Message
				details = append(details, &huma.ErrorDetail{Location: ae.Field, Message: ae.Message})
			}
			if ae.Code == apperr.Internal || ae.Code == apperr.Unavailable {
				slog.ErrorContext(ctx, "request failed", "request_id", p.RequestID, "code", ae.Code, "err", err)
			}
			continue
		}
		var d huma.ErrorDetailer
		if errors.As(err, &d) {
			details = append(details, namedField(d.ErrorDetail()))
			continue
		}
		if status >= 500 {
			slog.ErrorContext(ctx, "request failed", "request_id", p.RequestID, "err", err)
			continue
		}
		details = append(details, &huma.ErrorDetail{Message: err.Error()})
	}
	if status == 0 {
		status = http.StatusInternalServerError
	}
	p.Status = status
	p.Code = codeOf(status)
	p.Title = http.StatusText(status)
	p.Errors = details
	switch {
	case p.Code == apperr.Internal:
		p.Detail = "internal error; quote request_id " + p.RequestID + " when reporting it"
	case len(details) > 0 && (msg == "validation failed" || msg == ""):
		p.Detail = "validation failed: " + describe(details)
	default:
		p.Detail = msg
	}
	return p
}

// namedField points a missing-property error at the property itself ("body.instruction")
// rather than at its parent ("body"), so that every error names the field a client must fix.
func namedField(d *huma.ErrorDetail) *huma.ErrorDetail {
	if prop, ok := strings.CutPrefix(d.Message, "expected required property "); ok {
		if name, ok := strings.CutSuffix(prop, " to be present"); ok {
			c := *d
			c.Location = d.Location + "." + name
			return &c
		}
	}
	return d
}

// describe names each invalid field: "query.limit: expected number <= 10000".
func describe(details []*huma.ErrorDetail) string {
	parts := make([]string, 0, len(details))
	for _, d := range details {
		if d.Location != "" {
			parts = append(parts, fmt.Sprintf("%s: %s", d.Location, d.Message))
		} else {
			parts = append(parts, d.Message)
		}
	}
	return strings.Join(parts, "; ")
}
