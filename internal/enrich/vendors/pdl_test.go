package vendors_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/enrich/vendors"
)

func newPDL(t *testing.T, f *fake) (*vendors.PDL, *recorder) {
	t.Helper()
	p, err := vendors.NewPDL(vendors.Config{BaseURL: f.URL + "/v5/", APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	vendors.SetPDLSleep(p, rec.sleep)
	return p, rec
}

var adaPDL = vendors.PDLPersonInput{Email: "ada@acme-robotics.example", Profile: "linkedin.com/in/ada-lovelace-example", MinLikelihood: 6}

func TestPDLEnrichPerson(t *testing.T) {
	f := newFake(t, reply{fixture: "pdl_person_enrich.json"})
	p, _ := newPDL(t, f)

	got, err := p.EnrichPerson(context.Background(), adaPDL)
	if err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	q := r.URL.Query()
	if r.Method != http.MethodGet || r.URL.Path != "/v5/person/enrich" || r.Header.Get("X-Api-Key") != testKey ||
		q.Has("api_key") || q.Get("email") != adaPDL.Email || q.Get("profile") != adaPDL.Profile || q.Get("min_likelihood") != "6" {
		t.Errorf("request %s %s key=%q", r.Method, r.URL, r.Header.Get("X-Api-Key"))
	}
	d := got.Data
	if got.Status != 200 || got.Likelihood != 9 || d.FullName != "ada lovelace" || d.FirstName != "ada" || d.LastName != "lovelace" ||
		d.WorkEmail != "ada@acme-robotics.example" || !slices.Equal(d.PersonalEmails, []string{"ada.lovelace@mail.example"}) ||
		d.RecommendedPersonalEmail != "ada.lovelace@mail.example" || d.MobilePhone != "+14155550123" ||
		!slices.Equal(d.PhoneNumbers, []string{"+14155550123"}) || d.JobTitle != "chief technology officer" ||
		d.JobCompanyName != "acme robotics" || d.JobCompanyWebsite != "acme-robotics.example" ||
		d.JobCompanyLinkedInURL != "linkedin.com/company/acme-robotics-example" || d.LinkedInURL != "linkedin.com/in/ada-lovelace-example" ||
		d.LocationName != "san francisco, california, united states" || d.LocationCountry != "united states" || len(d.Masked) != 0 {
		t.Errorf("person = %+v", got)
	}
	if got.Confidence() != 0.9 {
		t.Errorf("confidence = %v", got.Confidence())
	}
	if !strings.Contains(string(got.Raw), `"skills"`) {
		t.Error("raw body not kept")
	}
}

func TestPDLFreePlanMaskedFields(t *testing.T) {
	f := newFake(t, reply{fixture: "pdl_person_enrich_free_plan.json"})
	p, _ := newPDL(t, f)

	got, err := p.EnrichPerson(context.Background(), vendors.PDLPersonInput{FirstName: "Ada", LastName: "Lovelace", Company: "Acme Robotics"})
	if err != nil {
		t.Fatal(err)
	}
	d := got.Data
	if d.WorkEmail != "" || d.PersonalEmails != nil || d.MobilePhone != "" || d.JobTitle != "chief technology officer" {
		t.Errorf("person = %+v", d)
	}
	want := []string{"work_email", "personal_emails", "recommended_personal_email", "phone_numbers"}
	if !slices.Equal(d.Masked, want) {
		t.Errorf("masked = %v, want %v (mobile_phone:false means no value)", d.Masked, want)
	}
	if got.Confidence() != 0.6 {
		t.Errorf("confidence = %v", got.Confidence())
	}
}

func TestPDLEnrichCompany(t *testing.T) {
	f := newFake(t, reply{fixture: "pdl_company_enrich.json"})
	p, _ := newPDL(t, f)

	c, err := p.EnrichCompany(context.Background(), vendors.PDLCompanyInput{Website: "acme-robotics.example"})
	if err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.URL.Path != "/v5/company/enrich" || r.URL.Query().Get("website") != "acme-robotics.example" || r.Header.Get("X-Api-Key") != testKey {
		t.Errorf("request %s", r.URL)
	}
	loc := vendors.PDLLocation{Name: "san francisco, california, united states", Locality: "san francisco", Region: "california",
		Country: "united states", StreetAddress: "455 market street", PostalCode: "94105"}
	if c.Status != 200 || c.Likelihood != 7 || c.Name != "acme robotics" || c.DisplayName != "Acme Robotics" ||
		c.Website != "acme-robotics.example" || c.Size != "51-200" || c.EmployeeCount != 118 || c.Founded != 2015 ||
		c.Industry != "industrial automation" || c.Location != loc || c.LinkedInURL != "linkedin.com/company/acme-robotics-example" ||
		c.TwitterURL != "twitter.com/acmerobotics_ex" || c.FacebookURL != "facebook.com/acmerobotics.example" || c.Ticker != "" ||
		c.Type != "private" || !strings.HasPrefix(c.Summary, "acme robotics builds") || len(c.Tags) != 3 {
		t.Errorf("company = %+v", c)
	}
	if c.Confidence() != 0.7 {
		t.Errorf("confidence = %v", c.Confidence())
	}
}

func TestPDLNotFoundIsNotAnOutage(t *testing.T) {
	f := newFake(t, reply{status: 404, fixture: "pdl_error_404.json"})
	p, rec := newPDL(t, f)

	_, err := p.EnrichCompany(context.Background(), vendors.PDLCompanyInput{Name: "no such company"})
	var ae *vendors.APIError
	if !errors.Is(err, vendors.ErrNotFound) || !errors.As(err, &ae) || ae.Code != "not_found" ||
		ae.Message != "No records were found matching your request" {
		t.Fatalf("err = %v", err)
	}
	if errors.Is(err, vendors.ErrUpstream) || ae.Retryable() || len(rec.get()) != 0 || len(f.requests()) != 1 {
		t.Error("a 404 is an answer, not an outage")
	}
}

func TestPDLErrors(t *testing.T) {
	cases := []struct {
		name     string
		replies  []reply
		want     error
		requests int
		code     string
	}{
		{"401", []reply{{status: 401, fixture: "pdl_error_401.json"}}, vendors.ErrUnauthorized, 1, "authentication_error"},
		{"402 credits used up", []reply{{status: 402, fixture: "pdl_error_402.json"}}, vendors.ErrQuotaExceeded, 1, "payment_required"},
		{"429 thrice", []reply{{status: 429, fixture: "pdl_error_429.json"}, {status: 429, fixture: "pdl_error_429.json"}, {status: 429, fixture: "pdl_error_429.json"}}, vendors.ErrRateLimited, 3, "rate_limit_error"},
		{"5xx thrice", []reply{{status: 500, fixture: "pdl_error_500.json"}, {status: 503}, {status: 500, fixture: "pdl_error_500.json"}}, vendors.ErrUpstream, 3, "api_error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.replies...)
			p, _ := newPDL(t, f)
			_, err := p.EnrichPerson(context.Background(), adaPDL)
			var ae *vendors.APIError
			if !errors.Is(err, tc.want) || !errors.As(err, &ae) || ae.Code != tc.code || ae.Service != "pdl" {
				t.Fatalf("err = %v", err)
			}
			if n := len(f.requests()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
			assertNoKey(t, err)
		})
	}
}

func TestPDLRateLimitHonoursRetryAfter(t *testing.T) {
	f := newFake(t, reply{status: 429, header: map[string]string{"Retry-After": "3"}, fixture: "pdl_error_429.json"},
		reply{fixture: "pdl_person_enrich.json"})
	p, rec := newPDL(t, f)
	if _, err := p.EnrichPerson(context.Background(), adaPDL); err != nil {
		t.Fatal(err)
	}
	if w := rec.get(); len(w) != 1 || w[0] != 3*time.Second {
		t.Errorf("waits = %v", w)
	}
}

func TestPDLRateLimitReadsResetHeader(t *testing.T) {
	reset := time.Now().Add(5 * time.Second).UTC().Format(time.RFC3339)
	f := newFake(t, reply{status: 429, header: map[string]string{"X-Ratelimit-Reset": reset}, fixture: "pdl_error_429.json"},
		reply{fixture: "pdl_person_enrich.json"})
	p, rec := newPDL(t, f)
	if _, err := p.EnrichPerson(context.Background(), adaPDL); err != nil {
		t.Fatal(err)
	}
	if w := rec.get(); len(w) != 1 || w[0] < 3*time.Second || w[0] > 6*time.Second {
		t.Errorf("waits = %v, want about 5s", w)
	}
}

func TestPDLRetryAfterBeyondCapIsReturned(t *testing.T) {
	f := newFake(t, reply{status: 429, header: map[string]string{"Retry-After": "59"}, fixture: "pdl_error_429.json"})
	p, rec := newPDL(t, f)
	_, err := p.EnrichPerson(context.Background(), adaPDL)
	var ae *vendors.APIError
	if !errors.As(err, &ae) || ae.Kind != vendors.KindRateLimited || ae.RetryAfter != 59*time.Second {
		t.Fatalf("err = %v", err)
	}
	if len(rec.get()) != 0 || len(f.requests()) != 1 {
		t.Error("a long Retry-After is the caller's to schedule")
	}
}

func TestPDLRejectsThinInputLocally(t *testing.T) {
	f := newFake(t)
	p, _ := newPDL(t, f)
	for _, in := range []vendors.PDLPersonInput{
		{},
		{Name: "Ada Lovelace"},
		{FirstName: "Ada", Company: "Acme"},
		{Email: "ada@acme-robotics.example", MinLikelihood: 11},
	} {
		if _, err := p.EnrichPerson(context.Background(), in); !errors.Is(err, vendors.ErrBadInput) {
			t.Errorf("%+v: err = %v", in, err)
		}
	}
	if _, err := p.EnrichCompany(context.Background(), vendors.PDLCompanyInput{Name: "  "}); !errors.Is(err, vendors.ErrBadInput) {
		t.Errorf("company: err = %v", err)
	}
	if len(f.requests()) != 0 {
		t.Error("thin input was sent")
	}
}

func TestNewPDLNeedsKeyAndBase(t *testing.T) {
	_, err := vendors.NewPDL(vendors.Config{BaseURL: vendors.DefaultPDLBaseURL})
	var ce *vendors.ConfigError
	if !errors.Is(err, vendors.ErrNotConfigured) || !errors.As(err, &ce) || ce.Field != "APIKey" || ce.Service != "pdl" {
		t.Fatalf("err = %v", err)
	}
	if _, err := vendors.NewPDL(vendors.Config{BaseURL: "api.peopledatalabs.com", APIKey: "k"}); !errors.Is(err, vendors.ErrInvalidConfig) {
		t.Fatalf("err = %v", err)
	}
}
