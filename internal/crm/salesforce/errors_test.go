package salesforce

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
)

func TestDuplicatesDetectedBothSpellings(t *testing.T) {
	for _, tc := range []struct {
		file, rule, object string
		ids                []string
	}{
		{"duplicates_detected_resut_response.json", "Standard_Account_Duplicate_Rule", "Account", []string{"001Dn00000ABCdeIAH"}},
		{"duplicates_detected_result_response.json", "Lantern_Contact_Rule", "Contact", []string{"003Dn00000XyZ12IAB", "003Dn00000XyZ34IAB"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f := newFake(t)
			f.on("POST "+v+"sobjects/"+tc.object, reply200(400, fixture(t, tc.file)))
			c := f.client()
			_, err := c.Create(context.Background(), org, tc.object, crm.Input{Fields: map[string]any{"Name": "Acme", "LastName": "Doe"}})
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Conflict {
				t.Fatalf("err %v", err)
			}
			d, ok := Duplicates(err)
			if !ok {
				t.Fatalf("no DuplicateError in %v", err)
			}
			if d.Rule != tc.rule || d.Object != tc.object || strings.Join(d.MatchedIDs, ",") != strings.Join(tc.ids, ",") || len(d.MatchRules) != 1 {
				t.Fatalf("duplicate %+v", d)
			}
			for _, id := range tc.ids {
				if !strings.Contains(e.Message, id) {
					t.Errorf("message %q does not name %s", e.Message, id)
				}
			}
		})
	}
}

func TestRequestLimitExceededBacksOff(t *testing.T) {
	f := newFake(t)
	id := crm.NewID(crm.Account)
	var calls atomic.Int32
	f.on("GET "+v+"sobjects/Account/"+id, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusForbidden)
			w.Write(fixture(t, "request_limit_exceeded_response.json"))
			return
		}
		w.Write(fixture(t, "sobject_find_success_response.json"))
	})
	c := f.client()
	c.Backoff = 20 * time.Millisecond
	start := time.Now()
	rec, err := c.Get(context.Background(), org, crm.Account, id)
	if err != nil || rec.ID != "23foo" {
		t.Fatalf("%v %v", rec, err)
	}
	// Two waits: 20ms then 40ms.
	if calls.Load() != 3 || time.Since(start) < 60*time.Millisecond {
		t.Fatalf("%d calls in %s", calls.Load(), time.Since(start))
	}
}

func TestRequestLimitExceededGivesUp(t *testing.T) {
	f := newFake(t)
	var calls atomic.Int32
	f.on("POST "+v+"sobjects/Account", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusForbidden)
		w.Write(fixture(t, "request_limit_exceeded_response.json"))
	})
	c := f.client()
	c.Retries = 2
	_, err := c.Create(context.Background(), org, crm.Account, crm.Input{Fields: map[string]any{"Name": "A"}})
	if !apperr.Is(err, apperr.Unavailable) || RetryAfter(err) <= 0 || calls.Load() != 3 {
		t.Fatalf("err %v (retry after %s) after %d calls", err, RetryAfter(err), calls.Load())
	}
	// The wait honours ctx.
	c.Backoff = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Create(ctx, org, crm.Account, crm.Input{Fields: map[string]any{"Name": "A"}})
	if err != context.DeadlineExceeded || time.Since(start) > 5*time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
}

func TestLimitInfoHold(t *testing.T) {
	f := newFake(t)
	id := crm.NewID(crm.Account)
	usage := "api-usage=4400/5000"
	var calls atomic.Int32
	f.on("GET "+v+"sobjects/Account/"+id, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Sforce-Limit-Info", usage)
		w.Write(fixture(t, "sobject_find_success_response.json"))
	})
	c := f.client()
	now := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
	c.Now = func() time.Time { return now }
	get := func() error { _, err := c.Get(context.Background(), org, crm.Account, id); return err }
	if err := get(); err != nil {
		t.Fatal(err)
	}
	if u, m := c.Usage(); u != 4400 || m != 5000 {
		t.Fatalf("usage %d/%d", u, m)
	}
	// 88% is below the 90% reserve: the next call goes out.
	usage = "api-usage=4600/5000, per-app-api-usage=10/1000(appName=Lantern)"
	if err := get(); err != nil {
		t.Fatal(err)
	}
	// Now at 92%: calls are refused for a minute, without reaching Salesforce.
	err := get()
	if !apperr.Is(err, apperr.Unavailable) || RetryAfter(err) != time.Minute || calls.Load() != 2 {
		t.Fatalf("err %v, retry after %s, %d calls", err, RetryAfter(err), calls.Load())
	}
	if msg := err.(*apperr.Error).Message; !strings.Contains(msg, "4600") || !strings.Contains(msg, "retry in 60s") {
		t.Fatalf("message %q", msg)
	}
	// After the hold one call reads the usage again.
	now = now.Add(61 * time.Second)
	usage = "api-usage=100/5000"
	if err := get(); err != nil || calls.Load() != 3 {
		t.Fatalf("%v after %d calls", err, calls.Load())
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
}

func TestParseLimitInfo(t *testing.T) {
	for in, want := range map[string][3]int{
		"api-usage=18/5000": {18, 5000, 1},
		"per-app-api-usage=1/10(appName=x), api-usage=7/15000": {7, 15000, 1},
		"":                 {0, 0, 0},
		"api-usage=18":     {0, 0, 0},
		"api-usage=x/5000": {0, 0, 0},
		"api-usage=1/0":    {0, 0, 0},
	} {
		u, m, ok := parseLimitInfo(in)
		if u != want[0] || m != want[1] || ok != (want[2] == 1) {
			t.Errorf("%q: %d %d %v", in, u, m, ok)
		}
	}
}

func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		code   apperr.Code
		field  string
	}{
		{400, `[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]`, apperr.Invalid, "body.fields.LastName"},
		{400, `[{"message":"Required fields are missing: [Company]","errorCode":"REQUIRED_FIELD_MISSING","fields":[]}]`, apperr.Invalid, "body.fields.Company"},
		{400, string(fixture(t, "write_error_response.json")), apperr.Invalid, "body.fields.foo"},
		{400, `[{"message":"Account ID: id value of incorrect type: 001xyz","errorCode":"MALFORMED_ID","fields":["AccountId"]}]`, apperr.Invalid, "body.fields.AccountId"},
		{400, `[{"message":"Website must be https","errorCode":"FIELD_CUSTOM_VALIDATION_EXCEPTION","fields":["Website"]}]`, apperr.Invalid, "body.fields.Website"},
		{400, `[{"message":"Website must be https","errorCode":"FIELD_CUSTOM_VALIDATION_EXCEPTION","fields":[]}]`, apperr.Invalid, "body.fields"},
		{404, `[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]`, apperr.NotFound, ""},
		{404, `[{"message":"entity is deleted","errorCode":"ENTITY_IS_DELETED","fields":[]}]`, apperr.NotFound, ""},
		{400, `[{"message":"duplicate value found: Lantern_External_Id__c duplicates value on record with id: 001","errorCode":"DUPLICATE_VALUE","fields":[]}]`, apperr.Conflict, ""},
		{403, `[{"message":"insufficient access rights on object id","errorCode":"INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"}]`, apperr.NotConfigured, ""},
		{503, `<html><body>Service Unavailable secret-token</body></html>`, apperr.Unavailable, ""},
		{500, `[{"message":"An unexpected error occurred. Please include this ErrorId: 1234","errorCode":"UNKNOWN_EXCEPTION"}]`, apperr.Unavailable, ""},
		{412, ``, apperr.Conflict, ""},
	} {
		err := replyErr(&reply{status: tc.status, body: []byte(tc.body)}, op{object: crm.Account, prefix: "body.fields"})
		e, ok := apperr.As(err)
		if !ok || e.Code != tc.code || e.Field != tc.field {
			t.Errorf("%d %s: got %#v", tc.status, tc.body, err)
			continue
		}
		// Salesforce's own text stays in the cause, not in the message clients see.
		for _, leak := range []string{"incorrect type", "must be https", "ErrorId", "secret-token", "No such column", "insufficient access rights", "with id"} {
			if strings.Contains(e.Message, leak) {
				t.Errorf("message %q leaks %q", e.Message, leak)
			}
		}
	}
}

func TestTimeoutIsUnavailable(t *testing.T) {
	f := newFake(t)
	id := crm.NewID(crm.Account)
	release := make(chan struct{})
	defer close(release)
	f.on("GET "+v+"sobjects/Account/"+id, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	c := f.client()
	c.Retries = 1
	c.HTTP.Timeout = 100 * time.Millisecond
	if _, err := c.Get(context.Background(), org, crm.Account, id); !apperr.Is(err, apperr.Unavailable) || len(f.requests()) != 2 {
		t.Fatalf("err %v after %d requests", err, len(f.requests()))
	}
}
