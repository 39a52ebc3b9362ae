package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/lanternhq/lantern/activities"
)

// RetentionInput configures one cleanup run. The zero value is the schedule's.
type RetentionInput struct {
	Batch int // entries deleted per statement; 0 means 5000
}

// RetentionResult is what one run removed; the Temporal UI shows it as the workflow's result.
type RetentionResult struct {
	PartitionsCreated []string
	PartitionsDropped []string
	activities.PurgeResult
	activities.HousekeepingResult
}

// RetentionWorkflow removes expired route logs of every org, as of the run's start:
//  1. create the coming months' partitions, so writers rarely create one on the hot path;
//  2. drop whole month partitions in which every entry has expired (cheap, no dead tuples);
//  3. delete the remaining expired entries, org by org, in batches;
//  4. prune expired idempotency records and stale rate-limit counters.
func RetentionWorkflow(ctx workflow.Context, in RetentionInput) (RetentionResult, error) {
	if in.Batch <= 0 {
		in.Batch = 5000
	}
	now := workflow.Now(ctx)
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
			MaximumAttempts:    10,
		},
	})
	var a *activities.Retention
	var res RetentionResult
	if err := workflow.ExecuteActivity(ctx, a.EnsurePartitions, now).Get(ctx, &res.PartitionsCreated); err != nil {
		return res, err
	}
	if err := workflow.ExecuteActivity(ctx, a.DropExpiredPartitions, now).Get(ctx, &res.PartitionsDropped); err != nil {
		return res, err
	}
	if err := workflow.ExecuteActivity(ctx, a.PurgeExpiredLogs, activities.PurgeInput{Now: now, Batch: in.Batch}).Get(ctx, &res.PurgeResult); err != nil {
		return res, err
	}
	if err := workflow.ExecuteActivity(ctx, a.PruneHousekeeping, now).Get(ctx, &res.HousekeepingResult); err != nil {
		return res, err
	}
	return res, nil
}
