package httpx_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/enrich/httpx"
)

func TestAPIErrorMatchesItsKindOnly(t *testing.T) {
	sentinels := map[httpx.Kind]error{
		httpx.KindBadRequest: httpx.ErrBadRequest, httpx.KindUnauthorized: httpx.ErrUnauthorized,
		httpx.KindNotFound: httpx.ErrNotFound, httpx.KindRateLimited: httpx.ErrRateLimited,
		httpx.KindQuotaExceeded: httpx.ErrQuotaExceeded, httpx.KindUpstream: httpx.ErrUpstream,
		httpx.KindPending: httpx.ErrPending,
	}
	retryable := map[httpx.Kind]bool{httpx.KindRateLimited: true, httpx.KindUpstream: true, httpx.KindPending: true}
	for kind := range sentinels {
		err := fmt.Errorf("wrapped: %w", &httpx.APIError{Service: "svc", Kind: kind})
		for other, sentinel := range sentinels {
			if errors.Is(err, sentinel) != (other == kind) {
				t.Errorf("%s: errors.Is(%v) = %v", kind, sentinel, !(other == kind))
			}
		}
		var ae *httpx.APIError
		if !errors.As(err, &ae) || ae.Retryable() != retryable[kind] {
			t.Errorf("%s: Retryable() = %v", kind, ae.Retryable())
		}
		if errors.Is(err, httpx.ErrNotConfigured) || errors.Is(err, httpx.ErrInvalidConfig) {
			t.Errorf("%s: an API error is not a configuration error", kind)
		}
	}
}

func TestAPIErrorUnwrapsItsCause(t *testing.T) {
	own := errors.New("svc: a client's own sentinel")
	err := &httpx.APIError{Service: "svc", Kind: httpx.KindUnauthorized, Err: own}
	if !errors.Is(err, own) || !errors.Is(err, httpx.ErrUnauthorized) {
		t.Errorf("err = %v", err)
	}
}

func TestAPIErrorMessage(t *testing.T) {
	err := &httpx.APIError{Service: "pdl", Kind: httpx.KindRateLimited, StatusCode: 429, Code: "rate_limit_error",
		Param: "not shown", Message: "slow down", RetryAfter: 3 * time.Second}
	if got := err.Error(); got != "pdl: HTTP 429 rate_limited (rate_limit_error): slow down; retry after 3s" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&httpx.APIError{Service: "llm", Kind: httpx.KindUpstream}).Error(); got != "llm: upstream" {
		t.Errorf("Error() = %q", got)
	}
}

func TestConfigError(t *testing.T) {
	missing := httpx.Missing("hunter", "APIKey")
	if missing.Error() != "hunter: APIKey is empty" || !errors.Is(missing, httpx.ErrNotConfigured) || errors.Is(missing, httpx.ErrInvalidConfig) {
		t.Errorf("missing: %v", missing)
	}
	invalid := &httpx.ConfigError{Service: "llm", Field: "BaseURL", Problem: "must be an http(s) URL"}
	if invalid.Error() != "llm: BaseURL must be an http(s) URL" || !errors.Is(invalid, httpx.ErrInvalidConfig) || errors.Is(invalid, httpx.ErrNotConfigured) {
		t.Errorf("invalid: %v", invalid)
	}
}

func TestParseBaseURL(t *testing.T) {
	u, err := httpx.ParseBaseURL("svc", " https://api.example.com/v1/ ", "")
	if err != nil || u.String() != "https://api.example.com/v1" {
		t.Fatalf("u = %v, err = %v", u, err)
	}
	var ce *httpx.ConfigError
	if _, err := httpx.ParseBaseURL("svc", "  ", "x"); !errors.Is(err, httpx.ErrNotConfigured) || !errors.As(err, &ce) || ce.Field != "BaseURL" {
		t.Errorf("empty: %v", err)
	}
	for _, raw := range []string{"api.example.com", "ftp://api.example.com", "http://", "http://a b"} {
		_, err := httpx.ParseBaseURL("svc", raw, "http://searxng:8080")
		if !errors.Is(err, httpx.ErrInvalidConfig) || err.Error() != "svc: BaseURL must be an http(s) URL such as http://searxng:8080" {
			t.Errorf("%q: %v", raw, err)
		}
	}
}
