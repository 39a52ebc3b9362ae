package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/batch"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/enrich/llm"
	"github.com/lanternhq/lantern/internal/enrich/search"
	"go.temporal.io/sdk/temporal"
)

// Research holds what deep-research steps use: the engine (language model, prices, ledger),
// web search and the SSRF-safe fetcher.
type Research struct {
	Engine *enrich.Engine
}

// Bill identifies who pays for a step and how much it may cost at most.
type Bill struct {
	OrgID     uuid.UUID
	APIKeyID  *uuid.UUID
	RequestID string // the research run; with Step it makes each debit happen once
	Step      string // e.g. "research.plan", "research.read.3"
	Budget    int64  // credits this step may spend at most
	BatchID   string // set when the run is a record of a batch: charged against its reservation
	RecordID  string // the batch record
}

// charge debits a step's cost, capped at its budget (the caller's max_credits is a promise).
func (r *Research) charge(ctx context.Context, b Bill, cost int64, memo string) (int64, error) {
	cost = min(cost, b.Budget)
	if cost <= 0 {
		return 0, nil
	}
	if b.BatchID != "" {
		step, _, _ := strings.Cut(strings.TrimPrefix(b.Step, "research."), ".")
		provider := map[string]string{"plan": "llm", "report": "llm", "search": "search", "read": "web"}[step]
		_, err := batch.Charge(ctx, r.Engine.DB, b.OrgID, b.BatchID, b.RecordID, b.Step, "enrich.research", provider, cost)
		if apperr.Is(err, apperr.InsufficientCredits) {
			return 0, temporal.NewNonRetryableApplicationError(err.Error(), "insufficient_credits", err)
		}
		return cost, err
	}
	_, err := credits.Debit(ctx, r.Engine.DB, credits.Charge{OrgID: b.OrgID, APIKeyID: b.APIKeyID,
		RequestID: b.RequestID, Step: b.Step, Service: "enrich.research", Amount: cost, Memo: memo})
	if apperr.Is(err, apperr.InsufficientCredits) {
		return 0, temporal.NewNonRetryableApplicationError(err.Error(), "insufficient_credits", err)
	}
	return cost, err
}

// llmFor is a model client whose answer fits the step's budget after its prompt.
func (r *Research) llmFor(b Bill, promptBytes int) (*llm.Client, error) {
	maxTokens := 0
	if b.Budget > 0 {
		maxTokens = r.Engine.TokensFor(b.Budget) - promptBytes/3 - 50
		if maxTokens < 64 {
			return nil, temporal.NewNonRetryableApplicationError("budget exhausted", "budget", nil)
		}
		maxTokens = min(maxTokens, 4000)
	}
	c, err := r.Engine.LLM(maxTokens)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "not_configured", err)
	}
	return c, nil
}

// llmFailure makes a model error retryable only when retrying can help.
func llmFailure(err error) error {
	var api *llm.APIError
	if errors.As(err, &api) && api.Retryable() {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), "llm", err)
}

// PlanInput asks for search queries.
type PlanInput struct {
	Bill       Bill
	Question   string
	Subject    enrich.Record
	MaxQueries int
}

// StepOutput is what every step reports for the caller's list of providers tried.
type StepOutput struct {
	Credits int64
	TookMS  int64
}

// PlanOutput is the planned queries.
type PlanOutput struct {
	StepOutput
	Queries []string
}

// Plan asks the model for web search queries.
func (r *Research) Plan(ctx context.Context, in PlanInput) (PlanOutput, error) {
	start := time.Now()
	c, err := r.llmFor(in.Bill, len(in.Question)+2000)
	if err != nil {
		return PlanOutput{}, err
	}
	qs, usage, err := enrich.PlanQueries(ctx, c, in.Question, in.Subject, in.MaxQueries)
	if err != nil {
		return PlanOutput{}, llmFailure(err)
	}
	cost, err := r.charge(ctx, in.Bill, r.Engine.TokenCredits(usage.Total), fmt.Sprintf("%d tokens", usage.Total))
	return PlanOutput{StepOutput: StepOutput{Credits: cost, TookMS: time.Since(start).Milliseconds()}, Queries: qs}, err
}

// SearchInput is one query.
type SearchInput struct {
	Bill  Bill
	Query string
}

// Hit is one search result.
type Hit struct {
	URL, Title, Snippet string
}

// SearchOutput is a query's results, best first.
type SearchOutput struct {
	StepOutput
	Hits []Hit
}

// Search runs one web search through SearXNG.
func (r *Research) Search(ctx context.Context, in SearchInput) (SearchOutput, error) {
	start := time.Now()
	if r.Engine.Search == nil {
		return SearchOutput{}, temporal.NewNonRetryableApplicationError("web search is not configured: set LANTERN_SEARXNG_URL", "not_configured", nil)
	}
	res, err := r.Engine.Search.Search(ctx, search.Query{Q: in.Query})
	if err != nil {
		var api *search.APIError
		if errors.As(err, &api) && !api.Retryable() {
			return SearchOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), "search", err)
		}
		return SearchOutput{}, err
	}
	out := SearchOutput{}
	for _, h := range res.Results {
		out.Hits = append(out.Hits, Hit{URL: h.URL, Title: h.Title, Snippet: h.Content})
	}
	out.Credits, err = r.charge(ctx, in.Bill, r.Engine.Prices["search"], "search")
	out.TookMS = time.Since(start).Milliseconds()
	return out, err
}

// ReadInput is one page to read for the question.
type ReadInput struct {
	Bill     Bill
	Question string
	URL      string
	Title    string
}

// ReadOutput is the notes taken from a page. A page that cannot be read (robots.txt, a
// blocked address, a time-out) is not a failure of the research: Error says why.
type ReadOutput struct {
	StepOutput
	Title string
	Notes []enrich.Note
	Error string
}

// pageTextLimit bounds the page text given to the model.
const pageTextLimit = 24000

// Read fetches a page SSRF-safely and extracts the notes that bear on the question. The page
// itself never enters workflow history; only the notes do.
func (r *Research) Read(ctx context.Context, in ReadInput) (ReadOutput, error) {
	start := time.Now()
	page, err := r.Engine.Web.Get(ctx, in.URL)
	if err != nil {
		return ReadOutput{Error: "could not read the page: " + fetchReason(err), StepOutput: StepOutput{TookMS: time.Since(start).Milliseconds()}}, nil
	}
	if page.Status >= 400 {
		return ReadOutput{Error: fmt.Sprintf("the page answered HTTP %d", page.Status), StepOutput: StepOutput{TookMS: time.Since(start).Milliseconds()}}, nil
	}
	title, text := enrich.PageText(page.Body, pageTextLimit)
	if title == "" {
		title = in.Title
	}
	if strings.TrimSpace(text) == "" {
		return ReadOutput{Title: title, Error: "no readable text", StepOutput: StepOutput{TookMS: time.Since(start).Milliseconds()}}, nil
	}
	c, err := r.llmFor(in.Bill, len(text)+len(in.Question)+2000)
	if err != nil {
		return ReadOutput{}, err
	}
	notes, usage, err := enrich.ExtractNotes(ctx, c, in.Question, page.URL, title, text)
	if err != nil {
		return ReadOutput{}, llmFailure(err)
	}
	price := r.Engine.Prices["research-fetch"] + r.Engine.TokenCredits(usage.Total)
	cost, err := r.charge(ctx, in.Bill, price, fmt.Sprintf("%s: %d tokens", page.URL, usage.Total))
	return ReadOutput{StepOutput: StepOutput{Credits: cost, TookMS: time.Since(start).Milliseconds()}, Title: title, Notes: notes}, err
}

// fetchReason says why a page was not read, without internal addresses.
func fetchReason(err error) string {
	msg := err.Error()
	for _, hint := range []string{"robots.txt", "private", "blocked", "timeout", "deadline", "redirect", "scheme", "TLS", "certificate"} {
		if strings.Contains(strings.ToLower(msg), strings.ToLower(hint)) {
			return hint
		}
	}
	return "fetch failed"
}

// ReportInput is everything the report is written from.
type ReportInput struct {
	Bill     Bill
	Question string
	Subject  enrich.Record
	Sources  []enrich.SourceNotes
}

// ReportOutput is the report, sources appended.
type ReportOutput struct {
	StepOutput
	Report string
}

// Report writes the report from the notes.
func (r *Research) Report(ctx context.Context, in ReportInput) (ReportOutput, error) {
	start := time.Now()
	c, err := r.llmFor(in.Bill, 4000+len(in.Question)+200*len(in.Sources))
	if err != nil {
		return ReportOutput{}, err
	}
	text, usage, err := enrich.WriteReport(ctx, c, in.Question, in.Subject, in.Sources)
	if err != nil && !errors.Is(err, llm.ErrTruncated) { // a cut-off report is still worth returning
		return ReportOutput{}, llmFailure(err)
	}
	cites := make([]enrich.Citation, len(in.Sources))
	for i, s := range in.Sources {
		cites[i] = s.Citation
	}
	cost, err := r.charge(ctx, in.Bill, r.Engine.TokenCredits(usage.Total), fmt.Sprintf("%d tokens", usage.Total))
	return ReportOutput{StepOutput: StepOutput{Credits: cost, TookMS: time.Since(start).Milliseconds()},
		Report: enrich.AppendSources(text, cites)}, err
}

// RememberInput is a finished run to cache for its record.
type RememberInput struct {
	OrgID    uuid.UUID
	RecordID string
	Question string
	Subject  enrich.Record
	Result   enrich.ResearchResult
}

// Remember caches a finished run's answer, so the same question about the same record is
// answered again for free.
func (r *Research) Remember(ctx context.Context, in RememberInput) error {
	return r.Engine.Store(ctx, enrich.ResearchJob(in.OrgID, in.RecordID, in.Question, in.Subject),
		enrich.ResearchOutcome(in.Result, time.Now().UTC()))
}
