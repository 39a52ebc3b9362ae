package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/batch"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/ratelimit"
	"github.com/lanternhq/lantern/schema"
	"github.com/lanternhq/lantern/workflows"
)

// BatchRecordIn is one record of a batch. Phone batches use phone (or domain/website); email
// batches a name plus domain/company (or email to verify); research batches a question.
type BatchRecordIn struct {
	RecordID string `json:"record_id" minLength:"1" maxLength:"255" doc:"Your id for the record, unique within the batch; results and costs are keyed by it, and it enables caching"`
	PersonFields
	Phone    string `json:"phone,omitempty" maxLength:"64" doc:"Phone batches: a number to validate and describe"`
	Country  string `json:"country,omitempty" pattern:"^[A-Za-z]{2}$" doc:"ISO 3166 region the record is in"`
	Email    string `json:"email,omitempty" maxLength:"254" doc:"Email batches: an address to verify (else one is found from the name and company)"`
	Title    string `json:"title,omitempty" maxLength:"200" doc:"Research batches: the person's job title"`
	Question string `json:"question,omitempty" maxLength:"2000" doc:"Research batches: what to find out (default: the batch's question)"`
}

type batchOptions struct {
	DefaultRegion string   `json:"default_region,omitempty" pattern:"^[A-Za-z]{2}$" doc:"ISO 3166 region for phone numbers without a country code"`
	Threshold     float64  `json:"threshold,omitempty" minimum:"0" maximum:"1" doc:"Stop trying providers for a field once one reaches this confidence"`
	Providers     []string `json:"providers,omitempty" maxItems:"10" doc:"Only try these providers"`
}

type batchSubmitInput struct {
	Type           string `path:"type" enum:"phone,email,research" doc:"The batch type"`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"A repeat with the same key (and body) returns the same batch"`
	Body           struct {
		Records        []BatchRecordIn `json:"records" minItems:"1" maxItems:"1000" doc:"1 to 1000 records"`
		MaxCredits     int64           `json:"max_credits,omitempty" minimum:"0" doc:"The most the whole batch may spend; it stops with state budget_exhausted when reached. 0 or absent: no cap beyond the balance"`
		CallbackURL    string          `json:"callback_url,omitempty" maxLength:"2048" format:"uri" doc:"Called with POST and the summary when the batch ends, signed in X-Lantern-Signature (t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" keyed by callback_secret>). http(s) and public addresses only"`
		Question       string          `json:"question,omitempty" maxLength:"2000" doc:"Research batches: the question for records that carry none"`
		Options        *batchOptions   `json:"options,omitempty"`
		IdempotencyKey string          `json:"idempotency_key,omitempty" maxLength:"255" doc:"The same as the Idempotency-Key header"`
	}
}

// BatchLinks are presigned URLs (valid one hour) of a batch's objects that exist so far.
type BatchLinks struct {
	Input   string `json:"input,omitempty"`
	Results string `json:"results,omitempty" doc:"results.jsonl: one line per processed record, growing as chunks complete"`
	Summary string `json:"summary,omitempty" doc:"summary.json, once the batch has ended"`
	Costs   string `json:"costs,omitempty" doc:"costs.json, once the batch has ended: credits per service, provider and record"`
}

// BatchS3 names where the batch's objects are.
type BatchS3 struct {
	Bucket  string        `json:"bucket"`
	Objects batch.Objects `json:"objects"`
}

// BatchResponse is a batch's state.
type BatchResponse struct {
	Success         bool        `json:"success"`
	BatchID         string      `json:"batch_id"`
	Type            string      `json:"type" enum:"phone,email,research"`
	State           string      `json:"state" enum:"queued,running,completed,budget_exhausted,cancelled,failed"`
	Message         string      `json:"message,omitempty" doc:"Why the batch stopped, when it did not complete"`
	Total           int         `json:"total"`
	Processed       int         `json:"processed"`
	Succeeded       int         `json:"succeeded"`
	Failed          int         `json:"failed"`
	CreditsReserved int64       `json:"credits_reserved" doc:"Held from the balance when the batch started; what is not used is refunded at the end"`
	CreditsUsed     int64       `json:"credits_used"`
	MaxCredits      int64       `json:"max_credits,omitempty"`
	ETASeconds      *int64      `json:"eta_seconds,omitempty" doc:"Estimated seconds left, from the pace so far"`
	StatusURL       string      `json:"status_url"`
	WorkflowID      string      `json:"workflow_id" doc:"The Temporal workflow; its progress query shows the counters"`
	S3              BatchS3     `json:"s3"`
	URLs            *BatchLinks `json:"urls,omitempty"`
	CallbackSecret  string      `json:"callback_secret,omitempty" doc:"Only in the submission's answer, with a callback_url: the key callbacks are signed with"`
	CreatedAt       time.Time   `json:"created_at"`
	StartedAt       *time.Time  `json:"started_at,omitempty"`
	FinishedAt      *time.Time  `json:"finished_at,omitempty"`
}

type batchOutput struct {
	Status int
	Body   BatchResponse
}

type batchIDInput struct {
	ID string `path:"id" pattern:"^bat_[a-f0-9]{24}$" doc:"The batch id"`
}

type batchListInput struct {
	State  string    `query:"state" enum:"queued,running,completed,budget_exhausted,cancelled,failed" doc:"Only batches in this state"`
	Limit  int       `query:"limit" minimum:"1" maximum:"100" default:"20"`
	Before time.Time `query:"before" doc:"Only batches created before this time (the created_at of the last batch of the previous page)"`
}

type batchListOutput struct {
	Body struct {
		Success bool            `json:"success"`
		Batches []BatchResponse `json:"batches"`
	}
}

func (s *Server) registerAgents(a huma.API) {
	huma.Register(a, op(huma.Operation{
		OperationID: "submitBatch", Method: http.MethodPost, Path: "/v1/agents/{type}/batch", Tags: []string{"Async"},
		Summary: "Submit a phone, email or research batch",
		Description: "Accepts 1-1000 records, writes them to S3, and starts a batch workflow; answers 202 at once with " +
			"the batch id, the status URL and the S3 locations. Credits are reserved when the batch starts (max_credits, " +
			"or what its records could cost at most, no more than the balance), charged per record, and what is left is " +
			"refunded at the end. Rate limit: 1 batch per minute per key (liftable per key).",
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{http.StatusPaymentRequired, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable},
	}, limits(ratelimit.Async)), s.submitBatch)
	huma.Register(a, op(huma.Operation{
		OperationID: "getBatch", Method: http.MethodGet, Path: "/v1/agents/batches/{id}", Tags: []string{"Async"},
		Summary: "A batch's state, progress, ETA and result URLs",
		Errors:  []int{http.StatusNotFound},
	}, limits(ratelimit.AsyncStatus)), s.getBatch)
	huma.Register(a, op(huma.Operation{
		OperationID: "listBatches", Method: http.MethodGet, Path: "/v1/agents/batches", Tags: []string{"Async"},
		Summary: "The org's batches, newest first",
	}, limits(ratelimit.AsyncStatus)), s.listBatches)
	huma.Register(a, op(huma.Operation{
		OperationID: "cancelBatch", Method: http.MethodDelete, Path: "/v1/agents/batches/{id}", Tags: []string{"Async"},
		Summary:       "Cancel a batch",
		Description:   "Stops the batch; records processed so far stay in results.jsonl, and unused credits are refunded. Answers 202: the state becomes cancelled within seconds.",
		Errors:        []int{http.StatusNotFound, http.StatusConflict},
		DefaultStatus: http.StatusAccepted,
	}, limits(ratelimit.AsyncStatus)), s.cancelBatch)
}

// batchRecords checks and converts the submitted records; errors name the record's field.
func (s *Server) batchRecords(typ string, in *batchSubmitInput) ([]batch.Record, error) {
	b := in.Body
	region := s.cfg.Enrich.DefaultRegion
	if b.Options != nil && b.Options.DefaultRegion != "" {
		region = strings.ToUpper(b.Options.DefaultRegion)
	}
	recs := make([]batch.Record, len(b.Records))
	for i, r := range b.Records {
		at := func(f string) string { return fmt.Sprintf("body.records[%d].%s", i, f) }
		rec := personRecord(r.PersonFields)
		named := r.FirstName != "" || r.LastName != "" || r.FullName != ""
		switch typ {
		case batch.Phone:
			if r.Phone == "" && r.Domain == "" && r.Website == "" {
				return nil, apperr.Field(at("phone"), "give a phone to validate, or a domain or website to find numbers on")
			}
			rec["phone"], rec["country"] = r.Phone, strings.ToUpper(r.Country)
		case batch.Email:
			if r.Email == "" && (!named || r.Domain == "" && r.Website == "" && r.Company == "") {
				return nil, apperr.Field(at("email"), "give an email to verify, or a name with the company's domain, website or name")
			}
			rec["email"] = r.Email
		case batch.Research:
			if r.Question == "" && b.Question == "" {
				return nil, apperr.Field(at("question"), "give a question (or the batch's question)")
			}
			rec["title"] = r.Title
		}
		if err := enrich.ValidateRecord(rec, region); err != nil {
			if ae, ok := apperr.As(err); ok && ae.Field != "" {
				return nil, apperr.Field(at(strings.TrimPrefix(ae.Field, "body.")), "%s", ae.Message)
			}
			return nil, err
		}
		for k, v := range rec {
			if v == "" {
				delete(rec, k)
			}
		}
		recs[i] = batch.Record{RecordID: r.RecordID, Fields: rec, Question: cmpOr(r.Question, b.Question)}
	}
	return recs, batch.ValidateRecords(recs)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Server) submitBatch(ctx context.Context, in *batchSubmitInput) (*batchOutput, error) {
	if s.temporal == nil || s.store == nil || s.enrich == nil {
		return nil, apperr.New(apperr.Unavailable, "batches are not set up on this server")
	}
	typ := in.Type
	recs, err := s.batchRecords(typ, in)
	if err != nil {
		return nil, err
	}
	b := in.Body
	if typ == batch.Research {
		if _, err := s.enrich.LLM(0); err != nil {
			return nil, err
		}
		if s.enrich.Search == nil {
			return nil, apperr.New(apperr.NotConfigured, "web search is not configured on this server: set LANTERN_SEARXNG_URL")
		}
	}
	if b.CallbackURL != "" {
		if err := batch.CheckCallbackURL(ctx, b.CallbackURL, s.cfg.Enrich.FetchAllow); err != nil {
			return nil, err
		}
	}
	key := cmpOr(in.IdempotencyKey, b.IdempotencyKey)
	p := PrincipalFrom(ctx)
	if bal, err := credits.Balance(ctx, s.db, p.OrgID); err != nil {
		return nil, err
	} else if bal <= 0 {
		return nil, apperr.New(apperr.InsufficientCredits, "no credits remain")
	}
	var out batchOutput
	err = s.idempotent(ctx, "agents.batch."+typ, key, in.Body, &out.Body, func(ctx context.Context) error {
		id := batch.NewID(p.OrgID, key)
		row := &schema.Batch{OrgID: p.OrgID, ID: id, APIKeyID: &p.KeyID, Type: typ, State: batch.Queued, Total: len(recs),
			MaxCredits: b.MaxCredits, Prefix: batch.Prefix(p.OrgID, id), CallbackURL: b.CallbackURL, CreatedAt: s.now().UTC()}
		if b.CallbackURL != "" {
			row.CallbackSecret = batch.NewSecret()
		}
		input := batch.Input{BatchID: id, OrgID: p.OrgID, Type: typ, Records: recs}
		if o := b.Options; o != nil {
			input.Options = batch.Options{DefaultRegion: strings.ToUpper(o.DefaultRegion), Threshold: o.Threshold, Providers: o.Providers}
		}
		raw, err := json.Marshal(input)
		if err != nil {
			return err
		}
		// The claim check: the input is in S3 before anything refers to it.
		if err := s.store.Put(ctx, batch.ObjectsAt(row.Prefix).Input, "application/json", raw); err != nil {
			return apperr.Wrap(apperr.Unavailable, err, "could not store the batch input in S3; retry")
		}
		if row, err = batch.Create(ctx, s.db, row); err != nil {
			return err
		}
		wfID := workflows.BatchWorkflowID(p.OrgID.String(), id)
		_, err = s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: wfID, TaskQueue: s.cfg.TemporalTaskQueue,
			// A repeat with the same idempotency key, running or done, is the same batch.
			WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			StaticSummary:            fmt.Sprintf("%s batch of %d records", typ, len(recs)),
		}, workflows.BatchWorkflow, workflows.BatchInput{OrgID: p.OrgID, APIKeyID: &p.KeyID, BatchID: id, Type: typ,
			Total: len(recs), ChunkSize: s.chunkSize(typ), Concurrency: s.cfg.BatchConcurrency})
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if err != nil && !errors.As(err, &started) {
			return apperr.Wrap(apperr.Unavailable, err, "could not start the batch workflow; retry with the same Idempotency-Key")
		}
		resp, err := s.batchResponse(ctx, row, false)
		if err != nil {
			return err
		}
		resp.CallbackSecret = row.CallbackSecret
		out.Body = resp
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Status = http.StatusAccepted
	return &out, nil
}

// chunkSize is how many records a chunk holds: research records are child runs of their own,
// so their chunks are smaller to keep each run's history short.
func (s *Server) chunkSize(typ string) int {
	if typ == batch.Research {
		return min(s.cfg.BatchChunkSize, 25)
	}
	return s.cfg.BatchChunkSize
}

func (s *Server) batchResponse(ctx context.Context, row *schema.Batch, links bool) (BatchResponse, error) {
	p, err := batch.ProgressOf(ctx, s.db, row)
	if err != nil {
		return BatchResponse{}, err
	}
	objs := batch.ObjectsAt(row.Prefix)
	r := BatchResponse{Success: true, BatchID: row.ID, Type: row.Type, State: row.State, Message: row.Message,
		Total: row.Total, Processed: p.Processed, Succeeded: p.Succeeded, Failed: p.Failed,
		CreditsReserved: row.CreditsReserved, CreditsUsed: row.CreditsUsed, MaxCredits: row.MaxCredits,
		StatusURL:  s.cfg.PublicURL + "/v1/agents/batches/" + row.ID,
		WorkflowID: workflows.BatchWorkflowID(row.OrgID.String(), row.ID),
		S3:         BatchS3{Bucket: s.store.Bucket(), Objects: objs},
		CreatedAt:  row.CreatedAt, StartedAt: row.StartedAt, FinishedAt: row.FinishedAt}
	if eta := batch.ETA(p, row.StartedAt, s.now()); eta != nil {
		secs := int64(eta.Seconds() + 0.5)
		r.ETASeconds = &secs
	}
	if !links {
		return r, nil
	}
	r.URLs = &BatchLinks{}
	sign := func(key string) string {
		u, err := s.store.PresignGet(ctx, key, time.Hour)
		if err != nil {
			return ""
		}
		return u
	}
	r.URLs.Input = sign(objs.Input)
	if p.Processed > 0 {
		r.URLs.Results = sign(objs.Results)
	}
	if batch.Terminal(row.State) {
		r.URLs.Results, r.URLs.Summary, r.URLs.Costs = sign(objs.Results), sign(objs.Summary), sign(objs.Costs)
	}
	return r, nil
}

func (s *Server) getBatch(ctx context.Context, in *batchIDInput) (*batchOutput, error) {
	if s.store == nil {
		return nil, apperr.New(apperr.Unavailable, "batches are not set up on this server")
	}
	row, err := batch.Get(ctx, s.db, PrincipalFrom(ctx).OrgID, in.ID)
	if err != nil {
		return nil, err
	}
	r, err := s.batchResponse(ctx, row, true)
	if err != nil {
		return nil, err
	}
	return &batchOutput{Status: http.StatusOK, Body: r}, nil
}

func (s *Server) listBatches(ctx context.Context, in *batchListInput) (*batchListOutput, error) {
	if s.store == nil {
		return nil, apperr.New(apperr.Unavailable, "batches are not set up on this server")
	}
	var before *time.Time
	if !in.Before.IsZero() {
		before = &in.Before
	}
	rows, err := batch.List(ctx, s.db, PrincipalFrom(ctx).OrgID, in.State, before, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &batchListOutput{}
	out.Body.Success, out.Body.Batches = true, []BatchResponse{}
	for i := range rows {
		r, err := s.batchResponse(ctx, &rows[i], false)
		if err != nil {
			return nil, err
		}
		out.Body.Batches = append(out.Body.Batches, r)
	}
	return out, nil
}

func (s *Server) cancelBatch(ctx context.Context, in *batchIDInput) (*batchOutput, error) {
	if s.temporal == nil || s.store == nil {
		return nil, apperr.New(apperr.Unavailable, "batches are not set up on this server")
	}
	row, err := batch.Get(ctx, s.db, PrincipalFrom(ctx).OrgID, in.ID)
	if err != nil {
		return nil, err
	}
	if batch.Terminal(row.State) {
		return nil, apperr.New(apperr.Conflict, "batch %s has already ended (%s)", row.ID, row.State)
	}
	err = s.temporal.CancelWorkflow(ctx, workflows.BatchWorkflowID(row.OrgID.String(), row.ID), "")
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		return nil, apperr.Wrap(apperr.Unavailable, err, "could not cancel the batch workflow")
	}
	r, err := s.batchResponse(ctx, row, true)
	if err != nil {
		return nil, err
	}
	r.Message = "cancellation requested; the state becomes cancelled when the records in flight finish"
	return &batchOutput{Status: http.StatusAccepted, Body: r}, nil
}
