package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lanternhq/lantern/internal/testenv"
)

func TestEnrichPhoneOverHTTP(t *testing.T) {
	db := testenv.DB(t)
	ts := start(t, db, generous)
	tn := testenv.NewTenant(t, db, 10)
	r := ts.call(t, http.MethodPost, "/v1/enrich/phone", tn.Secret, `{"record_id":"lead-1","phone":"(650) 253-0000","country":"us"}`)
	m := r.json(t)
	if r.StatusCode != http.StatusOK || m["success"] != true || m["cached"] != false || m["credits_used"] != float64(1) {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	phone := m["data"].(map[string]any)["phone"].(map[string]any)
	if phone["e164"] != "+16502530000" || phone["valid"] != true || phone["region"] != "US" || len(phone["time_zones"].([]any)) == 0 {
		t.Fatalf("phone %v", phone)
	}
	f := m["fields"].(map[string]any)["phone"].(map[string]any)
	if f["confidence"] != 0.95 || f["source"].(map[string]any)["provider"] != "libphonenumber" || f["observed_at"] == "" {
		t.Fatalf("field %v", f)
	}
	if r.Header.Get("X-Credits-Remaining") != "9" {
		t.Fatalf("X-Credits-Remaining %q after a 1-credit step from 10", r.Header.Get("X-Credits-Remaining"))
	}
	// The same record again: cached, free.
	r = ts.call(t, http.MethodPost, "/v1/enrich/phone", tn.Secret, `{"record_id":"lead-1","phone":"(650) 253-0000","country":"us"}`)
	if m := r.json(t); m["cached"] != true || m["credits_used"] != float64(0) || r.Header.Get("X-Credits-Remaining") != "9" {
		t.Fatalf("cache: %s", r.body)
	}
	// max_credits below the step's price: nothing is tried, nothing is charged.
	r = ts.call(t, http.MethodPost, "/v1/enrich/phone", tn.Secret, `{"phone":"+44 20 7946 0018","max_credits":0.5}`)
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("fractional max_credits: %d", r.StatusCode)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"phone":"not a phone"}`, "body.phone"},
		{`{"phone":"650 253 0000","options":{"default_region":"USA"}}`, "body.options.default_region"},
		{`{"phone":"+16502530000","options":{"fast":true}}`, "body.options.fast"},
		{`{}`, "body.phone"},
		{`{"phone":"+16502530000","max_credits":-1}`, "body.max_credits"},
		{`{"phone":"+16502530000","country":"United States"}`, "body.country"},
	} {
		r := ts.call(t, http.MethodPost, "/v1/enrich/phone", tn.Secret, tc.body)
		m := problem(t, r, http.StatusUnprocessableEntity, "invalid_input")
		if !strings.Contains(m["detail"].(string), tc.field) {
			t.Errorf("%s: detail %q does not name %s", tc.body, m["detail"], tc.field)
		}
	}
}
