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
