// Package workflows holds Lantern's Temporal workflows: orchestration only. They are
// deterministic (no I/O, no time.Now, no goroutines); every side effect is an activity.
package workflows

import (
	"crypto/sha256"
	"encoding/hex"
)

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

// ConvertWorkflowID is a lead conversion's workflow id: the org and the lead, and with an
// idempotency key the key (hashed), so Temporal itself refuses a second conversion under the
// same key. Without a key, the id names the lead alone, so two conversions of one lead cannot
// run at once.
func ConvertWorkflowID(orgID, idempotencyKey, leadID string) string {
	id := "convert-" + orgID + "-" + leadID
	if idempotencyKey != "" {
		h := sha256.Sum256([]byte(idempotencyKey))
		id += "-key-" + hex.EncodeToString(h[:16])
	}
	return id
}

// ConvertProgressQuery is the query name of a conversion's progress: the step under way and
// the steps done (the Temporal UI runs it from the workflow's page).
const ConvertProgressQuery = "progress"
