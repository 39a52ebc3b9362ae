// Package workflows holds Lantern's Temporal workflows: orchestration only. They are
// deterministic (no I/O, no time.Now, no goroutines); every side effect is an activity.
package workflows

// RetentionScheduleID is the Temporal Schedule that starts RetentionWorkflow daily on a task
// queue: "lantern-log-retention" for the default queue "lantern". Each run's workflow id is this
// id plus the scheduled time, which Temporal appends.
func RetentionScheduleID(taskQueue string) string { return taskQueue + "-log-retention" }

// ResearchWorkflowID is a research run's workflow id. The org is part of it, so an id from one
// org can never name another org's run, and a repeat with the same idempotency key finds the
// same run.
func ResearchWorkflowID(orgID, researchID string) string {
	return "research-" + orgID + "-" + researchID
}

// ResearchProgressQuery is the query name of a research run's progress (the Temporal UI can
// run it from the workflow's page).
const ResearchProgressQuery = "progress"

// BatchWorkflowID is an Async API batch's workflow id; the org is part of it, and the batch id
// is derived from the idempotency key, so a repeated submission finds the same workflow.
func BatchWorkflowID(orgID, batchID string) string { return "batch-" + orgID + "-" + batchID }

// BatchResearchWorkflowID is the child research run of one record of a research batch.
func BatchResearchWorkflowID(orgID, batchID, recordSeq string) string {
	return BatchWorkflowID(orgID, batchID) + "-r" + recordSeq
}

// BatchProgressQuery is the query name of a batch's progress (the Temporal UI runs it).
const BatchProgressQuery = "progress"
