package activities

import (
	"context"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/convert"
)

// Convert runs the steps of a lead conversion (the saga in workflows.ConvertLeadWorkflow).
// Every step is keyed by the conversion id, so a retried step finds what its first attempt
// did instead of doing it again.
type Convert struct {
	Service *convert.Service
}

// ConvertStep is the input of every conversion step: the request, and what earlier steps
// returned.
type ConvertStep struct {
	OrgID        uuid.UUID
	ConversionID string // the workflow id
	Request      convert.Request
	Plan         *convert.ConversionPlan  `json:",omitempty"`
	OwnerID      string                   `json:",omitempty"`
	Assignment   *convert.OwnerAssignment `json:",omitempty"`
	Converted    *convert.Converted       `json:",omitempty"`
}

// ConvertError types: a step failing with one of these is not retried.
var convertFinal = map[apperr.Code]bool{apperr.Invalid: true, apperr.NotFound: true, apperr.Conflict: true, apperr.NotConfigured: true}

// stepError makes client errors final (not retried), carrying the field as the error's detail.
func stepError(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := apperr.As(err); ok && convertFinal[e.Code] {
		return temporal.NewNonRetryableApplicationError(e.Message, string(e.Code), nil, e.Field)
	}
	return err
}

// PlanConversion loads the lead, matches its account and contact, picks the owner and
// computes the diffs. It writes nothing.
func (a *Convert) PlanConversion(ctx context.Context, in ConvertStep) (*convert.ConversionPlan, error) {
	p, err := a.Service.Plan(ctx, in.OrgID, in.Request)
	return p, stepError(err)
}

// AssignOwnerFromPool makes the pool's next member the lead's owner (keyed by the conversion).
func (a *Convert) AssignOwnerFromPool(ctx context.Context, in ConvertStep) (*convert.OwnerAssignment, error) {
	r, err := a.Service.AssignOwner(ctx, in.OrgID, in.ConversionID, in.Request)
	return r, stepError(err)
}

// ConvertLead converts the lead as planned, in one transaction (once per conversion id).
func (a *Convert) ConvertLead(ctx context.Context, in ConvertStep) (*convert.Converted, error) {
	r, err := a.Service.Convert(ctx, in.OrgID, in.ConversionID, in.Request, *in.Plan, in.OwnerID)
	return r, stepError(err)
}

// WriteRouteLogs writes the convert, merge and assign route log entries (once per conversion id).
func (a *Convert) WriteRouteLogs(ctx context.Context, in ConvertStep) (int, error) {
	n, err := a.Service.Log(ctx, in.OrgID, in.ConversionID, in.Request, *in.Plan, *in.Converted)
	return n, stepError(err)
}

// UndoConversion compensates ConvertLead: it deletes the records the conversion created and
// restores the lead, account and contact it changed.
func (a *Convert) UndoConversion(ctx context.Context, in ConvertStep) (bool, error) {
	return a.Service.Compensate(ctx, in.OrgID, in.ConversionID)
}

// RestoreLeadOwner compensates AssignOwnerFromPool: the lead's owner goes back to who it was.
func (a *Convert) RestoreLeadOwner(ctx context.Context, in ConvertStep) error {
	return a.Service.RestoreOwner(ctx, in.OrgID, in.Request.LeadID, *in.Assignment)
}
