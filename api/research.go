package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/ratelimit"
	"github.com/lanternhq/lantern/workflows"
)

type researchInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"A repeat with the same key returns the same research run"`
	Body           struct {
		RecordID string `json:"record_id,omitempty" maxLength:"255" doc:"Your id for the subject; the same question about it is answered from the cache"`
		Question string `json:"question" minLength:"3" maxLength:"2000" doc:"What to find out, e.g. 'What does Acme sell, to whom, and who leads sales?'"`
		PersonFields
		Title      string           `json:"title,omitempty" maxLength:"200" doc:"The person's job title, when the subject is a person"`
		MaxCredits int64            `json:"max_credits,omitempty" minimum:"0" doc:"Budget of the run (default and ceiling: LANTERN_RESEARCH_BUDGET)"`
		Options    *researchOptions `json:"options,omitempty"`
	}
}

type researchOptions struct {
	MaxPages    int  `json:"max_pages,omitempty" minimum:"1" maximum:"20" doc:"Pages to read at most (default LANTERN_RESEARCH_PAGES)"`
	MaxQueries  int  `json:"max_queries,omitempty" minimum:"1" maximum:"6" doc:"Search queries to run at most (default 4)"`
	WaitSeconds *int `json:"wait_seconds,omitempty" minimum:"0" maximum:"60" doc:"How long to wait for the report before answering 202 (default LANTERN_RESEARCH_WAIT)"`
}

// ResearchResponse is a research run: its report when done, else its progress.
type ResearchResponse struct {
	EnrichResponse
	ID        string                   `json:"id" doc:"The research id; GET /v1/enrich/research/{id} polls it"`
	Status    string                   `json:"status" enum:"running,complete,budget_exhausted,no_sources,failed"`
	StatusURL string                   `json:"status_url"`
	Progress  *enrich.ResearchProgress `json:"progress,omitempty" doc:"While running: the step under way"`
	Error     string                   `json:"error,omitempty" doc:"Why a failed run failed"`
}

type researchOutput struct {
	Status           int
	CreditsRemaining *int64 `header:"X-Credits-Remaining"`
	Body             ResearchResponse
}

type researchGetInput struct {
	ID string `path:"id" pattern:"^[a-f0-9]{20,32}$" doc:"The research id"`
}

func (s *Server) registerResearch(a huma.API) {
	huma.Register(a, op(huma.Operation{
		OperationID: "enrichResearch", Method: http.MethodPost, Path: "/v1/enrich/research", Tags: []string{"Enrich"},
		Summary: "Deep research",
		Description: "Runs a research workflow: the model plans web searches (SearXNG), the best pages are read " +
			"(fetched SSRF-safe, robots.txt respected), notes are extracted, and a report with numbered citations is written. " +
			"It keeps within max_credits. The call waits up to wait_seconds (default 25 s) and answers 200 with the report; " +
			"after that 202 with the id to poll. Needs LANTERN_LLM_BASE_URL and LANTERN_SEARXNG_URL.",
		Errors:    []int{http.StatusPaymentRequired, http.StatusUnprocessableEntity, http.StatusNotImplemented},
		Responses: map[string]*huma.Response{"202": {Description: "Still running: poll status_url"}},
	}, limits(ratelimit.Sync)), s.research)
	huma.Register(a, op(huma.Operation{
		OperationID: "getResearch", Method: http.MethodGet, Path: "/v1/enrich/research/{id}", Tags: []string{"Enrich"},
		Summary: "A research run's status, progress and report",
		Errors:  []int{http.StatusNotFound},
	}, limits(ratelimit.Sync)), s.researchStatus)
}

func (s *Server) research(ctx context.Context, in *researchInput) (*researchOutput, error) {
	if s.enrich == nil || s.temporal == nil {
		return nil, apperr.New(apperr.Unavailable, "research is not set up on this server")
	}
	if _, err := s.enrich.LLM(0); err != nil {
		return nil, err
	}
	if s.enrich.Search == nil {
		return nil, apperr.New(apperr.NotConfigured, "web search is not configured on this server: set LANTERN_SEARXNG_URL")
	}
	b := in.Body
	p := PrincipalFrom(ctx)
	subject := personRecord(b.PersonFields)
	subject["title"] = b.Title
	job := enrich.ResearchJob(p.OrgID, b.RecordID, b.Question, subject)
	if out, err := s.enrich.Cached(ctx, job); err != nil || out != nil {
		if err != nil {
			return nil, err
		}
		return s.researchAnswer(ctx, "", http.StatusOK, "complete", out, nil)
	}
	budget := s.cfg.Enrich.ResearchBudget
	if b.MaxCredits > 0 {
		budget = min(budget, b.MaxCredits)
	}
	if bal, err := credits.Balance(ctx, s.db, p.OrgID); err != nil {
		return nil, err
	} else if bal <= 0 {
		return nil, apperr.New(apperr.InsufficientCredits, "no credits remain")
	}
	wait, pages, queries := s.cfg.Enrich.ResearchWait, s.cfg.Enrich.ResearchPages, 4
	if o := b.Options; o != nil {
		if o.WaitSeconds != nil {
			wait = time.Duration(*o.WaitSeconds) * time.Second
		}
		if o.MaxPages > 0 {
			pages = o.MaxPages
		}
		if o.MaxQueries > 0 {
			queries = o.MaxQueries
		}
	}
	id := researchID(p.OrgID, in.IdempotencyKey)
	wfID := workflows.ResearchWorkflowID(p.OrgID.String(), id)
	run, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: wfID, TaskQueue: s.cfg.TemporalTaskQueue,
		// A repeat with the same idempotency key, running or done, is the same run.
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowExecutionTimeout: 30 * time.Minute,
	}, workflows.ResearchWorkflow, workflows.ResearchInput{ResearchID: id, OrgID: p.OrgID, APIKeyID: &p.KeyID,
		RequestID: "research-" + id, Question: b.Question, Subject: subject, MaxCredits: budget,
		MaxQueries: queries, MaxPages: pages, RecordID: b.RecordID})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		run = s.temporal.GetWorkflow(ctx, wfID, "")
	} else if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "could not start the research run")
	}
	return s.awaitResearch(ctx, id, run, wait)
}

// awaitResearch waits up to wait for the run, then answers with its report or its progress.
func (s *Server) awaitResearch(ctx context.Context, id string, run client.WorkflowRun, wait time.Duration) (*researchOutput, error) {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var res enrich.ResearchResult
	err := run.Get(wctx, &res)
	switch {
	case err == nil:
		return s.researchAnswer(ctx, id, http.StatusOK, res.Status, enrich.ResearchOutcome(res, s.now().UTC()), nil)
	case wctx.Err() != nil && ctx.Err() == nil:
		prog := s.researchProgress(ctx, run.GetID())
		return s.researchAnswer(ctx, id, http.StatusAccepted, "running", &enrich.Outcome{CreditsUsed: prog.CreditsUsed}, &prog)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	return s.researchFailed(ctx, id, err)
}

func (s *Server) researchStatus(ctx context.Context, in *researchGetInput) (*researchOutput, error) {
	if s.temporal == nil {
		return nil, apperr.New(apperr.Unavailable, "research is not set up on this server")
	}
	wfID := workflows.ResearchWorkflowID(PrincipalFrom(ctx).OrgID.String(), in.ID)
	d, err := s.temporal.DescribeWorkflow(ctx, wfID, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, apperr.New(apperr.NotFound, "no research %s", in.ID)
	}
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "could not read the research run")
	}
	run := s.temporal.GetWorkflow(ctx, wfID, "")
	if d.Status == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return s.awaitResearch(ctx, in.ID, run, 0)
	}
	return s.awaitResearch(ctx, in.ID, run, 10*time.Second)
}

func (s *Server) researchProgress(ctx context.Context, wfID string) enrich.ResearchProgress {
	var prog enrich.ResearchProgress
	if v, err := s.temporal.QueryWorkflow(ctx, wfID, "", workflows.ResearchProgressQuery); err == nil {
		v.Get(&prog) //nolint:errcheck
	}
	return prog
}

func (s *Server) researchFailed(ctx context.Context, id string, err error) (*researchOutput, error) {
	msg := "the research run failed"
	var app interface{ Type() string }
	if errors.As(err, &app) {
		switch app.Type() {
		case "insufficient_credits":
			msg = "the research run stopped: the balance could not cover a step"
		case "not_configured":
			msg = "the research run stopped: a provider is not configured"
		}
	}
	out, aerr := s.researchAnswer(ctx, id, http.StatusOK, "failed", &enrich.Outcome{}, nil)
	if aerr != nil {
		return nil, aerr
	}
	out.Body.Error = msg
	out.Body.Success = false
	return out, nil
}

func (s *Server) researchAnswer(ctx context.Context, id string, status int, state string, out *enrich.Outcome, prog *enrich.ResearchProgress) (*researchOutput, error) {
	ans, err := s.enrichAnswer(ctx, enrich.Research, "", out)
	if err != nil {
		return nil, err
	}
	if out.Cached {
		if st, ok := out.Fields["research_status"].Value.(string); ok {
			state = st
		}
	}
	// The run's debits happened in the worker; read the balance they left.
	balance, err := credits.Balance(ctx, s.db, PrincipalFrom(ctx).OrgID)
	if err != nil {
		return nil, err
	}
	r := &researchOutput{Status: status, CreditsRemaining: &balance,
		Body: ResearchResponse{EnrichResponse: ans.Body, ID: id, Status: state, Progress: prog}}
	if id != "" {
		r.Body.StatusURL = s.cfg.PublicURL + "/v1/enrich/research/" + id
	}
	return r, nil
}

// researchID is a run's id: derived from the idempotency key when there is one, so a repeat
// finds the same run, else random.
func researchID(org uuid.UUID, key string) string {
	if key == "" {
		b := make([]byte, 13)
		rand.Read(b)
		return hex.EncodeToString(b)
	}
	h := sha256.Sum256([]byte(org.String() + "\x00" + key))
	return hex.EncodeToString(h[:13])[:26]
}
