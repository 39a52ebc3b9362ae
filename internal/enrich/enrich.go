// Package enrich fills in contact, lead and company fields from providers: libphonenumber, the
// company's own website, email patterns checked against DNS, an LLM, and vendors (Hunter,
// People Data Labs) when configured.
//
// Every provider answers per field with a value, a confidence on one 0-1 scale, a source and
// the time it was observed. The Engine runs a waterfall per field: providers in the service's
// configured order, stopping when a result reaches the confidence threshold or the next step
// would exceed the request's max_credits. Each paid step debits the ledger once per request
// and step; answers for records with a record_id are cached per org.
//
// Confidence scale (all providers):
//
//	0.95-1.0  verified by the authority itself (a valid number, an SMTP-accepted mailbox)
//	0.8-0.95  stated by the entity about itself (JSON-LD on its site) or learned from several
//	          agreeing examples
//	0.5-0.8   likely (a vendor's match, OpenGraph, a catch-all domain's best pattern)
//	0.2-0.5   plausible (a common pattern with no other evidence)
//	0         contradicted (no MX, an invalid number)
package enrich

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Services are the /v1/enrich endpoints.
const (
	Phone    = "phone"
	Email    = "email"
	Company  = "company"
	Person   = "person"
	AI       = "ai"
	Research = "research"
)

// Source says where a value came from.
type Source struct {
	Provider string `json:"provider" doc:"The provider, e.g. libphonenumber, website, email-pattern, hunter, pdl"`
	URL      string `json:"url,omitempty" doc:"The page or API the value came from"`
	Method   string `json:"method,omitempty" doc:"How it was found, e.g. json-ld, tel-link, mx-check, smtp"`
}

// Result is one field's value from one provider.
type Result struct {
	Value      any       `json:"value"`
	Confidence float64   `json:"confidence" minimum:"0" maximum:"1" doc:"0-1, one scale for every provider"`
	Source     Source    `json:"source"`
	ObservedAt time.Time `json:"observed_at"`
}

// Record is what the caller knows about the person or company, by field name: first_name,
// last_name, full_name, email, phone, country, company, domain, website, title, linkedin_url.
type Record map[string]string

// Options tune one request.
type Options struct {
	Threshold     float64 // stop a field's waterfall at this confidence; 0 means the configured default
	DefaultRegion string  // ISO 3166 region for numbers without a country code
	SMTPVerify    bool    // verify mailboxes over SMTP (off unless the server allows it)
	Providers     []string
}

// Input is what a provider gets.
type Input struct {
	OrgID   uuid.UUID
	Service string // the service asking, for providers that answer differently per service
	Record  Record
	Options Options
}

// Provider fills fields from one source.
type Provider interface {
	// Name identifies the provider in sources, prices and waterfalls.
	Name() string
	// Supplies lists the fields it can fill.
	Supplies() []string
	// Enrich returns what it found, by field; nothing found is an empty map, not an error.
	// An *apperr.Error with code invalid_input means the record itself is wrong.
	Enrich(ctx context.Context, in Input) (map[string]Result, error)
}

// Attempt is one provider step of a request, shown to the caller.
type Attempt struct {
	Provider string   `json:"provider"`
	Status   string   `json:"status" enum:"ok,empty,error,timeout,not_configured,skipped_budget,insufficient_credits" doc:"What happened: ok (found something), empty, error, timeout, not_configured, skipped_budget (max_credits reached), insufficient_credits"`
	Fields   []string `json:"fields,omitempty" doc:"Fields this step filled"`
	Credits  int64    `json:"credits" doc:"Credits this step cost (found nothing: 0)"`
	TookMS   int64    `json:"took_ms"`
	Error    string   `json:"error,omitempty" doc:"Why the step failed, or the setting that would enable it"`
}
