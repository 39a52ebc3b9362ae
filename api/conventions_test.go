package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/tenancy"
	"github.com/lanternhq/lantern/internal/testenv"
)

func TestMissingOrBadKeyIs401(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, nil)
	for name, key := range map[string]string{"missing": "", "unknown": "ltn_test_" + strings.Repeat("x", 32), "garbage": "hello"} {
		r := ts.get(t, "/v1/credits/remaining", key)
		m := problem(t, r, http.StatusUnauthorized, "unauthorized")
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", name)
		}
		if !strings.Contains(m["detail"].(string), "key") {
			t.Errorf("%s: detail %q", name, m["detail"])
		}
	}
	// Basic auth or a bare token are not bearer auth either.
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/credits/remaining", nil)
	req.SetBasicAuth("a", "b")
	resp, err := ts.Client().Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("basic auth: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}

func TestRevokedKeyIs401AtOnce(t *testing.T) {
	db := testenv.DB(t)
	// A long auth cache on both instances: revocation must not wait for it.
	long := func(c *config.Config) { c.AuthCacheTTL = time.Hour }
	a, b := start(t, db, long), start(t, db, long)
	tn := testenv.NewTenant(t, db, 10)
	for _, ts := range []*testServer{a, b} {
		if r := ts.get(t, "/v1/credits/remaining", tn.Secret); r.StatusCode != http.StatusOK {
			t.Fatalf("before revoke: %d %s", r.StatusCode, r.body)
		}
	}
	// Revoke as the CLI does, from outside both processes, then call each at once.
	if err := tenancy.RevokeKey(context.Background(), db, tn.OrgID, tn.KeyID); err != nil {
		t.Fatal(err)
	}
	for _, ts := range []*testServer{a, b} {
		problem(t, ts.get(t, "/v1/credits/remaining", tn.Secret), http.StatusUnauthorized, "unauthorized")
	}
}

func TestEveryAuthenticatedResponseCarriesTheHeaders(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, nil)
	tn := testenv.NewTenant(t, db, 1234)
	for _, path := range []string{"/v1/credits/remaining", "/v1/logs/retention", "/v1/logs/routing?from=2025-01-01&to=2025-02-01",
		"/v1/logs/routing?from=bad&to=2025-02-01", "/v1/logs/stats?from=2025-01-01&to=2025-02-01"} {
		r := ts.get(t, path, tn.Secret)
		for _, h := range []string{"X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Credits-Remaining"} {
			if r.Header.Get(h) == "" {
				t.Errorf("%s (%d): no %s", path, r.StatusCode, h)
			}
		}
		if r.Header.Get("X-Credits-Remaining") != "1234" {
			t.Errorf("%s: X-Credits-Remaining %q", path, r.Header.Get("X-Credits-Remaining"))
		}
		reset, _ := strconv.ParseInt(r.Header.Get("X-RateLimit-Reset"), 10, 64)
		if d := time.Until(time.Unix(reset, 0)); d <= 0 || d > time.Minute {
			t.Errorf("%s: X-RateLimit-Reset %d is %v away", path, reset, d)
		}
	}
	// A client's own request id is kept; a malformed one is replaced.
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/credits/remaining", nil)
	req.Header.Set("Authorization", "Bearer "+tn.Secret)
	req.Header.Set("X-Request-ID", "client-trace-42")
	resp, err := ts.Client().Do(req)
	if err != nil || resp.Header.Get("X-Request-ID") != "client-trace-42" {
		t.Fatalf("client request id: %v %q", err, resp.Header.Get("X-Request-ID"))
	}
	resp.Body.Close()
}

func TestTheFiftyFirstSyncCallIs429AcrossTwoInstances(t *testing.T) {
	db := testenv.DB(t)
	a, b := start(t, db, nil), start(t, db, nil)
	tn := testenv.NewTenant(t, db, 0)
	withinOneMinute(t, 10)
	var wg sync.WaitGroup
	codes := make(chan int, 50)
	for i := range 50 {
		ts := a
		if i%2 == 1 {
			ts = b
		}
		wg.Go(func() { codes <- ts.get(t, "/v1/test/sync", tn.Secret).StatusCode })
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("a call within the limit got %d", c)
		}
	}
	for _, ts := range []*testServer{a, b} {
		r := ts.get(t, "/v1/test/sync", tn.Secret)
		problem(t, r, http.StatusTooManyRequests, "rate_limited")
		ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || ra < 1 || ra > 120 {
			t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
		}
		if r.Header.Get("X-RateLimit-Limit") != "50" || r.Header.Get("X-RateLimit-Remaining") != "0" {
			t.Fatalf("limit headers: %v", r.Header)
		}
	}
	// Other groups of the same key are unaffected, and so is another key.
	if r := a.get(t, "/v1/credits/remaining", tn.Secret); r.StatusCode != http.StatusOK {
		t.Fatalf("credits group: %d", r.StatusCode)
	}
	if r := b.get(t, "/v1/test/sync", testenv.NewTenant(t, db, 0).Secret); r.StatusCode != http.StatusOK {
		t.Fatalf("another key: %d", r.StatusCode)
	}
}

func TestPerKeyLimitOverride(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, nil)
	tn := testenv.NewTenant(t, db, 0)
	if err := tenancy.SetKeyLimits(context.Background(), db, tn.OrgID, tn.KeyID, map[string]int{"credits": 3}); err != nil {
		t.Fatal(err)
	}
	withinOneMinute(t, 5)
	for i := range 3 {
		if r := ts.get(t, "/v1/credits/remaining", tn.Secret); r.StatusCode != http.StatusOK || r.Header.Get("X-RateLimit-Limit") != "3" {
			t.Fatalf("call %d: %d limit %q", i, r.StatusCode, r.Header.Get("X-RateLimit-Limit"))
		}
	}
	problem(t, ts.get(t, "/v1/credits/remaining", tn.Secret), http.StatusTooManyRequests, "rate_limited")
}

func TestInsufficientCreditsIs402(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, nil)
	tn := testenv.NewTenant(t, db, 10)
	r := ts.call(t, http.MethodPost, "/v1/test/debit?amount=4", tn.Secret, "")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("debit: %d %s", r.StatusCode, r.body)
	}
	m := problem(t, ts.call(t, http.MethodPost, "/v1/test/debit?amount=7", tn.Secret, ""), http.StatusPaymentRequired, "insufficient_credits")
	if !strings.Contains(m["detail"].(string), "6 remain") {
		t.Fatalf("detail: %v", m["detail"])
	}
	// The header shows the balance as of the request.
	if r := ts.get(t, "/v1/credits/remaining", tn.Secret); r.json(t)["credits_remaining"] != float64(6) || r.Header.Get("X-Credits-Remaining") != "6" {
		t.Fatalf("remaining: %s %q", r.body, r.Header.Get("X-Credits-Remaining"))
	}
}

func TestTenantIsolation(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, nil)
	a, b := testenv.NewTenant(t, db, 100), testenv.NewTenant(t, db, 7)
	seedLogs(t, db, a.OrgID, 5)
	if r := ts.call(t, http.MethodPut, "/v1/logs/retention", a.Secret, `{"retention_days": 30}`); r.StatusCode != http.StatusOK {
		t.Fatalf("put retention: %d %s", r.StatusCode, r.body)
	}
	if r := ts.call(t, http.MethodPost, "/v1/test/debit?amount=9", a.Secret, ""); r.StatusCode != http.StatusOK {
		t.Fatal(r.StatusCode)
	}
	// b sees none of a's logs, credits, usage or settings.
	if r := ts.get(t, "/v1/logs/routing?from=2020-01-01&to=2030-01-01", b.Secret); string(r.body) != "[]" {
		t.Fatalf("b's export: %s", r.body)
	}
	if r := ts.get(t, "/v1/logs/stats?from=2020-01-01&to=2030-01-01", b.Secret); r.json(t)["total"] != float64(0) {
		t.Fatalf("b's stats: %s", r.body)
	}
	if r := ts.get(t, "/v1/credits/remaining", b.Secret); r.json(t)["credits_remaining"] != float64(7) {
		t.Fatalf("b's credits: %s", r.body)
	}
	from, to := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if r := ts.get(t, fmt.Sprintf("/v1/credits/usage?from=%s&to=%s", from, to), b.Secret); r.json(t)["total_credits_used"] != float64(0) {
		t.Fatalf("b's usage: %s", r.body)
	}
	if r := ts.get(t, "/v1/logs/retention", b.Secret); r.json(t)["retention_days"] != float64(365) {
		t.Fatalf("b's retention: %s", r.body)
	}
	// and a sees its own.
	if r := ts.get(t, "/v1/logs/routing?from=2020-01-01&to=2030-01-01&limit=10", a.Secret); strings.Count(string(r.body), `"object_id"`) != 5 {
		t.Fatalf("a's export: %s", r.body)
	}
	if r := ts.get(t, fmt.Sprintf("/v1/credits/usage?from=%s&to=%s&group_by=service", from, to), a.Secret); r.json(t)["total_credits_used"] != float64(9) {
		t.Fatalf("a's usage: %s", r.body)
	}
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, nil)
	tn := testenv.NewTenant(t, db, 0)
	// Break the database under the server: the client sees a generic problem, not the SQL error.
	if _, err := db.ExecContext(context.Background(), "ALTER TABLE log_retention_settings RENAME TO broken"); err != nil {
		t.Fatal(err)
	}
	r := ts.get(t, "/v1/logs/retention", tn.Secret)
	m := problem(t, r, http.StatusInternalServerError, "internal")
	if strings.Contains(string(r.body), "log_retention_settings") || strings.Contains(string(r.body), "SQLSTATE") {
		t.Fatalf("internal error leaked: %s", r.body)
	}
	if !strings.Contains(m["detail"].(string), m["request_id"].(string)) {
		t.Fatalf("detail should quote the request id: %v", m["detail"])
	}
}
