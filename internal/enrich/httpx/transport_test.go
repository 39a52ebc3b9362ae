package httpx_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/enrich/httpx"
)

const secret = "k3y/SECRET+="

// serve answers every request with the next status (the last one repeats) and counts them.
func serve(t *testing.T, header http.Header, body string, statuses ...int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(statuses[min(i, len(statuses)-1)])
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// transport records its waits instead of sleeping.
func transport(srv *httptest.Server, waits *[]time.Duration) *httpx.Transport {
	return &httpx.Transport{
		Service: "svc",
		Client:  srv.Client(),
		Secret:  secret,
		MaxBody: 1 << 10,
		Sleep: func(ctx context.Context, d time.Duration) error {
			*waits = append(*waits, d)
			return ctx.Err()
		},
	}
}

func get(url string) func(context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	}
}

func TestDoReturnsAnswersBelow400(t *testing.T) {
	srv, n := serve(t, http.Header{"X-A": {"b"}}, "hello", http.StatusAccepted)
	var waits []time.Duration
	resp, err := transport(srv, &waits).Do(context.Background(), get(srv.URL))
	if err != nil || resp.Status != http.StatusAccepted || string(resp.Body) != "hello" || resp.Header.Get("X-A") != "b" {
		t.Fatalf("resp = %+v, err = %v", resp, err)
	}
	if n.Load() != 1 || len(waits) != 0 {
		t.Errorf("%d requests, waits %v", n.Load(), waits)
	}
}

func TestRetryPolicyBoundsAttempts(t *testing.T) {
	cases := []struct {
		retries  int
		requests int32
	}{{0, 3}, {-1, 1}, {1, 2}, {5, 3}}
	for _, tc := range cases {
		srv, n := serve(t, nil, "", http.StatusBadGateway)
		var waits []time.Duration
		tr := transport(srv, &waits)
		tr.Retry.MaxRetries = tc.retries
		_, err := tr.Do(context.Background(), get(srv.URL))
		if !errors.Is(err, httpx.ErrUpstream) || n.Load() != tc.requests || len(waits) != int(tc.requests)-1 {
			t.Errorf("MaxRetries %d: %d requests, waits %v, err %v", tc.retries, n.Load(), waits, err)
		}
	}
}

func TestBackoffDoublesWithJitter(t *testing.T) {
	srv, _ := serve(t, nil, "", http.StatusServiceUnavailable)
	var waits []time.Duration
	tr := transport(srv, &waits)
	tr.Retry.BaseDelay = time.Second
	_, _ = tr.Do(context.Background(), get(srv.URL))
	if len(waits) != 2 || waits[0] < 500*time.Millisecond || waits[0] > time.Second ||
		waits[1] < time.Second || waits[1] > 2*time.Second {
		t.Errorf("waits = %v, want one in [0.5s,1s] then one in [1s,2s]", waits)
	}
}

func TestRetryAfterIsHonouredUpToMaxWait(t *testing.T) {
	srv, _ := serve(t, http.Header{"Retry-After": {"3"}}, "", http.StatusTooManyRequests, http.StatusOK)
	var waits []time.Duration
	if _, err := transport(srv, &waits).Do(context.Background(), get(srv.URL)); err != nil || len(waits) != 1 || waits[0] != 3*time.Second {
		t.Fatalf("waits = %v, err = %v", waits, err)
	}

	srv, n := serve(t, http.Header{"Retry-After": {"3"}}, "", http.StatusTooManyRequests)
	waits = nil
	tr := transport(srv, &waits)
	tr.Retry.MaxWait = 2 * time.Second
	_, err := tr.Do(context.Background(), get(srv.URL))
	var ae *httpx.APIError
	if !errors.As(err, &ae) || ae.RetryAfter != 3*time.Second || !strings.Contains(err.Error(), "retry after 3s") {
		t.Fatalf("err = %v", err)
	}
	if n.Load() != 1 || len(waits) != 0 {
		t.Errorf("a wait over MaxWait is the caller's: %d requests, waits %v", n.Load(), waits)
	}
}

func TestNotRetryable(t *testing.T) {
	for status, want := range map[int]error{
		400: httpx.ErrBadRequest, 401: httpx.ErrUnauthorized, 403: httpx.ErrUnauthorized,
		404: httpx.ErrNotFound, 402: httpx.ErrQuotaExceeded, 422: httpx.ErrBadRequest,
	} {
		srv, n := serve(t, nil, "", status)
		var waits []time.Duration
		_, err := transport(srv, &waits).Do(context.Background(), get(srv.URL))
		var ae *httpx.APIError
		if !errors.Is(err, want) || !errors.As(err, &ae) || ae.Retryable() || n.Load() != 1 {
			t.Errorf("%d: err = %v after %d requests", status, err, n.Load())
		}
		if ae != nil && (ae.Service != "svc" || ae.StatusCode != status || ae.Message != http.StatusText(status)) {
			t.Errorf("%d: without ParseError the message is the status text: %+v", status, ae)
		}
	}
}

func TestServiceHooks(t *testing.T) {
	srv, _ := serve(t, http.Header{"X-Reset": {"7"}}, `{"code":"out_of_credits"}`, http.StatusTooManyRequests)
	var waits []time.Duration
	tr := transport(srv, &waits)
	tr.ParseError = func(status int, body []byte) (string, string, string) {
		return "out_of_credits", "k3y/SECRET+=", "key k3y%2FSECRET%2B%3D has no credits left"
	}
	tr.Classify = func(status int, code string) httpx.Kind {
		if code == "out_of_credits" {
			return httpx.KindQuotaExceeded
		}
		return httpx.ClassifyStatus(status)
	}
	tr.WaitHint = func(h http.Header, _ time.Time) time.Duration {
		return time.Duration(len(h.Get("X-Reset"))) * time.Minute
	}
	_, err := tr.Do(context.Background(), get(srv.URL))
	var ae *httpx.APIError
	if !errors.Is(err, httpx.ErrQuotaExceeded) || !errors.As(err, &ae) || ae.Code != "out_of_credits" || ae.RetryAfter != time.Minute {
		t.Fatalf("err = %v", err)
	}
	if ae.Param != "[redacted]" || ae.Message != "key [redacted] has no credits left" || len(waits) != 0 {
		t.Errorf("the key must be scrubbed raw and escaped: %+v", ae)
	}
}

func TestTransportFailureHidesTheURL(t *testing.T) {
	srv, _ := serve(t, nil, "", http.StatusOK)
	srv.Close()
	var waits []time.Duration
	_, err := transport(srv, &waits).Do(context.Background(), get(srv.URL+"/?key="+secret))
	var ae *httpx.APIError
	if !errors.Is(err, httpx.ErrUpstream) || !errors.As(err, &ae) || ae.StatusCode != 0 || ae.Err == nil {
		t.Fatalf("err = %v", err)
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "SECRET") || strings.Contains(e.Error(), "key=") {
			t.Fatalf("error shows the URL: %q", e.Error())
		}
	}
	if len(waits) != 2 {
		t.Errorf("transport failures are retried twice: %v", waits)
	}
}

func TestBuildErrorIsScrubbed(t *testing.T) {
	tr := &httpx.Transport{Service: "svc", Client: http.DefaultClient, Secret: secret, MaxBody: 1 << 10}
	_, err := tr.Do(context.Background(), func(context.Context) (*http.Request, error) {
		return nil, errors.New("bad url with " + secret)
	})
	if err == nil || err.Error() != "svc: building request: bad url with [redacted]" {
		t.Fatalf("err = %v", err)
	}
}

func TestBodyOverMaxIsUpstream(t *testing.T) {
	srv, _ := serve(t, nil, strings.Repeat("x", 2<<10), http.StatusOK)
	var waits []time.Duration
	_, err := transport(srv, &waits).Do(context.Background(), get(srv.URL))
	if !errors.Is(err, httpx.ErrUpstream) || !strings.Contains(err.Error(), "larger than 1024 bytes") {
		t.Fatalf("err = %v", err)
	}
}

func TestContextEndsTheCall(t *testing.T) {
	srv, n := serve(t, nil, "", http.StatusInternalServerError)
	ctx, cancel := context.WithCancel(context.Background())
	tr := &httpx.Transport{Service: "svc", Client: srv.Client(), MaxBody: 1 << 10,
		Sleep: func(context.Context, time.Duration) error { cancel(); return context.Canceled }}
	_, err := tr.Do(ctx, get(srv.URL))
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "svc: ") || n.Load() != 1 {
		t.Fatalf("err = %v after %d requests", err, n.Load())
	}
	if _, err := tr.Do(ctx, get(srv.URL)); !errors.Is(err, context.Canceled) || n.Load() != 1 {
		t.Fatalf("a done context must not send: err = %v", err)
	}
}

func TestScrubRedact(t *testing.T) {
	tr := &httpx.Transport{Secret: "abc/def", Redact: regexp.MustCompile(`\bsk-[A-Za-z0-9_*-]{4,}`)}
	got := tr.Scrub("key abc/def or abc%2Fdef, masked sk-proj-****abcd")
	if got != "key [redacted] or [redacted], masked [redacted]" {
		t.Errorf("Scrub = %q", got)
	}
	if got := (&httpx.Transport{}).Scrub("nothing to hide"); got != "nothing to hide" {
		t.Errorf("Scrub without a secret = %q", got)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		header http.Header
		want   time.Duration
	}{
		{http.Header{}, 0},
		{http.Header{"Retry-After": {"2"}}, 2 * time.Second},
		{http.Header{"Retry-After": {"1.5"}}, 1500 * time.Millisecond},
		{http.Header{"Retry-After": {"0"}}, 0},
		{http.Header{"Retry-After": {"-3"}}, 0},
		{http.Header{"Retry-After": {"9999999"}}, 0},
		{http.Header{"Retry-After": {now.Add(30 * time.Second).Format(http.TimeFormat)}}, 30 * time.Second},
		{http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{http.Header{"Retry-After": {"soon"}}, 0},
		{http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"9"}}, 250 * time.Millisecond},
		{http.Header{"Retry-After-Ms": {"x"}, "Retry-After": {"9"}}, 9 * time.Second},
	}
	for _, tc := range cases {
		if got := httpx.RetryAfter(tc.header, now); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestClassifyStatus(t *testing.T) {
	for status, want := range map[int]httpx.Kind{
		400: httpx.KindBadRequest, 401: httpx.KindUnauthorized, 402: httpx.KindQuotaExceeded,
		403: httpx.KindUnauthorized, 404: httpx.KindNotFound, 408: httpx.KindUpstream, 409: httpx.KindBadRequest,
		422: httpx.KindBadRequest, 429: httpx.KindRateLimited, 500: httpx.KindUpstream, 503: httpx.KindUpstream,
	} {
		if got := httpx.ClassifyStatus(status); got != want {
			t.Errorf("%d: %s, want %s", status, got, want)
		}
	}
}

func TestShortenKeepsRunesWhole(t *testing.T) {
	if got := httpx.Shorten("  short  ", 10); got != "short" {
		t.Errorf("%q", got)
	}
	if got := httpx.Shorten("aé€b", 4); got != "aé…" {
		t.Errorf("%q", got)
	}
}
