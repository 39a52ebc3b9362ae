package worker_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/lanternhq/lantern/internal/testenv"
	"github.com/lanternhq/lantern/worker"
	"github.com/lanternhq/lantern/workflows"
)

// TestRetentionScheduleOnTheDevServer creates the schedule, changes it through the config,
// triggers it, and sees the run complete on a worker.
func TestRetentionScheduleOnTheDevServer(t *testing.T) {
	db := testenv.DB(t)
	c := testenv.Temporal(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := testenv.Config(t)
	cfg.TemporalTaskQueue = testenv.TaskQueue(t)
	id := workflows.RetentionScheduleID(cfg.TemporalTaskQueue)
	h := c.ScheduleClient().GetHandle(ctx, id)
	t.Cleanup(func() { h.Delete(context.Background()) }) //nolint:errcheck

	if err := worker.EnsureSchedules(ctx, cfg, c); err != nil {
		t.Fatal(err)
	}
	d, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The server stores cron expressions as calendars.
	at := func(d *client.ScheduleDescription) (int, int) {
		cal := d.Schedule.Spec.Calendars
		if len(cal) != 1 || len(cal[0].Hour) != 1 || len(cal[0].Minute) != 1 {
			t.Fatalf("calendars %+v", cal)
		}
		return cal[0].Hour[0].Start, cal[0].Minute[0].Start
	}
	if h, m := at(d); h != 2 || m != 0 {
		t.Fatalf("runs at %02d:%02d, want 02:00", h, m)
	}
	action := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if action.Workflow != "RetentionWorkflow" || action.TaskQueue != cfg.TemporalTaskQueue {
		t.Fatalf("action %+v", action)
	}
	// A second start with a new time applies it instead of failing.
	cfg.RetentionCron = "30 3 * * *"
	if err := worker.EnsureSchedules(ctx, cfg, c); err != nil {
		t.Fatal(err)
	}
	if d, err = h.Describe(ctx); err != nil {
		t.Fatal(err)
	}
	if h, m := at(d); h != 3 || m != 30 {
		t.Fatalf("after update runs at %02d:%02d, want 03:30", h, m)
	}

	go worker.Run(ctx, cfg, c, worker.Deps{DB: db}) //nolint:errcheck
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := h.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Info.RecentActions) > 0 {
			wf := d.Info.RecentActions[0].StartWorkflowResult
			var res workflows.RetentionResult
			if err := c.GetWorkflow(ctx, wf.WorkflowID, wf.FirstExecutionRunID).Get(ctx, &res); err != nil {
				t.Fatal(err)
			}
			if len(res.PartitionsCreated) != 3 {
				t.Fatalf("scheduled run result %+v", res)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the triggered schedule started no workflow in 30 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
