package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/ratelimit"
)

// EnrichCommon are the fields every /v1/enrich body takes.
// (Exported: Huma flattens only exported embedded structs into the schema.)
type EnrichCommon struct {
	RecordID   string         `json:"record_id,omitempty" maxLength:"255" doc:"Your id for the record. Enables caching: the same record with the same inputs is answered from the cache for free"`
	MaxCredits int64          `json:"max_credits,omitempty" minimum:"0" doc:"The most this request may spend; providers that would exceed it are skipped. 0 or absent: no cap"`
	Options    *EnrichOptions `json:"options,omitempty"`
}

type EnrichOptions struct {
	Threshold     float64  `json:"threshold,omitempty" minimum:"0" maximum:"1" doc:"Stop trying providers for a field once one reaches this confidence (default 0.8)"`
	DefaultRegion string   `json:"default_region,omitempty" pattern:"^[A-Za-z]{2}$" doc:"ISO 3166 region for phone numbers without a country code"`
	SMTPVerify    bool     `json:"smtp_verify,omitempty" doc:"Verify mailboxes over SMTP, when the server allows it (LANTERN_SMTP_VERIFY)"`
	Providers     []string `json:"providers,omitempty" maxItems:"10" doc:"Only try these providers, in the configured order"`
}

func (c EnrichCommon) options() enrich.Options {
	if c.Options == nil {
		return enrich.Options{}
	}
	o := c.Options
	return enrich.Options{Threshold: o.Threshold, DefaultRegion: strings.ToUpper(o.DefaultRegion), SMTPVerify: o.SMTPVerify, Providers: o.Providers}
}

// PersonFields name a person and where they work.
type PersonFields struct {
	FirstName string `json:"first_name,omitempty" maxLength:"100"`
	LastName  string `json:"last_name,omitempty" maxLength:"100"`
	FullName  string `json:"full_name,omitempty" maxLength:"200" doc:"Used when first_name/last_name are not given"`
	Company   string `json:"company,omitempty" maxLength:"200" doc:"Company name"`
	Domain    string `json:"domain,omitempty" maxLength:"253" doc:"Company domain, e.g. acme.com"`
	Website   string `json:"website,omitempty" maxLength:"2048" doc:"Company website URL; its domain is used when domain is absent"`
}

type phoneInput struct {
	Body struct {
		EnrichCommon
		PersonFields
		Phone   string `json:"phone,omitempty" maxLength:"64" doc:"A phone number as written anywhere; validated and described"`
		Country string `json:"country,omitempty" pattern:"^[A-Za-z]{2}$" doc:"ISO 3166 region the record is in"`
	}
}

type emailInput struct {
	Body struct {
		EnrichCommon
		PersonFields
		Email string `json:"email,omitempty" maxLength:"254" doc:"An address to verify; without it, one is found from the name and the company"`
	}
}

type aiInput struct {
	Body struct {
		RecordID    string          `json:"record_id,omitempty" maxLength:"255" doc:"Your id for the record; enables caching"`
		Instruction string          `json:"instruction" minLength:"1" maxLength:"4000" doc:"What to produce, e.g. 'Classify the company's industry and buying stage'"`
		Record      json.RawMessage `json:"record" doc:"The record to work from (any JSON object); it is given to the model as data, never as instructions"`
		Schema      json.RawMessage `json:"schema" doc:"JSON Schema of the output; the answer is validated against it"`
		MaxCredits  int64           `json:"max_credits,omitempty" minimum:"0" doc:"The most this request may spend; the model's answer is capped to fit"`
	}
}

type companyInput struct {
	Body struct {
		EnrichCommon
		Domain  string `json:"domain,omitempty" maxLength:"253" doc:"The company's domain, e.g. acme.com"`
		Website string `json:"website,omitempty" maxLength:"2048" doc:"The company's website URL, when domain is not given"`
		Name    string `json:"name,omitempty" maxLength:"200" doc:"The company name you expect; website_verified checks the site agrees"`
	}
}

type personInput struct {
	Body struct {
		EnrichCommon
		PersonFields
		Email       string `json:"email,omitempty" maxLength:"254"`
		Phone       string `json:"phone,omitempty" maxLength:"64"`
		Country     string `json:"country,omitempty" pattern:"^[A-Za-z]{2}$"`
		LinkedInURL string `json:"linkedin_url,omitempty" maxLength:"2048"`
	}
}

// EnrichResponse is every /v1/enrich answer.
type EnrichResponse struct {
	Success     bool                     `json:"success"`
	Service     string                   `json:"service" example:"phone"`
	RecordID    string                   `json:"record_id,omitempty"`
	Cached      bool                     `json:"cached" doc:"Answered from the cache: cost nothing"`
	CreditsUsed int64                    `json:"credits_used"`
	Confidence  float64                  `json:"confidence" doc:"Confidence of the service's main field (0-1)"`
	Data        map[string]any           `json:"data" doc:"The values found, by field"`
	Fields      map[string]enrich.Result `json:"fields" doc:"Each value with its confidence, source and observed_at"`
	Providers   []enrich.Attempt         `json:"providers" doc:"Every provider step: tried, skipped or failed, and what it cost"`
}

type enrichOutput struct {
	// The balance after this request's debits; without debits the gate's value stands.
	CreditsRemaining *int64 `header:"X-Credits-Remaining"`
	Body             EnrichResponse
}

func (s *Server) registerEnrich(a huma.API) {
	huma.Register(a, op(huma.Operation{
		OperationID: "enrichPhone", Method: http.MethodPost, Path: "/v1/enrich/phone", Tags: []string{"Enrich"},
		Summary: "Validate and find phone numbers",
		Description: "Parses and validates the given number (E.164, national and international formats, type, region, " +
			"carrier, time zones) and finds numbers on the company's website. Providers: libphonenumber, website, pdl.",
		Errors: []int{http.StatusPaymentRequired, http.StatusUnprocessableEntity},
	}, limits(ratelimit.Sync)), s.enrichPhone)
	huma.Register(a, op(huma.Operation{
		OperationID: "enrichEmail", Method: http.MethodPost, Path: "/v1/enrich/email", Tags: []string{"Enrich"},
		Summary: "Find or verify a work email",
		Description: "With `email`: verifies it (syntax, MX, SMTP when allowed) and flags webmail, disposable and role " +
			"addresses. Without: finds the address from the name and the company domain, using the pattern of addresses " +
			"the org already knows at that domain, and returns status (valid, accept_all, unknown, invalid), confidence, " +
			"the pattern and alternatives. Providers: email-pattern, hunter, pdl.",
		Errors: []int{http.StatusPaymentRequired, http.StatusUnprocessableEntity},
	}, limits(ratelimit.Sync)), s.enrichEmail)
	huma.Register(a, op(huma.Operation{
		OperationID: "enrichCompany", Method: http.MethodPost, Path: "/v1/enrich/company", Tags: []string{"Enrich"},
		Summary: "Company firmographics from its own website",
		Description: "Reads the home page, /about and /contact (robots.txt respected, SSRF-safe): name, legal name, " +
			"description, logo, address, phones, emails, social profiles, founding date, employees, language (JSON-LD, " +
			"OpenGraph, meta), and website_verified: the domain resolves, TLS is valid, redirects stay on the domain and the " +
			"name agrees. Providers: website, pdl.",
		Errors: []int{http.StatusPaymentRequired, http.StatusUnprocessableEntity},
	}, limits(ratelimit.Sync)), s.enrichCompany)
	huma.Register(a, op(huma.Operation{
		OperationID: "enrichPerson", Method: http.MethodPost, Path: "/v1/enrich/person", Tags: []string{"Enrich"},
		Summary: "Enrich a person",
		Description: "Composes the providers: the company (its website), then the person's work email, phone, title, " +
			"LinkedIn and location. Needs a name plus a company, domain or email.",
		Errors: []int{http.StatusPaymentRequired, http.StatusUnprocessableEntity},
	}, limits(ratelimit.Sync)), s.enrichPerson)
	huma.Register(a, op(huma.Operation{
		OperationID: "enrichAI", Method: http.MethodPost, Path: "/v1/enrich/ai", Tags: []string{"Enrich"},
		Summary: "Structured AI enrichment",
		Description: "Gives the instruction and the record to the configured language model and returns data that " +
			"matches `schema` (validated; an invalid answer is repaired once, then reported). The record is fenced off as " +
			"data. Tokens are billed at LANTERN_LLM_CREDITS_PER_1K_TOKENS; with max_credits the answer is capped to fit. " +
			"Without a model configured: 501 not_configured naming LANTERN_LLM_BASE_URL.",
		Errors: []int{http.StatusPaymentRequired, http.StatusUnprocessableEntity, http.StatusNotImplemented, http.StatusServiceUnavailable},
	}, limits(ratelimit.Sync)), s.enrichAI)
}

func (s *Server) enrichCompany(ctx context.Context, in *companyInput) (*enrichOutput, error) {
	b := in.Body
	if b.Domain == "" && b.Website == "" {
		return nil, apperr.Field("body.domain", "give the company's domain (or website)")
	}
	return s.runEnrich(ctx, enrich.Company, b.EnrichCommon, enrich.Record{"domain": b.Domain, "website": b.Website, "company": b.Name})
}

func (s *Server) enrichPerson(ctx context.Context, in *personInput) (*enrichOutput, error) {
	b := in.Body
	named := b.FirstName != "" || b.LastName != "" || b.FullName != ""
	if !named && b.Email == "" && b.LinkedInURL == "" {
		return nil, apperr.Field("body.first_name", "give the person's name (first_name and last_name, or full_name), or their email or linkedin_url")
	}
	if b.Company == "" && b.Domain == "" && b.Website == "" && b.Email == "" && b.LinkedInURL == "" {
		return nil, apperr.Field("body.domain", "give where the person works: domain, website or company (or their email)")
	}
	if s.enrich == nil {
		return nil, apperr.New(apperr.Unavailable, "enrichment is not set up on this server")
	}
	rec := personRecord(b.PersonFields)
	rec["email"], rec["phone"], rec["country"], rec["linkedin_url"] = b.Email, b.Phone, strings.ToUpper(b.Country), b.LinkedInURL
	if err := enrich.ValidateRecord(rec, s.region(b.EnrichCommon)); err != nil {
		return nil, err
	}
	p := PrincipalFrom(ctx)
	out, err := s.enrich.Person(ctx, enrich.Job{OrgID: p.OrgID, APIKeyID: &p.KeyID, RequestID: RequestIDFrom(ctx),
		RecordID: b.RecordID, Record: rec, MaxCredits: b.MaxCredits, Options: b.options()})
	if err != nil {
		return nil, err
	}
	return s.enrichAnswer(ctx, enrich.Person, b.RecordID, out)
}

func (s *Server) enrichAI(ctx context.Context, in *aiInput) (*enrichOutput, error) {
	b := in.Body
	if !isJSONObject(b.Record) {
		return nil, apperr.Field("body.record", "must be a JSON object")
	}
	if !isJSONObject(b.Schema) {
		return nil, apperr.Field("body.schema", "must be a JSON Schema object")
	}
	if s.enrich == nil {
		return nil, apperr.New(apperr.Unavailable, "enrichment is not set up on this server")
	}
	p := PrincipalFrom(ctx)
	out, err := s.enrich.AI(ctx, enrich.AIJob{OrgID: p.OrgID, APIKeyID: &p.KeyID, RequestID: RequestIDFrom(ctx),
		RecordID: b.RecordID, Instruction: b.Instruction, Record: b.Record, Schema: b.Schema, MaxCredits: b.MaxCredits})
	if err != nil {
		return nil, err
	}
	return s.enrichAnswer(ctx, enrich.AI, b.RecordID, out)
}

func isJSONObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return len(raw) > 0 && json.Unmarshal(raw, &m) == nil && m != nil
}

func (s *Server) enrichEmail(ctx context.Context, in *emailInput) (*enrichOutput, error) {
	b := in.Body
	if b.Email == "" {
		if b.FirstName == "" && b.LastName == "" && b.FullName == "" {
			return nil, apperr.Field("body.first_name", "give first_name and last_name (or full_name) to find an address, or email to verify one")
		}
		if b.Domain == "" && b.Website == "" && b.Company == "" {
			return nil, apperr.Field("body.domain", "give the company's domain (or website, or company name) to find an address at")
		}
	}
	rec := personRecord(b.PersonFields)
	rec["email"] = b.Email
	return s.runEnrich(ctx, enrich.Email, b.EnrichCommon, rec)
}

func (s *Server) enrichPhone(ctx context.Context, in *phoneInput) (*enrichOutput, error) {
	b := in.Body
	if b.Phone == "" && b.Domain == "" && b.Website == "" {
		return nil, apperr.Field("body.phone", "give a phone to validate, or a domain or website to find numbers on")
	}
	rec := personRecord(b.PersonFields)
	rec["phone"], rec["country"] = b.Phone, strings.ToUpper(b.Country)
	return s.runEnrich(ctx, enrich.Phone, b.EnrichCommon, rec)
}

// region is the default region for phones: the request's, else the server's.
func (s *Server) region(c EnrichCommon) string {
	if c.Options != nil && c.Options.DefaultRegion != "" {
		return strings.ToUpper(c.Options.DefaultRegion)
	}
	return s.cfg.Enrich.DefaultRegion
}

func personRecord(p PersonFields) enrich.Record {
	return enrich.Record{"first_name": p.FirstName, "last_name": p.LastName, "full_name": p.FullName,
		"company": p.Company, "domain": p.Domain, "website": p.Website}
}

// runEnrich runs one job for the caller and shapes the answer.
func (s *Server) runEnrich(ctx context.Context, service string, c EnrichCommon, rec enrich.Record) (*enrichOutput, error) {
	if s.enrich == nil {
		return nil, apperr.New(apperr.Unavailable, "enrichment is not set up on this server")
	}
	if err := enrich.ValidateRecord(rec, s.region(c)); err != nil {
		return nil, err
	}
	p := PrincipalFrom(ctx)
	out, err := s.enrich.Run(ctx, enrich.Job{OrgID: p.OrgID, APIKeyID: &p.KeyID, RequestID: RequestIDFrom(ctx),
		Service: service, RecordID: c.RecordID, Record: rec, MaxCredits: c.MaxCredits, Options: c.options()})
	if err != nil {
		return nil, err
	}
	return s.enrichAnswer(ctx, service, c.RecordID, out)
}

func (s *Server) enrichAnswer(_ context.Context, service, recordID string, out *enrich.Outcome) (*enrichOutput, error) {
	data := map[string]any{}
	for f, r := range out.Fields {
		data[f] = r.Value
	}
	return &enrichOutput{CreditsRemaining: out.Balance, Body: EnrichResponse{
		Success: true, Service: service, RecordID: recordID, Cached: out.Cached, CreditsUsed: out.CreditsUsed,
		Confidence: out.Confidence, Data: data, Fields: out.Fields, Providers: out.Attempts,
	}}, nil
}
