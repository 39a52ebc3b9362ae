package vendors

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lanternhq/lantern/internal/enrich/httpx"
)

// PDL calls People Data Labs' v5 enrichment APIs with the key in the X-Api-Key header.
type PDL struct {
	base *url.URL
	key  string
	t    *httpx.Transport
}

// NewPDL checks cfg; an empty BaseURL or APIKey is a *ConfigError (ErrNotConfigured).
func NewPDL(cfg Config) (*PDL, error) {
	base, t, err := newTransport("pdl", cfg)
	if err != nil {
		return nil, err
	}
	t.ParseError = parsePDLError
	t.Classify = classifyPDL
	t.WaitHint = pdlRetryAfter
	return &PDL{base: base, key: cfg.APIKey, t: t}, nil
}

// PDLPersonInput identifies a person. PDL needs Email, Phone or Profile; or a name (Name, or
// FirstName+LastName) together with Company or Location.
type PDLPersonInput struct {
	Email         string
	Phone         string
	Profile       string // a social profile URL, e.g. linkedin.com/in/seanthorne
	Name          string
	FirstName     string
	LastName      string
	Company       string // name, website or social URL of an employer
	Location      string
	MinLikelihood int // 1-10; PDL answers 404 below it. 0 leaves PDL's default.
}

// PDLPerson is a person match.
type PDLPerson struct {
	Status     int
	Likelihood int // 1-10
	Data       PDLPersonData
	Raw        json.RawMessage // the whole response body
}

// Confidence maps the match onto the engine's 0-1 scale (see the package documentation).
func (p PDLPerson) Confidence() float64 { return PDLConfidence(p.Likelihood) }

// PDLPersonData holds the person fields the engine uses; everything else is in Raw.
type PDLPersonData struct {
	ID                       string
	FullName                 string
	FirstName                string
	LastName                 string
	WorkEmail                string
	PersonalEmails           []string
	RecommendedPersonalEmail string
	MobilePhone              string
	PhoneNumbers             []string
	JobTitle                 string
	JobCompanyName           string
	JobCompanyWebsite        string
	JobCompanyLinkedInURL    string
	LinkedInURL              string
	LocationName             string
	LocationCountry          string
	// Masked lists fields PDL has a value for but the plan does not show: free plans send
	// true in place of contact fields (emails, phone numbers, street addresses).
	Masked []string
}

// EnrichPerson finds the one person that matches in. No match is an *APIError of
// KindNotFound (ErrNotFound): a normal answer, which PDL does not bill.
func (p *PDL) EnrichPerson(ctx context.Context, in PDLPersonInput) (PDLPerson, error) {
	q := url.Values{}
	set(q, "email", strings.TrimSpace(in.Email))
	set(q, "phone", strings.TrimSpace(in.Phone))
	set(q, "profile", strings.TrimSpace(in.Profile))
	set(q, "name", strings.TrimSpace(in.Name))
	set(q, "first_name", strings.TrimSpace(in.FirstName))
	set(q, "last_name", strings.TrimSpace(in.LastName))
	set(q, "company", strings.TrimSpace(in.Company))
	set(q, "location", strings.TrimSpace(in.Location))
	identified := q.Has("email") || q.Has("phone") || q.Has("profile")
	named := q.Has("name") || (q.Has("first_name") && q.Has("last_name"))
	if !identified && !(named && (q.Has("company") || q.Has("location"))) {
		return PDLPerson{}, fmt.Errorf("%w: PDL needs an email, phone or profile URL, or a name with a company or location", ErrBadInput)
	}
	if err := setLikelihood(q, in.MinLikelihood); err != nil {
		return PDLPerson{}, err
	}
	resp, err := p.get(ctx, "/person/enrich", q)
	if err != nil {
		return PDLPerson{}, err
	}
	return parsePDLPerson(resp.Status, resp.Body)
}

func parsePDLPerson(status int, body []byte) (PDLPerson, error) {
	var w struct {
		Status     int             `json:"status"`
		Likelihood json.Number     `json:"likelihood"`
		Data       json.RawMessage `json:"data"`
	}
	if err := decodeNumbers(body, &w); err != nil {
		return PDLPerson{}, badBody("pdl", status, err)
	}
	m, err := object(w.Data)
	if err != nil || m == nil {
		return PDLPerson{}, badBody("pdl", status, fmt.Errorf("no data object"))
	}
	f := fields{m: m}
	out := PDLPerson{
		Status:     w.Status,
		Likelihood: likelihood(w.Likelihood),
		Raw:        json.RawMessage(body),
		Data: PDLPersonData{
			ID:                       f.str("id"),
			FullName:                 f.str("full_name"),
			FirstName:                f.str("first_name"),
			LastName:                 f.str("last_name"),
			WorkEmail:                f.str("work_email"),
			PersonalEmails:           f.list("personal_emails"),
			RecommendedPersonalEmail: f.str("recommended_personal_email"),
			MobilePhone:              f.str("mobile_phone"),
			PhoneNumbers:             f.list("phone_numbers"),
			JobTitle:                 f.str("job_title"),
			JobCompanyName:           f.str("job_company_name"),
			JobCompanyWebsite:        f.str("job_company_website"),
			JobCompanyLinkedInURL:    f.str("job_company_linkedin_url"),
			LinkedInURL:              f.str("linkedin_url"),
			LocationName:             f.str("location_name"),
			LocationCountry:          f.str("location_country"),
		},
	}
	out.Data.Masked = f.masked
	if out.Status == 0 {
		out.Status = status
	}
	return out, nil
}

// PDLCompanyInput identifies a company; at least one field is needed.
type PDLCompanyInput struct {
	Website       string
	Name          string
	Profile       string // a social profile URL, e.g. linkedin.com/company/peopledatalabs
	Ticker        string
	MinLikelihood int // 1-10; 0 leaves PDL's default
}

// PDLLocation is a company's headquarters.
type PDLLocation struct {
	Name          string
	Locality      string
	Region        string
	Country       string
	StreetAddress string
	PostalCode    string
}

// PDLCompany is a company match. Unlike the person API, PDL returns the company's fields at
// the top level of the body, next to status and likelihood.
type PDLCompany struct {
	Status        int
	Likelihood    int // 1-10
	ID            string
	Name          string
	DisplayName   string
	Website       string
	Size          string // a range such as "51-200"
	EmployeeCount int
	Founded       int
	Industry      string
	Location      PDLLocation
	LinkedInURL   string
	TwitterURL    string
	FacebookURL   string
	Ticker        string
	Type          string // public, private, nonprofit, ...
	Summary       string
	Tags          []string
	Masked        []string        // fields present but hidden by the plan
	Raw           json.RawMessage // the whole response body
}

// Confidence maps the match onto the engine's 0-1 scale (see the package documentation).
func (c PDLCompany) Confidence() float64 { return PDLConfidence(c.Likelihood) }

// EnrichCompany finds the one company that matches in; no match is KindNotFound.
func (p *PDL) EnrichCompany(ctx context.Context, in PDLCompanyInput) (PDLCompany, error) {
	q := url.Values{}
	set(q, "website", strings.TrimSpace(in.Website))
	set(q, "name", strings.TrimSpace(in.Name))
	set(q, "profile", strings.TrimSpace(in.Profile))
	set(q, "ticker", strings.TrimSpace(in.Ticker))
	if len(q) == 0 {
		return PDLCompany{}, fmt.Errorf("%w: PDL needs a website, name, profile URL or ticker", ErrBadInput)
	}
	if err := setLikelihood(q, in.MinLikelihood); err != nil {
		return PDLCompany{}, err
	}
	resp, err := p.get(ctx, "/company/enrich", q)
	if err != nil {
		return PDLCompany{}, err
	}
	return parsePDLCompany(resp.Status, resp.Body)
}

func parsePDLCompany(status int, body []byte) (PDLCompany, error) {
	m, err := object(body)
	if err != nil || m == nil {
		return PDLCompany{}, badBody("pdl", status, fmt.Errorf("not a JSON object"))
	}
	f := fields{m: m}
	out := PDLCompany{
		Status:        f.int("status"),
		Likelihood:    f.int("likelihood"),
		ID:            f.str("id"),
		Name:          f.str("name"),
		DisplayName:   f.str("display_name"),
		Website:       f.str("website"),
		Size:          f.str("size"),
		EmployeeCount: f.int("employee_count"),
		Founded:       f.int("founded"),
		Industry:      f.str("industry"),
		LinkedInURL:   f.str("linkedin_url"),
		TwitterURL:    f.str("twitter_url"),
		FacebookURL:   f.str("facebook_url"),
		Ticker:        f.str("ticker"),
		Type:          f.str("type"),
		Summary:       f.str("summary"),
		Tags:          f.list("tags"),
		Raw:           json.RawMessage(body),
	}
	if loc, _ := object(m["location"]); loc != nil {
		lf := fields{m: loc, prefix: "location."}
		out.Location = PDLLocation{Name: lf.str("name"), Locality: lf.str("locality"), Region: lf.str("region"),
			Country: lf.str("country"), StreetAddress: lf.str("street_address"), PostalCode: lf.str("postal_code")}
		f.masked = append(f.masked, lf.masked...)
	}
	out.Masked = f.masked
	if out.Status == 0 {
		out.Status = status
	}
	out.Likelihood = max(0, min(10, out.Likelihood))
	return out, nil
}

func (p *PDL) get(ctx context.Context, path string, q url.Values) (*httpx.Response, error) {
	target := endpoint(p.base, path, q)
	return p.t.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("X-Api-Key", p.key)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "lantern-enrich")
		return req, nil
	})
}

func setLikelihood(q url.Values, n int) error {
	switch {
	case n == 0:
		return nil
	case n < 1 || n > 10:
		return fmt.Errorf("%w: MinLikelihood must be 1-10, not %d", ErrBadInput, n)
	}
	q.Set("min_likelihood", strconv.Itoa(n))
	return nil
}

// parsePDLError reads {"status": N, "error": {"type", "message"}}; PDL names no parameter.
func parsePDLError(_ int, body []byte) (code, param, message string) {
	var w struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &w) != nil || len(w.Error) == 0 {
		return "", "", ""
	}
	var e struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	if json.Unmarshal(w.Error, &e) == nil {
		return e.Type, "", e.Message
	}
	var s string
	_ = json.Unmarshal(w.Error, &s)
	return "", "", s
}

// classifyPDL follows PDL's table: 402 means the credits are used up.
func classifyPDL(status int, code string) Kind {
	if code == "payment_required" {
		return KindQuotaExceeded
	}
	return httpx.ClassifyStatus(status)
}

// pdlRetryAfter also reads x-ratelimit-reset, which PDL documents as the UTC time the
// window resets ("2022-02-23T20:19:55Z"; older releases sent epoch seconds).
func pdlRetryAfter(h http.Header, now time.Time) time.Duration {
	if d := httpx.RetryAfter(h, now); d > 0 {
		return d
	}
	v := strings.Trim(strings.TrimSpace(h.Get("X-Ratelimit-Reset")), `"`)
	if v == "" {
		return 0
	}
	var at time.Time
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		at = t
	} else if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs > 1e9 {
		at = time.Unix(secs, 0)
	} else {
		return 0
	}
	if d := at.Sub(now); d > 0 && d <= time.Hour {
		return d
	}
	return 0
}

func decodeNumbers(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(v)
}

func object(raw []byte) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func likelihood(n json.Number) int {
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) {
		return 0
	}
	return int(math.Round(math.Max(0, math.Min(10, f))))
}

// fields reads PDL values leniently: a field may be null, the value, or (free plans, for
// contact fields) a boolean saying whether a hidden value exists.
type fields struct {
	m      map[string]json.RawMessage
	prefix string
	masked []string
}

func (f *fields) str(key string) string {
	raw, ok := f.m[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		if b {
			f.masked = append(f.masked, f.prefix+key)
		}
		return ""
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func (f *fields) list(key string) []string {
	raw, ok := f.m[key]
	if !ok {
		return nil
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return ss
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil && b {
		f.masked = append(f.masked, f.prefix+key)
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) == nil {
		for _, it := range items {
			var s string
			if json.Unmarshal(it, &s) == nil {
				ss = append(ss, s)
			}
		}
	}
	return ss
}

func (f *fields) int(key string) int {
	raw, ok := f.m[key]
	if !ok {
		return 0
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return 0
	}
	v, err := n.Float64()
	if err != nil || math.IsNaN(v) || math.Abs(v) > math.MaxInt32 {
		return 0
	}
	return int(v)
}
