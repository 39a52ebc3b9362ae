package workflows

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/lanternhq/lantern/activities"
	"github.com/lanternhq/lantern/internal/convert"
)

// ConvertInput is one lead conversion.
type ConvertInput struct {
	OrgID   uuid.UUID
	Request convert.Request
}

// Conversion outcomes.
const (
	ConvertConverted   = "converted"   // every step succeeded
	ConvertDryRun      = "dry_run"     // planned only; nothing was written
	ConvertRejected    = "rejected"    // a step refused the request before anything was written
	ConvertCompensated = "compensated" // a step failed after others had written; they were undone
	ConvertFailed      = "failed"      // a step failed and nothing needed undoing
)

// ConvertStepReport is one step as it ran: the Temporal UI shows the same names as activities.
type ConvertStepReport struct {
	Name   string `json:"name"`
	Status string `json:"status" enum:"done,failed,compensated"`
	Error  string `json:"error,omitempty"`
}

// ConvertStepError says which step failed and why. Code is an apperr code for refusals
// (invalid_input, not_found, conflict, not_configured); Field names the input at fault.
type ConvertStepError struct {
	Step    string `json:"step"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// ConvertResult is what a conversion did, or would do (dry run), or why it did nothing.
type ConvertResult struct {
	WorkflowID  string                   `json:"workflow_id"`
	Status      string                   `json:"status"`
	DryRun      bool                     `json:"dry_run"`
	Plan        *convert.ConversionPlan  `json:"plan,omitempty"`
	Assignment  *convert.OwnerAssignment `json:"assignment,omitempty"`
	Converted   *convert.Converted       `json:"converted,omitempty"`
	Steps       []ConvertStepReport      `json:"steps"`
	Compensated bool                     `json:"compensated"`
	Error       *ConvertStepError        `json:"error,omitempty"`
}

// ConvertProgress is the answer to ConvertProgressQuery.
type ConvertProgress struct {
	Stage string              `json:"stage"`
	Steps []ConvertStepReport `json:"steps"`
}

// ConvertLeadWorkflow converts a lead as a saga:
//
//	PlanConversion       match account and contact, pick the owner, compute the diffs (reads only)
//	AssignOwnerFromPool  owner mode pool: the pool's next member becomes the lead's owner
//	ConvertLead          account, contact, opportunity and the converted lead, in one transaction
//	WriteRouteLogs       convert, merge and assign entries with their diffs
//
// Every step is idempotent under the workflow id. When a step fails after others wrote, the
// compensations run in reverse (UndoConversion, RestoreLeadOwner) and the result says so. A
// dry run stops after the plan.
func ConvertLeadWorkflow(ctx workflow.Context, in ConvertInput) (ConvertResult, error) {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	res := ConvertResult{WorkflowID: id, DryRun: in.Request.DryRun, Steps: []ConvertStepReport{}}
	prog := ConvertProgress{Stage: "planning"}
	if err := workflow.SetQueryHandler(ctx, ConvertProgressQuery, func() (ConvertProgress, error) {
		return ConvertProgress{Stage: prog.Stage, Steps: res.Steps}, nil
	}); err != nil {
		return res, err
	}
	// The steps are local activities: each is a short transaction, and running them in the
	// worker spares a round trip through the server per step (a conversion is answered while
	// the caller waits). The history records each as a marker with its name and result, which
	// the Temporal UI shows as "Local Activity PlanConversion" and so on; local activities run at
	// least once, which the steps' idempotency covers.
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2,
			MaximumInterval: 5 * time.Second, MaximumAttempts: 5},
	})
	// Compensations must get through: more patience.
	undoCtx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: 30 * time.Second, MaximumAttempts: 20},
	})
	var a *activities.Convert
	step := activities.ConvertStep{OrgID: in.OrgID, ConversionID: id, Request: in.Request}
	run := func(ctx workflow.Context, name string, fn, out any) error {
		prog.Stage = name
		err := workflow.ExecuteLocalActivity(ctx, fn, step).Get(ctx, out)
		r := ConvertStepReport{Name: name, Status: "done"}
		if err != nil {
			r.Status, r.Error = "failed", stepError(name, err).Message
		}
		res.Steps = append(res.Steps, r)
		return err
	}
	type compensation struct {
		name string
		fn   any
	}
	var undo []compensation
	fail := func(name string, err error) (ConvertResult, error) {
		res.Error = stepError(name, err)
		undone := false
		for i := len(undo) - 1; i >= 0; i-- {
			prog.Stage = "compensating: " + undo[i].name
			var did bool
			var e error
			if undo[i].name == "UndoConversion" {
				e = workflow.ExecuteLocalActivity(undoCtx, undo[i].fn, step).Get(undoCtx, &did)
			} else {
				e = workflow.ExecuteLocalActivity(undoCtx, undo[i].fn, step).Get(undoCtx, nil)
				did = e == nil
			}
			r := ConvertStepReport{Name: undo[i].name, Status: "compensated"}
			if e != nil {
				r.Status, r.Error = "failed", stepError(undo[i].name, e).Message
				res.Steps = append(res.Steps, r)
				prog.Stage = "failed"
				res.Status = ConvertFailed
				// The saga could not undo everything: fail the run so an operator sees it.
				return res, e
			}
			if did {
				undone = true
				res.Steps = append(res.Steps, r)
			}
		}
		switch {
		case undone:
			res.Status, res.Compensated = ConvertCompensated, true
		case isRefusal(res.Error.Code):
			res.Status = ConvertRejected
		default:
			res.Status = ConvertFailed
		}
		prog.Stage = res.Status
		return res, nil
	}

	// 1. ConversionPlan.
	var plan convert.ConversionPlan
	if err := run(ctx, "PlanConversion", a.PlanConversion, &plan); err != nil {
		return fail("PlanConversion", err)
	}
	res.Plan, step.Plan = &plan, &plan
	if in.Request.DryRun {
		res.Status, prog.Stage = ConvertDryRun, ConvertDryRun
		return res, nil
	}

	// 2. OwnerRule from a pool.
	step.OwnerID = plan.Owner.UserID
	if plan.Owner.Mode == convert.OwnerPool {
		var asg convert.OwnerAssignment
		if err := run(ctx, "AssignOwnerFromPool", a.AssignOwnerFromPool, &asg); err != nil {
			return fail("AssignOwnerFromPool", err)
		}
		res.Assignment, step.Assignment, step.OwnerID = &asg, &asg, asg.UserID
		undo = append(undo, compensation{"RestoreLeadOwner", a.RestoreLeadOwner})
	}

	// 3. Convert. Its compensation is registered first: should the step's commit be lost to
	// a timeout, the undo still finds the conversion's record.
	undo = append(undo, compensation{"UndoConversion", a.UndoConversion})
	var conv convert.Converted
	if err := run(ctx, "ConvertLead", a.ConvertLead, &conv); err != nil {
		return fail("ConvertLead", err)
	}
	res.Converted, step.Converted = &conv, &conv

	// 4. Route logs.
	var n int
	if err := run(ctx, "WriteRouteLogs", a.WriteRouteLogs, &n); err != nil {
		return fail("WriteRouteLogs", err)
	}
	res.Status, prog.Stage = ConvertConverted, ConvertConverted
	return res, nil
}

func isRefusal(code string) bool {
	switch code {
	case "invalid_input", "not_found", "conflict", "not_configured":
		return true
	}
	return false
}

// stepError reads an activity's failure: an application error carries its code and field.
func stepError(step string, err error) *ConvertStepError {
	e := &ConvertStepError{Step: step, Code: "internal", Message: "step " + step + " failed"}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		if isRefusal(app.Type()) {
			e.Code, e.Message = app.Type(), app.Message()
			var field string
			if app.HasDetails() && app.Details(&field) == nil {
				e.Field = field
			}
		}
		return e
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		e.Code, e.Message = "upstream_unavailable", "step "+step+" timed out"
	}
	return e
}
