// Package workflows holds Lantern's Temporal workflows: orchestration only. They are
// deterministic (no I/O, no time.Now, no goroutines); every side effect is an activity.
package workflows

// RetentionScheduleID is the Temporal Schedule that starts RetentionWorkflow daily on a task
// queue: "lantern-log-retention" for the default queue "lantern". Each run's workflow id is this
// id plus the scheduled time, which Temporal appends.
func RetentionScheduleID(taskQueue string) string { return taskQueue + "-log-retention" }
