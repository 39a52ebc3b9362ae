package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/convert"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/ratelimit"
	"github.com/lanternhq/lantern/workflows"
)

// SalesforceConvertBody is a lead conversion request.
type SalesforceConvertBody struct {
	AccountID         string             `json:"account_id,omitempty" maxLength:"18" doc:"Attach the lead to this account; absent: the account the matching engine finds (at or above the org's auto_merge_threshold), else a new one"`
	ContactID         string             `json:"contact_id,omitempty" maxLength:"18" doc:"Merge the lead into this contact of account_id; absent: the account's contact with the lead's email or matching name, else a new one"`
	Owner             *convert.OwnerRule `json:"owner,omitempty" doc:"Who owns the records the conversion creates (default: the lead's owner)"`
	CreateOpportunity *bool              `json:"create_opportunity,omitempty" doc:"Create an opportunity (default true, or the org's policy)"`
	OpportunityName   string             `json:"opportunity_name,omitempty" maxLength:"120" doc:"Default: the lead's Company"`
	ConvertedStatus   string             `json:"converted_status,omitempty" maxLength:"100" doc:"Lead Status to set (default: the org's policy, Closed - Converted)"`
	MergePolicy       string             `json:"merge_policy,omitempty" enum:"fill_empty,master_wins,newest_wins" doc:"How the lead's values go into an existing account and contact (default: the org's policy, fill_empty): fill_empty fills their blank fields; master_wins leaves them as they are; newest_wins lets the lead's values win where the lead was modified later"`
	DryRun            bool               `json:"dry_run,omitempty" doc:"Return the plan and the diffs, writing nothing"`
	IdempotencyKey    string             `json:"idempotency_key,omitempty" maxLength:"255" doc:"Same as the Idempotency-Key header: a repeat returns the first conversion"`
}

type sfConvertInput struct {
	ID                   string `path:"id" minLength:"15" maxLength:"18" doc:"The lead's id (00Q...)"`
	IdempotencyKeyHeader string `header:"Idempotency-Key" maxLength:"255" doc:"A repeat with the same key returns the first conversion; with a different body, 409"`
	Body                 *SalesforceConvertBody
}

// SalesforceConvertResponse is a conversion's outcome.
type SalesforceConvertResponse struct {
	Success        bool                          `json:"success"`
	Status         string                        `json:"status" enum:"converted,dry_run" doc:"converted, or dry_run (nothing was written)"`
	WorkflowID     string                        `json:"workflow_id" doc:"The Temporal workflow that ran the conversion (see it in the Temporal UI)"`
	DryRun         bool                          `json:"dry_run"`
	LeadID         string                        `json:"lead_id"`
	AccountID      string                        `json:"account_id,omitempty"`
	ContactID      string                        `json:"contact_id,omitempty"`
	OpportunityID  string                        `json:"opportunity_id,omitempty"`
	AccountCreated bool                          `json:"account_created" doc:"False when the lead was attached to an existing account"`
	ContactCreated bool                          `json:"contact_created" doc:"False when the lead was merged into an existing contact"`
	OwnerID        string                        `json:"owner_id,omitempty"`
	Assignment     *convert.OwnerAssignment      `json:"assignment,omitempty" doc:"Owner mode pool: the round-robin assignment"`
	Plan           *convert.ConversionPlan       `json:"plan"`
	Diffs          []convert.RecordDiff          `json:"diffs" doc:"What changed, record by record (for a dry run: what would)"`
	Steps          []workflows.ConvertStepReport `json:"steps"`
}

type sfConvertOutput struct {
	Body SalesforceConvertResponse
}

// SalesforceMergeBody is a merge request.
type SalesforceMergeBody struct {
	Object         string            `json:"object" enum:"Account,Contact,Lead" doc:"The object of the master and the duplicates"`
	MasterID       string            `json:"master_id" minLength:"15" maxLength:"18" doc:"The record that survives"`
	DuplicateIDs   []string          `json:"duplicate_ids" minItems:"1" maxItems:"10" doc:"Records merged into the master and deleted (restorable by undo): at most 2 with LANTERN_CRM=salesforce, as Salesforce allows; at most 10 on the local store"`
	MergePolicy    string            `json:"policy,omitempty" enum:"fill_empty,master_wins,newest_wins" doc:"Survivorship (default: the org's policy)"`
	FieldOverrides map[string]string `json:"field_overrides,omitempty" doc:"Per field: a policy, or the id of the record whose value wins, e.g. {\"Phone\": \"001...\"}"`
	Fields         map[string]any    `json:"fields,omitempty" doc:"Explicit values written on the master, over everything (null removes a field)"`
	DryRun         bool              `json:"dry_run,omitempty" doc:"Return the merge that would be done, writing nothing"`
	IdempotencyKey string            `json:"idempotency_key,omitempty" maxLength:"255" doc:"Same as the Idempotency-Key header"`
}

type sfMergeInput struct {
	IdempotencyKeyHeader string `header:"Idempotency-Key" maxLength:"255" doc:"A repeat with the same key returns the first merge"`
	Body                 SalesforceMergeBody
}

type sfMergeOutput struct {
	Body struct {
		Success bool `json:"success"`
		convert.MergeResult
	}
}

type sfMergePath struct {
	ID string `path:"id" format:"uuid" doc:"The merge id"`
}

type sfUndoOutput struct {
	Body struct {
		Success bool `json:"success"`
		convert.UndoResult
	}
}

type sfPolicyOutput struct {
	Body struct {
		Success bool `json:"success"`
		convert.MergePolicy
	}
}

type sfPolicyInput struct {
	Body convert.MergePolicy
}

func (s *Server) registerSalesforce(a huma.API) {
	reg := func(o huma.Operation) huma.Operation {
		o.Tags = []string{"Salesforce"}
		o.Errors = append(o.Errors, http.StatusUnprocessableEntity, http.StatusNotImplemented)
		return op(o, limits(ratelimit.Salesforce))
	}
	huma.Register(a, reg(huma.Operation{OperationID: "salesforceConvertLead", Method: http.MethodPost, Path: "/v1/salesforce/leads/{id}/convert",
		Summary: "Convert a lead",
		Description: "Converts a lead into an account, a contact and (unless create_opportunity is false) an opportunity, preventing duplicates: " +
			"the lead is attached to the account the matching engine finds for its company and merged into that account's contact with its " +
			"email or a matching name, when they match at or above the org's auto_merge_threshold; otherwise new ones are created. The owner " +
			"is the user named, the next member of a round-robin pool, the matched account's owner, or the lead's owner. Runs as a Temporal " +
			"saga (plan, assign owner, convert, route logs); a step failing after others wrote undoes them (with LANTERN_CRM=salesforce the conversion " +
			"is Salesforce's convertLead, and an undo deletes the records it created while the lead stays converted: Salesforce cannot un-convert a lead). dry_run returns the plan and the " +
			"diffs without writing. Route log entries: convert (the lead), merge (an existing contact or account), assign (owners).",
		Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}}), s.salesforceConvert)
	huma.Register(a, reg(huma.Operation{OperationID: "salesforceMerge", Method: http.MethodPost, Path: "/v1/salesforce/merge",
		Summary: "Merge duplicates into a master",
		Description: "Merges duplicates into a master of the same object (Account, Contact, Lead) as Salesforce does: the master gets the " +
			"surviving field values (policy and field_overrides; default: the org's policy), the duplicates' contacts and opportunities " +
			"move to the master, and the duplicates are deleted into a recycle bin. The merge is journaled with before-images: " +
			"POST /v1/salesforce/merges/{merge_id}/undo reverses it. Logged as merge in the route log with the diff.",
		Errors: []int{http.StatusNotFound, http.StatusConflict}}), s.salesforceMerge)
	huma.Register(a, reg(huma.Operation{OperationID: "salesforceMergeGet", Method: http.MethodGet, Path: "/v1/salesforce/merges/{id}",
		Summary: "A merge's journal entry", Errors: []int{http.StatusNotFound}}), s.salesforceMergeGet)
	huma.Register(a, reg(huma.Operation{OperationID: "salesforceMergeUndo", Method: http.MethodPost, Path: "/v1/salesforce/merges/{id}/undo",
		Summary: "Undo a merge",
		Description: "Restores the duplicates with their ids, puts the master's fields back and moves the children back to the duplicate " +
			"they came from, in one transaction (with LANTERN_CRM=salesforce: undelete, then updates of the restored records, the master and the moved " +
			"children). A merge is undone once (409 after); a master changed since the merge is not overwritten (409).",
		Errors: []int{http.StatusNotFound, http.StatusConflict}}), s.salesforceMergeUndo)
	huma.Register(a, reg(huma.Operation{OperationID: "salesforcePolicyGet", Method: http.MethodGet, Path: "/v1/salesforce/policies",
		Summary: "The org's merge policy", Description: "Survivorship, per-field overrides, auto-merge and its threshold, conversion defaults. " +
			"An org that never set one gets the defaults."}), s.salesforcePolicyGet)
	huma.Register(a, reg(huma.Operation{OperationID: "salesforcePolicyPut", Method: http.MethodPut, Path: "/v1/salesforce/policies",
		Summary: "Replace the org's merge policy"}), s.salesforcePolicyPut)
}

// convertService is the conversion domain over the server's CRM store: the local store (one
// Postgres transaction per step), or Salesforce through the port (convertLead, merge, undelete).
func (s *Server) convertService() (*convert.Service, error) {
	if local, ok := s.crm.(*crm.Local); ok {
		return &convert.Service{DB: s.db, Local: local, Routing: s.rt, Now: s.now, UndoWindow: s.cfg.MergeUndo()}, nil
	}
	if _, ok := s.crm.(crm.Converter); !ok {
		return nil, apperr.New(apperr.NotConfigured, "the CRM store (LANTERN_CRM=%s) cannot convert leads or merge records", s.cfg.CRM)
	}
	return &convert.Service{DB: s.db, CRM: s.crm, Region: s.cfg.Enrich.DefaultRegion, Routing: s.rt, Now: s.now, UndoWindow: s.cfg.MergeUndo()}, nil
}

// remoteCRM: conversions and merges run on Salesforce, not in Postgres.
func (s *Server) remoteCRM() bool {
	_, local := s.crm.(*crm.Local)
	return !local
}

// oneKey is the idempotency key of a request: the header or the body's, which must agree.
func oneKey(header, body string) (string, error) {
	if header != "" && body != "" && header != body {
		return "", apperr.Field("body.idempotency_key", "differs from the Idempotency-Key header; send one or the same in both")
	}
	if header != "" {
		return header, nil
	}
	return body, nil
}

func (s *Server) salesforceConvert(ctx context.Context, in *sfConvertInput) (*sfConvertOutput, error) {
	if _, err := s.convertService(); err != nil {
		return nil, err
	}
	if s.temporal == nil {
		return nil, apperr.New(apperr.Unavailable, "lead conversion runs on Temporal, which this server is not connected to")
	}
	var b SalesforceConvertBody // no body: every default
	if in.Body != nil {
		b = *in.Body
	}
	key, err := oneKey(in.IdempotencyKeyHeader, b.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	req := convert.Request{LeadID: in.ID, AccountID: b.AccountID, ContactID: b.ContactID, CreateOpportunity: b.CreateOpportunity,
		OpportunityName: b.OpportunityName, ConvertedStatus: b.ConvertedStatus, MergePolicy: b.MergePolicy, DryRun: b.DryRun,
		IdempotencyKey: key, RequestID: RequestIDFrom(ctx)}
	if b.Owner != nil {
		req.Owner = *b.Owner
	}
	if err := req.Check(); err != nil {
		return nil, err
	}
	out := &sfConvertOutput{}
	scope := struct {
		Lead string                `json:"lead"`
		Body SalesforceConvertBody `json:"body"`
	}{req.LeadID, b}
	err = s.idempotent(ctx, "salesforce.convert", key, scope, &out.Body, func(ctx context.Context) error {
		res, err := s.runConversion(ctx, req)
		if err != nil {
			return err
		}
		out.Body = conversionResponse(res)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// runConversion starts the conversion workflow (or finds the one its id names) and waits for it.
func (s *Server) runConversion(ctx context.Context, req convert.Request) (*workflows.ConvertResult, error) {
	org := PrincipalFrom(ctx).OrgID
	key := req.IdempotencyKey
	if req.DryRun {
		// A dry run never shares a workflow with a conversion.
		if key == "" {
			b := make([]byte, 12)
			rand.Read(b)
			key = hex.EncodeToString(b)
		}
		key = "dry-run:" + key
	}
	if key != "" {
		// The body is part of the id: a repeat of the same request finds the same run (even a
		// refused one: its answer stands under its key), while a changed request after a
		// refusal is a new run. (After a success, the idempotency store answers 409 first.)
		b, err := json.Marshal(withoutIDs(req))
		if err != nil {
			return nil, err
		}
		h := sha256.Sum256(b)
		key += "\x00" + hex.EncodeToString(h[:12])
	}
	wfID := workflows.ConvertWorkflowID(org.String(), key, req.LeadID)
	opts := client.StartWorkflowOptions{ID: wfID, TaskQueue: s.cfg.TemporalTaskQueue, WorkflowExecutionTimeout: 10 * time.Minute,
		// The same id running: wait for it (two requests for one lead never convert twice).
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// The same idempotency key after the run: its result. Without a key, a new run (which
		// finds the lead converted and refuses).
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE}
	if req.IdempotencyKey != "" {
		opts.WorkflowIDReusePolicy = enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	}
	run, err := s.temporal.ExecuteWorkflow(ctx, opts, workflows.ConvertLeadWorkflow, workflows.ConvertInput{OrgID: org, Request: req})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		run = s.temporal.GetWorkflow(ctx, wfID, "")
	} else if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "could not start the conversion")
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var res workflows.ConvertResult
	if err := run.Get(wctx, &res); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, apperr.Wrap(apperr.Unavailable, err, "the conversion did not finish (workflow %s); see it in the Temporal UI", wfID)
	}
	switch res.Status {
	case workflows.ConvertConverted, workflows.ConvertDryRun:
		return &res, nil
	}
	e := res.Error
	if e == nil {
		return nil, apperr.New(apperr.Internal, "the conversion ended as %s (workflow %s)", res.Status, wfID)
	}
	code := apperr.Code(e.Code)
	msg := e.Message
	if _, known := statusOf[code]; !known {
		code = apperr.Internal
	}
	if res.Compensated {
		if code == apperr.Internal {
			code = apperr.Unavailable
		}
		if s.remoteCRM() {
			msg += "; the conversion was rolled back as far as Salesforce allows: " + convert.RemoteCompensationNote + " (workflow " + wfID + ")"
		} else {
			msg += "; the conversion was rolled back: every record it created was deleted and the lead restored (workflow " + wfID + ")"
		}
	}
	return nil, &apperr.Error{Code: code, Field: e.Field, Message: msg}
}

// withoutIDs is the request without what differs between identical requests.
func withoutIDs(r convert.Request) convert.Request {
	r.RequestID, r.IdempotencyKey = "", ""
	return r
}

func conversionResponse(res *workflows.ConvertResult) SalesforceConvertResponse {
	r := SalesforceConvertResponse{Success: true, Status: res.Status, WorkflowID: res.WorkflowID, DryRun: res.DryRun, Plan: res.Plan,
		Assignment: res.Assignment, Steps: res.Steps}
	if res.Plan != nil {
		r.LeadID = res.Plan.LeadID
		r.Diffs = res.Plan.Diffs
		r.OwnerID = res.Plan.Owner.UserID
		r.AccountID, r.ContactID = res.Plan.Account.ID, res.Plan.Contact.ID
		r.AccountCreated, r.ContactCreated = res.Plan.Account.Action == "create", res.Plan.Contact.Action == "create"
	}
	if c := res.Converted; c != nil {
		r.LeadID, r.AccountID, r.ContactID, r.OpportunityID = c.LeadID, c.AccountID, c.ContactID, c.OpportunityID
		r.AccountCreated, r.ContactCreated, r.OwnerID, r.Diffs = c.AccountCreated, c.ContactCreated, c.OwnerID, c.Diffs
	}
	if r.Diffs == nil {
		r.Diffs = []convert.RecordDiff{}
	}
	return r
}

func (s *Server) salesforceMerge(ctx context.Context, in *sfMergeInput) (*sfMergeOutput, error) {
	if s.cfg.CRM == "salesforce" && len(in.Body.DuplicateIDs) > convert.SalesforceMaxDuplicates {
		return nil, apperr.Field("body.duplicate_ids", "names %d records; Salesforce merges at most %d duplicates into a master at once",
			len(in.Body.DuplicateIDs), convert.SalesforceMaxDuplicates)
	}
	svc, err := s.convertService()
	if err != nil {
		return nil, err
	}
	key, err := oneKey(in.IdempotencyKeyHeader, in.Body.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	b := in.Body
	out := &sfMergeOutput{}
	err = s.idempotent(ctx, "salesforce.merge", key, b, &out.Body, func(ctx context.Context) error {
		res, err := svc.Merge(ctx, PrincipalFrom(ctx).OrgID, convert.MergeInput{Object: b.Object, MasterID: b.MasterID, DuplicateIDs: b.DuplicateIDs,
			MergePolicy: b.MergePolicy, Overrides: b.FieldOverrides, Fields: b.Fields, DryRun: b.DryRun, IdempotencyKey: key, RequestID: RequestIDFrom(ctx)})
		if err != nil {
			return err
		}
		out.Body.Success, out.Body.MergeResult = true, *res
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Server) salesforceMergeGet(ctx context.Context, in *sfMergePath) (*sfMergeOutput, error) {
	svc, err := s.convertService()
	if err != nil {
		return nil, err
	}
	res, err := svc.GetMerge(ctx, PrincipalFrom(ctx).OrgID, in.ID)
	if err != nil {
		return nil, err
	}
	out := &sfMergeOutput{}
	out.Body.Success, out.Body.MergeResult = true, *res
	return out, nil
}

func (s *Server) salesforceMergeUndo(ctx context.Context, in *sfMergePath) (*sfUndoOutput, error) {
	svc, err := s.convertService()
	if err != nil {
		return nil, err
	}
	res, err := svc.Undo(ctx, PrincipalFrom(ctx).OrgID, in.ID, RequestIDFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := &sfUndoOutput{}
	out.Body.Success, out.Body.UndoResult = true, *res
	return out, nil
}

func (s *Server) salesforcePolicyGet(ctx context.Context, _ *struct{}) (*sfPolicyOutput, error) {
	svc, err := s.convertService()
	if err != nil {
		return nil, err
	}
	p, err := svc.GetPolicy(ctx, PrincipalFrom(ctx).OrgID)
	if err != nil {
		return nil, err
	}
	out := &sfPolicyOutput{}
	out.Body.Success, out.Body.MergePolicy = true, p
	return out, nil
}

func (s *Server) salesforcePolicyPut(ctx context.Context, in *sfPolicyInput) (*sfPolicyOutput, error) {
	svc, err := s.convertService()
	if err != nil {
		return nil, err
	}
	p, err := svc.PutPolicy(ctx, PrincipalFrom(ctx).OrgID, in.Body)
	if err != nil {
		return nil, err
	}
	out := &sfPolicyOutput{}
	out.Body.Success, out.Body.MergePolicy = true, p
	return out, nil
}
