package workflows

import (
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/lanternhq/lantern/activities"
	"github.com/lanternhq/lantern/internal/batch"
	"github.com/lanternhq/lantern/internal/enrich"
)

// BatchInput is one batch; Next and Progress carry its state across continue-as-new.
type BatchInput struct {
	OrgID       uuid.UUID
	APIKeyID    *uuid.UUID
	BatchID     string
	Type        string
	Total       int
	ChunkSize   int // records per chunk
	Concurrency int // research records run at once (phone and email: the worker's setting)
	Started     bool
	Next        int // first record not yet handed to a chunk
	Progress    batch.Progress
}

// historyLimit is the history length after which a batch continues as new, so that a
// 1,000-record research batch (hundreds of child runs) stays well within Temporal's limits.
const historyLimit = 2000

// BatchWorkflow processes a batch chunk by chunk: phone and email chunks are one activity
// each (records run concurrently inside it); research records are child research runs. It
// reserves credits first and settles them last, stops when the reservation runs out, keeps
// partial results when cancelled, and calls the callback_url when done.
func BatchWorkflow(ctx workflow.Context, in BatchInput) (batch.Summary, error) {
	prog := in.Progress
	if prog.State == "" {
		prog = batch.Progress{State: batch.Running, Total: in.Total}
	}
	if err := workflow.SetQueryHandler(ctx, BatchProgressQuery, func() (batch.Progress, error) { return prog, nil }); err != nil {
		return batch.Summary{}, err
	}
	// Activities retry without limit: S3 or Postgres being away for a while makes records
	// wait, not fail. The heartbeat timeout finds a killed worker quickly.
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    20 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second},
	})
	var a *activities.Batch
	ref := activities.BatchRef{OrgID: in.OrgID, BatchID: in.BatchID}

	state, message := batch.Completed, ""
	finish := func(ctx workflow.Context) (batch.Summary, error) {
		prog.State = state
		var sum batch.Summary
		if err := workflow.ExecuteActivity(ctx, a.Finish, activities.FinishInput{BatchRef: ref, State: state, Message: message}).Get(ctx, &sum); err != nil {
			return sum, err
		}
		prog.Processed, prog.Succeeded, prog.Failed, prog.CreditsUsed = sum.Processed, sum.Succeeded, sum.Failed, sum.CreditsUsed
		cb := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumAttempts: 5}})
		_ = workflow.ExecuteActivity(cb, a.Callback, ref).Get(cb, nil) // an unreachable receiver does not fail the batch
		return sum, nil
	}

	if !in.Started {
		var st activities.StartOutput
		if err := workflow.ExecuteActivity(ctx, a.Start, ref).Get(ctx, &st); err != nil {
			state, message = batch.Failed, "the batch could not start"
			return finish(ctx)
		}
		in.Started, prog.Reserved = true, st.Reserved
		if st.Reserved <= 0 {
			state, message = batch.BudgetExhausted, "no credits could be reserved: the balance is empty"
			return finish(ctx)
		}
	}

	for in.Next < in.Total {
		from, to := in.Next, min(in.Next+in.ChunkSize, in.Total)
		var out activities.ChunkOutput
		var err error
		if in.Type == batch.Research {
			out, err = researchChunk(ctx, in, from, to)
		} else {
			err = workflow.ExecuteActivity(ctx, a.Enrich, activities.ChunkInput{BatchRef: ref, From: from, To: to}).Get(ctx, &out)
		}
		if temporal.IsCanceledError(err) || ctx.Err() != nil {
			state, message = batch.Cancelled, "cancelled; the records processed before are kept"
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			return finish(dctx)
		}
		if err != nil {
			state, message = batch.Failed, "the batch stopped: a chunk could not be processed"
			return finish(ctx)
		}
		out.Progress.State = batch.Running
		prog = out.Progress
		in.Next = to
		if out.Stop {
			state, message = batch.BudgetExhausted, out.Message
			return finish(ctx)
		}
		if in.Next < in.Total && workflow.GetInfo(ctx).GetCurrentHistoryLength() > historyLimit {
			in.Progress = prog
			return batch.Summary{}, workflow.NewContinueAsNewError(ctx, BatchWorkflow, in)
		}
	}
	return finish(ctx)
}

// researchChunk runs the research records of [from, to) not yet processed as child research
// runs, at most in.Concurrency at once, then saves their results.
func researchChunk(ctx workflow.Context, in BatchInput, from, to int) (activities.ChunkOutput, error) {
	var a *activities.Batch
	ref := activities.BatchRef{OrgID: in.OrgID, BatchID: in.BatchID}
	var tasks []activities.ResearchTask
	if err := workflow.ExecuteActivity(ctx, a.PendingResearch, activities.ChunkInput{BatchRef: ref, From: from, To: to}).Get(ctx, &tasks); err != nil {
		return activities.ChunkOutput{}, err
	}
	done := make([]activities.ResearchDone, len(tasks))
	sel := workflow.NewSelector(ctx)
	running, next, refused := 0, 0, false
	start := func(i int) {
		t := tasks[i]
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:               BatchResearchWorkflowID(in.OrgID.String(), in.BatchID, strconv.Itoa(t.Seq)),
			WorkflowExecutionTimeout: 30 * time.Minute,
		})
		f := workflow.ExecuteChildWorkflow(cctx, ResearchWorkflow, ResearchInput{ResearchID: in.BatchID + "-" + strconv.Itoa(t.Seq),
			OrgID: in.OrgID, APIKeyID: in.APIKeyID, RequestID: "batch:" + in.BatchID + ":" + t.RecordID, Question: t.Question,
			Subject: t.Subject, MaxCredits: t.Budget, MaxQueries: 4, MaxPages: 5, RecordID: t.RecordID, BatchID: in.BatchID})
		running++
		sel.AddFuture(f, func(f workflow.Future) {
			running--
			d := activities.ResearchDone{Seq: t.Seq, RecordID: t.RecordID}
			var res enrich.ResearchResult
			if err := f.Get(ctx, &res); err != nil {
				var app *temporal.ApplicationError
				d.Error = "the research run failed"
				if errors.As(err, &app) && app.Type() == "insufficient_credits" {
					d.Refused, refused = true, true
					d.Error = "stopped: the batch's credits are used up"
				}
			} else {
				d.Result = &res
			}
			done[i] = d
		})
	}
	for next < len(tasks) || running > 0 {
		for running < max(in.Concurrency, 1) && next < len(tasks) && !refused && ctx.Err() == nil {
			start(next)
			next++
		}
		if running == 0 {
			break
		}
		sel.Select(ctx)
	}
	var finished []activities.ResearchDone
	for _, d := range done {
		if d.RecordID != "" {
			finished = append(finished, d)
		}
	}
	if ctx.Err() != nil { // cancelled: keep what finished, then stop
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		_ = workflow.ExecuteActivity(dctx, a.SaveResearch, activities.SaveResearchInput{BatchRef: ref, Done: finished}).Get(dctx, nil)
		return activities.ChunkOutput{}, temporal.NewCanceledError()
	}
	var out activities.ChunkOutput
	err := workflow.ExecuteActivity(ctx, a.SaveResearch, activities.SaveResearchInput{BatchRef: ref, Done: finished}).Get(ctx, &out)
	return out, err
}
