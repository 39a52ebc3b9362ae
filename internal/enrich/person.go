package enrich

import (
	"context"
)

// Person enriches a person: the company they work for (from its website, or a vendor), then
// the person's own fields (email, phone, title, LinkedIn, location) with the company's domain
// in hand. Both parts share the request's max_credits; the answer is cached as a whole.
func (e *Engine) Person(ctx context.Context, job Job) (*Outcome, error) {
	job.Service = Person
	if out, err := e.Cached(ctx, job); err != nil || out != nil {
		return out, err
	}
	cached := job.RecordID
	job.RecordID = "" // the parts are not cached on their own

	out := &Outcome{Service: Person, Fields: map[string]Result{}, Attempts: []Attempt{}}
	rec := Record{}
	for k, v := range job.Record {
		rec[k] = v
	}
	if companyDomain(rec) != "" || rec["company"] != "" {
		cj := job
		cj.Service, cj.Record = Company, rec
		co, err := e.Run(ctx, cj)
		if err != nil {
			return nil, err
		}
		out.Attempts = append(out.Attempts, co.Attempts...)
		out.CreditsUsed += co.CreditsUsed
		if co.Balance != nil {
			out.Balance = co.Balance
		}
		if len(co.Fields) > 0 {
			company := map[string]any{}
			for f, r := range co.Fields {
				company[f] = r.Value
			}
			src := co.Fields["name"].Source
			if src.Provider == "" {
				src = Source{Provider: "website"}
			}
			out.Fields["company"] = Result{Value: company, Confidence: co.Confidence, Source: src, ObservedAt: co.Fields["name"].ObservedAt}
			if d, ok := co.Value("domain").(string); ok && rec["domain"] == "" {
				rec["domain"] = d
			}
		}
	}
	pj := job
	pj.Record = rec
	if job.MaxCredits > 0 {
		pj.MaxCredits = job.MaxCredits - out.CreditsUsed
		if pj.MaxCredits <= 0 { // the company took the whole budget
			out.Attempts = append(out.Attempts, Attempt{Provider: "person", Status: "skipped_budget", Error: "max_credits was spent on the company"})
			return out, nil
		}
	}
	po, err := e.Run(ctx, pj)
	if err != nil {
		return nil, err
	}
	for f, r := range po.Fields {
		out.Fields[f] = r
	}
	out.Attempts = append(out.Attempts, po.Attempts...)
	out.CreditsUsed += po.CreditsUsed
	if po.Balance != nil {
		out.Balance = po.Balance
	}
	out.Confidence = po.Confidence
	if cached != "" && cacheable(out) {
		job.RecordID = cached
		if err := e.Store(ctx, job, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}
