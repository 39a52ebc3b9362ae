package enrich

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/enrich/search"
	"github.com/lanternhq/lantern/internal/enrich/web"
)

// Plan is a service's waterfall: the fields it fills, most important first (the first is the
// one its confidence reports), and its providers in the order they are tried.
type Plan struct {
	Fields    []string
	Providers []string
}

// Engine runs waterfalls. Providers holds the configured ones; Unconfigured names, for each
// provider that is not, the setting that would enable it.
type Engine struct {
	DB           *bun.DB
	Ledger       *credits.Ledger
	Providers    map[string]Provider
	Unconfigured map[string]string
	Plans        map[string]Plan
	Prices       map[string]int64 // credits per provider step that finds something
	Threshold    float64
	CacheTTL     time.Duration
	StepTimeout  time.Duration
	LLMConfig    LLMConfig
	Web          *web.Fetcher   // SSRF-safe fetcher for the website provider and research
	Search       *search.Client // nil: web search is not configured
	Now          func() time.Time

	cacheOnce sync.Once
	answers   *cache
}

// Job is one enrichment request.
type Job struct {
	OrgID      uuid.UUID
	APIKeyID   *uuid.UUID
	RequestID  string // debits are idempotent per (RequestID, provider step)
	Service    string
	RecordID   string // enables the cache
	Record     Record
	MaxCredits int64 // 0: no per-request cap
	Options    Options
	// Debit charges a step; nil charges the org's balance. A batch charges its reservation.
	Debit func(context.Context, credits.Charge) (credits.Result, error)
}

// Outcome is what a job found.
type Outcome struct {
	Service     string            `json:"-"`
	Fields      map[string]Result `json:"fields"`
	Attempts    []Attempt         `json:"providers"`
	CreditsUsed int64             `json:"credits_used"`
	Confidence  float64           `json:"confidence"`
	Cached      bool              `json:"cached"`
	Balance     *int64            `json:"-"` // the org's balance after this job's last debit, if it made one
}

// Value returns a field's value, or nil.
func (o *Outcome) Value(field string) any {
	if r, ok := o.Fields[field]; ok {
		return r.Value
	}
	return nil
}

// feedBack are the fields a provider's finding may supply to later providers of the same job
// when the caller did not give them: a company lookup's domain lets the email pattern run.
var feedBack = []string{"domain", "website", "company", "first_name", "last_name", "email"}

// Run answers a job from the cache or by running its waterfall.
func (e *Engine) Run(ctx context.Context, job Job) (*Outcome, error) {
	plan, ok := e.Plans[job.Service]
	if !ok {
		return nil, fmt.Errorf("enrich: no plan for service %q", job.Service)
	}
	threshold := job.Options.Threshold
	if threshold <= 0 {
		threshold = e.Threshold
	}
	var key []byte
	if job.RecordID != "" {
		key = inputHash(job)
		if out, err := e.cached(ctx, job, key); err != nil || out != nil {
			return out, err
		}
	}
	rec := Record{}
	for k, v := range job.Record {
		if v != "" {
			rec[k] = v
		}
	}
	out := &Outcome{Service: job.Service, Fields: map[string]Result{}, Attempts: []Attempt{}}
	called := map[string]bool{}
	refused := false // the balance could not cover a step
	for _, field := range plan.Fields {
		for _, name := range e.order(plan, job.Options) {
			if out.Fields[field].Confidence >= threshold || refused {
				break
			}
			if called[name] || !e.supplies(name, field) {
				continue
			}
			called[name] = true
			p, ok := e.Providers[name]
			if !ok {
				out.Attempts = append(out.Attempts, Attempt{Provider: name, Status: "not_configured", Error: "set " + e.Unconfigured[name]})
				continue
			}
			price := e.Prices[name]
			if job.MaxCredits > 0 && out.CreditsUsed+price > job.MaxCredits {
				out.Attempts = append(out.Attempts, Attempt{Provider: name, Status: "skipped_budget",
					Error: fmt.Sprintf("costs %d credits; %d of max_credits %d left", price, job.MaxCredits-out.CreditsUsed, job.MaxCredits)})
				break
			}
			a, found, err := e.step(ctx, p, job, rec)
			if err != nil {
				return nil, err
			}
			if len(found) > 0 && price > 0 {
				debit := e.debit
				if job.Debit != nil {
					debit = job.Debit
				}
				r, err := debit(ctx, credits.Charge{OrgID: job.OrgID, APIKeyID: job.APIKeyID,
					RequestID: job.RequestID, Step: job.Service + "." + name, Service: "enrich." + job.Service, Amount: price})
				if apperr.Is(err, apperr.InsufficientCredits) {
					a.Status, a.Error, found, refused = "insufficient_credits", err.Error(), nil, true
				} else if err != nil {
					return nil, err
				} else {
					a.Credits = price
					out.CreditsUsed += price
					out.Balance = &r.Balance
				}
			}
			for f, r := range found {
				if cur, ok := out.Fields[f]; !ok || r.Confidence > cur.Confidence {
					out.Fields[f] = r
				}
				if s, ok := r.Value.(string); ok && slices.Contains(feedBack, f) && rec[f] == "" {
					rec[f] = s
				}
			}
			out.Attempts = append(out.Attempts, a)
		}
	}
	if refused && len(out.Fields) == 0 {
		return nil, apperr.New(apperr.InsufficientCredits, "the balance cannot cover this enrichment")
	}
	if len(plan.Fields) > 0 {
		out.Confidence = out.Fields[plan.Fields[0]].Confidence
	}
	if key != nil && cacheable(out) {
		if err := e.store(ctx, job, key, out, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// debit charges through the batching ledger when the engine has one.
func (e *Engine) debit(ctx context.Context, c credits.Charge) (credits.Result, error) {
	if e.Ledger != nil {
		return e.Ledger.Debit(ctx, c)
	}
	return credits.Debit(ctx, e.DB, c)
}

// order is the plan's providers, narrowed to the ones the request asked for, if any.
func (e *Engine) order(plan Plan, opts Options) []string {
	if len(opts.Providers) == 0 {
		return plan.Providers
	}
	var out []string
	for _, p := range plan.Providers {
		if slices.Contains(opts.Providers, p) {
			out = append(out, p)
		}
	}
	return out
}

func (e *Engine) supplies(name, field string) bool {
	if p, ok := e.Providers[name]; ok {
		return slices.Contains(p.Supplies(), field)
	}
	return slices.Contains(unconfiguredSupplies[name], field)
}

// unconfiguredSupplies lets the waterfall show a vendor that is not configured at the place it
// would have run, so the caller sees which setting would add it.
var unconfiguredSupplies = map[string][]string{
	"hunter": Hunter{}.Supplies(),
	"pdl":    PDL{}.Supplies(),
}

// step calls one provider under the step timeout. A provider failure is recorded in the
// attempt and the waterfall goes on. The caller's own input is validated before a job runs
// (ValidateRecord), so a provider's invalid_input is about a value another provider found,
// and is that step's failure too.
func (e *Engine) step(ctx context.Context, p Provider, job Job, rec Record) (Attempt, map[string]Result, error) {
	a := Attempt{Provider: p.Name()}
	sctx, cancel := context.WithTimeout(ctx, e.StepTimeout)
	defer cancel()
	start := time.Now()
	found, err := p.Enrich(sctx, Input{OrgID: job.OrgID, Service: job.Service, Record: rec, Options: job.Options})
	a.TookMS = time.Since(start).Milliseconds()
	switch {
	case err != nil && ctx.Err() != nil:
		return a, nil, ctx.Err() // the caller went away
	case errors.Is(err, context.DeadlineExceeded) || sctx.Err() != nil:
		a.Status, a.Error = "timeout", fmt.Sprintf("no answer within %s", e.StepTimeout)
		return a, nil, nil
	case err != nil:
		a.Status, a.Error = "error", clientMessage(err)
		return a, nil, nil
	case len(found) == 0:
		a.Status = "empty"
		return a, nil, nil
	}
	a.Status = "ok"
	for f := range found {
		a.Fields = append(a.Fields, f)
	}
	slices.Sort(a.Fields)
	return a, found, nil
}

// clientMessage is an error's text when it is meant for clients, else a generic one: provider
// errors can carry URLs with keys or internal addresses.
func clientMessage(err error) string {
	if ae, ok := apperr.As(err); ok {
		return ae.Message
	}
	return "provider failed"
}

// cacheable: a result with a failed step would hide a later, better answer.
func cacheable(o *Outcome) bool {
	for _, a := range o.Attempts {
		if a.Status == "error" || a.Status == "timeout" || a.Status == "insufficient_credits" {
			return false
		}
	}
	return true
}
