package workflows

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/lanternhq/lantern/activities"
	"github.com/lanternhq/lantern/internal/enrich"
)

// ResearchInput is one deep-research request.
type ResearchInput struct {
	ResearchID string
	OrgID      uuid.UUID
	APIKeyID   *uuid.UUID
	RequestID  string // debits are keyed by it and each step's name
	Question   string
	Subject    enrich.Record
	MaxCredits int64 // the run's budget
	MaxQueries int
	MaxPages   int
	RecordID   string // when set, the answer is cached for the record
	BatchID    string // when set, a record of this batch: steps are charged to its reservation
}

// reportShare is the part of the budget kept for writing the report.
const reportShare = 4 // one quarter

// ResearchWorkflow plans web queries with the model, searches, reads the best pages (fetched
// SSRF-safe; only their notes enter history), and writes a report with numbered citations. It
// keeps within its credit budget: every step gets at most what remains, a quarter is kept for
// the report, and when the budget runs out it writes the report from what it has.
func ResearchWorkflow(ctx workflow.Context, in ResearchInput) (enrich.ResearchResult, error) {
	prog := enrich.ResearchProgress{Stage: "planning", Queries: []string{}}
	if err := workflow.SetQueryHandler(ctx, ResearchProgressQuery, func() (enrich.ResearchProgress, error) { return prog, nil }); err != nil {
		return enrich.ResearchResult{}, err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: 30 * time.Second, MaximumAttempts: 3},
	})
	var a *activities.Research
	res := enrich.ResearchResult{Citations: []enrich.Citation{}, Queries: []string{}, Steps: []enrich.Attempt{}}
	spent := int64(0)
	bill := func(step string, budget int64) activities.Bill {
		return activities.Bill{OrgID: in.OrgID, APIKeyID: in.APIKeyID, RequestID: in.RequestID, Step: "research." + step, Budget: budget,
			BatchID: in.BatchID, RecordID: in.RecordID}
	}
	record := func(provider string, out activities.StepOutput, status, errText string) {
		spent += out.Credits
		prog.CreditsUsed = spent
		res.Steps = append(res.Steps, enrich.Attempt{Provider: provider, Status: status, Credits: out.Credits, TookMS: out.TookMS, Error: errText})
	}
	reserve := in.MaxCredits / reportShare
	budgetExhausted := false

	// 1. Plan.
	var plan activities.PlanOutput
	if err := workflow.ExecuteActivity(ctx, a.Plan, activities.PlanInput{Bill: bill("plan", in.MaxCredits-reserve),
		Question: in.Question, Subject: in.Subject, MaxQueries: in.MaxQueries}).Get(ctx, &plan); err != nil {
		return res, err
	}
	record("llm", plan.StepOutput, "ok", "")
	res.Queries, prog.Queries = plan.Queries, plan.Queries

	// 2. Search, all queries at once.
	prog.Stage = "searching"
	var searches []workflow.Future
	for i, q := range plan.Queries {
		if in.MaxCredits-reserve-spent < int64(len(plan.Queries)-i) {
			budgetExhausted = true
			break
		}
		searches = append(searches, workflow.ExecuteActivity(ctx, a.Search, activities.SearchInput{
			Bill: bill("search."+strconv.Itoa(i), 1+in.MaxCredits-reserve-spent), Query: q}))
	}
	var hits [][]activities.Hit
	for _, f := range searches {
		var out activities.SearchOutput
		if err := f.Get(ctx, &out); err != nil {
			return res, err
		}
		record("search", out.StepOutput, "ok", "")
		hits = append(hits, out.Hits)
	}

	// 3. Read the best pages, all at once, each with an equal share of what is left.
	pages := pickPages(hits, in.MaxPages)
	prog.Stage, prog.PagesPlanned = "reading", len(pages)
	var sources []enrich.SourceNotes
	if left := in.MaxCredits - reserve - spent; len(pages) > 0 && left > 0 {
		share := left / int64(len(pages))
		if share < 1 {
			budgetExhausted = true
		} else {
			reads := make([]workflow.Future, len(pages))
			for i, p := range pages {
				reads[i] = workflow.ExecuteActivity(ctx, a.Read, activities.ReadInput{Bill: bill("read."+strconv.Itoa(i), share),
					Question: in.Question, URL: p.URL, Title: p.Title})
			}
			for i, f := range reads {
				var out activities.ReadOutput
				if err := f.Get(ctx, &out); err != nil {
					var app *temporal.ApplicationError
					if errors.As(err, &app) && app.Type() == "budget" {
						budgetExhausted = true
						record("web", out.StepOutput, "skipped_budget", "the budget ran out")
						continue
					}
					return res, err
				}
				prog.PagesRead++
				if out.Error != "" {
					record("web", out.StepOutput, "error", pages[i].URL+": "+out.Error)
					continue
				}
				record("web", out.StepOutput, "ok", "")
				if len(out.Notes) > 0 {
					n := len(sources) + 1
					sources = append(sources, enrich.SourceNotes{Citation: enrich.Citation{N: n, URL: pages[i].URL, Title: out.Title}, Notes: out.Notes})
					prog.Notes += len(out.Notes)
				}
			}
		}
	} else if len(pages) > 0 {
		budgetExhausted = true
	}

	// 4. Write.
	prog.Stage = "writing"
	res.Status = "complete"
	if budgetExhausted {
		res.Status = "budget_exhausted"
	}
	if len(sources) == 0 {
		if !budgetExhausted {
			res.Status = "no_sources"
		}
		res.Report = "No readable sources answered the question within the budget."
	} else {
		var rep activities.ReportOutput
		if err := workflow.ExecuteActivity(ctx, a.Report, activities.ReportInput{Bill: bill("report", in.MaxCredits-spent),
			Question: in.Question, Subject: in.Subject, Sources: sources}).Get(ctx, &rep); err != nil {
			return res, err
		}
		record("llm", rep.StepOutput, "ok", "")
		res.Report = rep.Report
		for _, s := range sources {
			res.Citations = append(res.Citations, s.Citation)
		}
	}
	res.CreditsUsed = spent
	if in.RecordID != "" {
		if err := workflow.ExecuteActivity(ctx, a.Remember, activities.RememberInput{OrgID: in.OrgID, RecordID: in.RecordID,
			Question: in.Question, Subject: in.Subject, Result: res}).Get(ctx, nil); err != nil {
			return res, err
		}
	}
	prog.Stage = "done"
	return res, nil
}

type page struct{ URL, Title string }

// pickPages merges the queries' results round-robin (each query's best first), drops
// duplicates and non-web links, and keeps at most two pages per site, up to max.
func pickPages(hits [][]activities.Hit, max int) []page {
	var out []page
	seen := map[string]bool{}
	perHost := map[string]int{}
	for rank := 0; len(out) < max; rank++ {
		more := false
		for _, hs := range hits {
			if rank >= len(hs) || len(out) >= max {
				continue
			}
			more = true
			h := hs[rank]
			u, err := url.Parse(h.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				continue
			}
			u.Fragment = ""
			key := strings.ToLower(u.Host) + strings.TrimRight(u.EscapedPath(), "/") + "?" + u.RawQuery
			host := strings.TrimPrefix(strings.ToLower(u.Host), "www.")
			if seen[key] || perHost[host] >= 2 {
				continue
			}
			seen[key] = true
			perHost[host]++
			out = append(out, page{URL: u.String(), Title: h.Title})
		}
		if !more {
			break
		}
	}
	return out
}
