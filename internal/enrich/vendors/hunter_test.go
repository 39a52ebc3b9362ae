package vendors_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/lanternhq/lantern/internal/enrich/vendors"
)

func newHunter(t *testing.T, f *fake) (*vendors.Hunter, *recorder) {
	t.Helper()
	h, err := vendors.NewHunter(vendors.Config{BaseURL: f.URL + "/v2", APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	vendors.SetHunterSleep(h, rec.sleep)
	return h, rec
}

var ada = vendors.HunterFindInput{Domain: "acme-robotics.example", Company: "Acme Robotics", FirstName: "Ada", LastName: "Lovelace"}

func TestHunterFindEmail(t *testing.T) {
	f := newFake(t, reply{fixture: "hunter_email_finder.json"})
	h, _ := newHunter(t, f)

	got, err := h.FindEmail(context.Background(), ada)
	if err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	q := r.URL.Query()
	if r.Method != http.MethodGet || r.URL.Path != "/v2/email-finder" || q.Get("api_key") != testKey ||
		q.Get("domain") != "acme-robotics.example" || q.Get("first_name") != "Ada" || q.Get("last_name") != "Lovelace" ||
		q.Has("company") || q.Has("full_name") {
		t.Errorf("request %s %s", r.Method, r.URL)
	}
	if got.Email != "ada@acme-robotics.example" || got.Score != 94 || got.Position != "Chief Technology Officer" ||
		got.LinkedInURL != "https://www.linkedin.com/in/ada-lovelace-example" || got.Company != "Acme Robotics" ||
		got.Twitter != "" || got.PhoneNumber != "" || got.AcceptAll || got.Verification.Status != "valid" ||
		got.Verification.Date != "2025-06-02" || len(got.Sources) != 2 || !got.Sources[0].StillOnPage ||
		got.Sources[1].LastSeenOn != "2023-10-02" {
		t.Errorf("result = %+v", got)
	}
	if c := got.Confidence(); c != 0.94 {
		t.Errorf("confidence = %v", c)
	}
	if !strings.Contains(string(got.Raw), `"max_duration"`) {
		t.Error("raw body not kept")
	}
}

func TestHunterFindEmailByFullNameAndCompany(t *testing.T) {
	f := newFake(t, reply{fixture: "hunter_email_finder.json"})
	h, _ := newHunter(t, f)

	if _, err := h.FindEmail(context.Background(), vendors.HunterFindInput{Company: "Acme Robotics", FullName: "Ada Lovelace"}); err != nil {
		t.Fatal(err)
	}
	q := f.requests()[0].URL.Query()
	if q.Get("company") != "Acme Robotics" || q.Get("full_name") != "Ada Lovelace" || q.Has("domain") || q.Has("first_name") {
		t.Errorf("query = %v", q)
	}
}

func TestHunterFindEmailNotFound(t *testing.T) {
	for _, rp := range []reply{{fixture: "hunter_email_finder_empty.json"}, {status: 404, fixture: "hunter_error_404.json"}} {
		f := newFake(t, rp)
		h, rec := newHunter(t, f)
		_, err := h.FindEmail(context.Background(), ada)
		var ae *vendors.APIError
		if !errors.Is(err, vendors.ErrNotFound) || !errors.As(err, &ae) || ae.Kind != vendors.KindNotFound {
			t.Fatalf("%s: err = %v", rp.fixture, err)
		}
		if errors.Is(err, vendors.ErrUpstream) || ae.Retryable() || len(rec.get()) != 0 || len(f.requests()) != 1 {
			t.Errorf("%s: not-found treated as an outage", rp.fixture)
		}
	}
}

func TestHunterRejectsThinInputLocally(t *testing.T) {
	f := newFake(t)
	h, _ := newHunter(t, f)
	for _, in := range []vendors.HunterFindInput{
		{FirstName: "Ada", LastName: "Lovelace"},
		{Domain: "acme-robotics.example", FirstName: "Ada"},
		{Domain: " ", FullName: "Ada Lovelace"},
	} {
		if _, err := h.FindEmail(context.Background(), in); !errors.Is(err, vendors.ErrBadInput) {
			t.Errorf("%+v: err = %v", in, err)
		}
	}
	if _, err := h.VerifyEmail(context.Background(), "not-an-email"); !errors.Is(err, vendors.ErrBadInput) {
		t.Errorf("verify: err = %v", err)
	}
	if len(f.requests()) != 0 {
		t.Error("thin input was sent (and would be billed)")
	}
}

func TestHunterVerifyEmail(t *testing.T) {
	f := newFake(t, reply{fixture: "hunter_email_verifier.json"}, reply{fixture: "hunter_email_verifier_accept_all.json"})
	h, _ := newHunter(t, f)

	v, err := h.VerifyEmail(context.Background(), "ada@acme-robotics.example")
	if err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.URL.Path != "/v2/email-verifier" || r.URL.Query().Get("email") != "ada@acme-robotics.example" || r.URL.Query().Get("api_key") != testKey {
		t.Errorf("request %s", r.URL)
	}
	if v.Status != "valid" || v.Result != "deliverable" || v.Score != 100 || !v.Regexp || v.Gibberish || v.Disposable ||
		v.Webmail || !v.MXRecords || !v.SMTPServer || !v.SMTPCheck || v.AcceptAll || v.Block || len(v.Sources) != 1 {
		t.Errorf("verification = %+v", v)
	}
	if c := v.Confidence(); c != 0.95 {
		t.Errorf("valid confidence = %v", c)
	}

	v, err = h.VerifyEmail(context.Background(), "grace@catchall.example")
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "accept_all" || !v.AcceptAll || v.Confidence() != 0.6 {
		t.Errorf("accept_all = %+v (confidence %v)", v, v.Confidence())
	}
}

func TestHunterVerifyPending(t *testing.T) {
	for _, status := range []int{http.StatusAccepted, 222} {
		f := newFake(t, reply{status: status})
		h, rec := newHunter(t, f)
		_, err := h.VerifyEmail(context.Background(), "ada@acme-robotics.example")
		var ae *vendors.APIError
		if !errors.Is(err, vendors.ErrPending) || !errors.As(err, &ae) || ae.StatusCode != status || !ae.Retryable() {
			t.Fatalf("%d: err = %v", status, err)
		}
		if len(f.requests()) != 1 || len(rec.get()) != 0 {
			t.Errorf("%d: the client must not poll by itself", status)
		}
	}
}

func TestHunterErrors(t *testing.T) {
	cases := []struct {
		name     string
		replies  []reply
		want     error
		requests int
		code     string
	}{
		{"401 bad key", []reply{{status: 401, fixture: "hunter_error_401.json"}}, vendors.ErrUnauthorized, 1, "authentication_failed"},
		{"400 bad params", []reply{{status: 400, fixture: "hunter_error_400.json"}}, vendors.ErrBadRequest, 1, "wrong_params"},
		{"429 usage limit", []reply{{status: 429, header: map[string]string{"Retry-After": "1"}, fixture: "hunter_error_429.json"}}, vendors.ErrQuotaExceeded, 1, "too_many_requests"},
		{"403 rate limit, retried", []reply{{status: 403, fixture: "hunter_error_403.json"}, {status: 403, fixture: "hunter_error_403.json"}, {status: 403, fixture: "hunter_error_403.json"}}, vendors.ErrRateLimited, 3, "too_many_requests"},
		{"5xx, retried", []reply{{status: 500}, {status: 502}, {status: 503}}, vendors.ErrUpstream, 3, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.replies...)
			h, _ := newHunter(t, f)
			_, err := h.FindEmail(context.Background(), ada)
			var ae *vendors.APIError
			if !errors.Is(err, tc.want) || !errors.As(err, &ae) || ae.Code != tc.code || ae.Service != "hunter" {
				t.Fatalf("err = %v (%+v)", err, ae)
			}
			if n := len(f.requests()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
			assertNoKey(t, err)
		})
	}
}

func TestHunterRateLimitThenSuccess(t *testing.T) {
	f := newFake(t, reply{status: 403, header: map[string]string{"Retry-After": "2"}, fixture: "hunter_error_403.json"},
		reply{fixture: "hunter_email_finder.json"})
	h, rec := newHunter(t, f)
	if _, err := h.FindEmail(context.Background(), ada); err != nil {
		t.Fatal(err)
	}
	if w := rec.get(); len(w) != 1 || w[0].Seconds() != 2 {
		t.Errorf("waits = %v", w)
	}
}

func TestHunterTransportErrorHidesKeyInURL(t *testing.T) {
	f := newFake(t)
	h, rec := newHunter(t, f)
	f.Close()
	_, err := h.FindEmail(context.Background(), ada)
	if !errors.Is(err, vendors.ErrUpstream) {
		t.Fatalf("err = %v", err)
	}
	assertNoKey(t, err)
	if len(rec.get()) != 2 {
		t.Errorf("transport failures are retried twice: %v", rec.get())
	}
}

func TestNewHunterNeedsKeyAndBase(t *testing.T) {
	for field, cfg := range map[string]vendors.Config{
		"APIKey":  {BaseURL: vendors.DefaultHunterBaseURL},
		"BaseURL": {APIKey: "k"},
	} {
		_, err := vendors.NewHunter(cfg)
		var ce *vendors.ConfigError
		if !errors.Is(err, vendors.ErrNotConfigured) || !errors.As(err, &ce) || ce.Field != field || ce.Service != "hunter" {
			t.Errorf("%s: err = %v", field, err)
		}
	}
}
