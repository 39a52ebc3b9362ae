package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/lanternhq/lantern/activities"
	"github.com/lanternhq/lantern/internal/routelog"
	"github.com/lanternhq/lantern/internal/testenv"
	lworker "github.com/lanternhq/lantern/worker"
	"github.com/lanternhq/lantern/workflows"
)

func TestRetentionWorkflowRunsTheStepsInOrder(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	start := time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	a := &activities.Retention{}
	env.RegisterActivity(a)
	var order []string
	env.OnActivity(a.EnsurePartitions, mock.Anything, start).Return(func(_ context.Context, now time.Time) ([]string, error) {
		order = append(order, "ensure")
		return []string{"route_logs_p2026_12"}, nil
	})
	env.OnActivity(a.DropExpiredPartitions, mock.Anything, start).Return(func(_ context.Context, now time.Time) ([]string, error) {
		order = append(order, "drop")
		return []string{"route_logs_p2025_10"}, nil
	})
	env.OnActivity(a.PurgeExpiredLogs, mock.Anything, activities.PurgeInput{Now: start, Batch: 5000}).Return(
		func(_ context.Context, in activities.PurgeInput) (activities.PurgeResult, error) {
			order = append(order, "purge")
			return activities.PurgeResult{OrgsChecked: 3, EntriesDeleted: 42, KeysDeleted: 40}, nil
		})
	env.OnActivity(a.PruneHousekeeping, mock.Anything, start).Return(func(_ context.Context, now time.Time) (activities.HousekeepingResult, error) {
		order = append(order, "prune")
		return activities.HousekeepingResult{IdempotencyPruned: 5, RateLimitsPruned: 9}, nil
	})
	env.ExecuteWorkflow(workflows.RetentionWorkflow, workflows.RetentionInput{})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed=%v err=%v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var res workflows.RetentionResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if got := order; len(got) != 4 || got[0] != "ensure" || got[1] != "drop" || got[2] != "purge" || got[3] != "prune" {
		t.Fatalf("order %v", got)
	}
	if res.EntriesDeleted != 42 || res.OrgsChecked != 3 || res.PartitionsDropped[0] != "route_logs_p2025_10" || res.RateLimitsPruned != 9 {
		t.Fatalf("result %+v", res)
	}
}

func TestRetentionWorkflowRetriesAFailingStep(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	a := &activities.Retention{}
	env.RegisterActivity(a)
	attempts := 0
	env.OnActivity(a.EnsurePartitions, mock.Anything, mock.Anything).Return([]string{}, nil)
	env.OnActivity(a.DropExpiredPartitions, mock.Anything, mock.Anything).Return(func(context.Context, time.Time) ([]string, error) {
		attempts++
		if attempts < 3 {
			return nil, context.DeadlineExceeded
		}
		return []string{}, nil
	})
	env.OnActivity(a.PurgeExpiredLogs, mock.Anything, mock.Anything).Return(activities.PurgeResult{}, nil)
	env.OnActivity(a.PruneHousekeeping, mock.Anything, mock.Anything).Return(activities.HousekeepingResult{}, nil)
	env.ExecuteWorkflow(workflows.RetentionWorkflow, workflows.RetentionInput{Batch: 10})
	if err := env.GetWorkflowError(); err != nil || attempts != 3 {
		t.Fatalf("err=%v attempts=%d", err, attempts)
	}
}

// TestRetentionReplay replays a history recorded from a real run: a change to the workflow
// that would break runs in flight fails here.
func TestRetentionReplay(t *testing.T) {
	replay(t, workflows.RetentionWorkflow, "testdata/retention_history.json")
}

// TestRetentionOnTheDevServer runs the workflow on the Temporal dev server with the real
// activities against a real database, then checks what it removed.
func TestRetentionOnTheDevServer(t *testing.T) {
	db := testenv.DB(t)
	c := testenv.Temporal(t)
	ctx := context.Background()
	cfg := testenv.Config(t)
	cfg.TemporalTaskQueue = testenv.TaskQueue(t)
	cfg.LogRetentionDays = 365

	now := time.Now().UTC()
	short := testenv.NewTenant(t, db, 0).OrgID
	if _, err := routelog.SetRetention(ctx, db, short, 7, true); err != nil {
		t.Fatal(err)
	}
	long := testenv.NewTenant(t, db, 0).OrgID
	entry := func(ts time.Time, key string) routelog.Entry {
		return routelog.Entry{Timestamp: ts, Object: "Lead", ObjectID: "00Q" + key, Action: "assign", Reason: "round_robin", IdempotencyKey: key}
	}
	// short: 3 entries 10 days old (expired), 2 entries 1 day old (kept), 1 a year and a half
	// old in a month nobody else uses (its partition goes whole).
	ancient := time.Date(now.Year()-2, now.Month(), 15, 0, 0, 0, 0, time.UTC)
	if _, err := routelog.Write(ctx, db, short, entry(now.AddDate(0, 0, -10), "a"), entry(now.AddDate(0, 0, -10), "b"),
		entry(now.AddDate(0, 0, -10), "c"), entry(now.AddDate(0, 0, -1), "d"), entry(now.AddDate(0, 0, -1), "e"),
		entry(ancient, "f")); err != nil {
		t.Fatal(err)
	}
	// long: 10 days old is well within 365 days.
	if _, err := routelog.Write(ctx, db, long, entry(now.AddDate(0, 0, -10), "g")); err != nil {
		t.Fatal(err)
	}

	w := worker.New(c, cfg.TemporalTaskQueue, worker.Options{})
	lworker.Register(w, cfg, lworker.Deps{DB: db})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	id := "test-retention-" + uuid.NewString()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: cfg.TemporalTaskQueue},
		workflows.RetentionWorkflow, workflows.RetentionInput{Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.RetentionResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	wantDropped := "route_logs_p" + ancient.Format("2006_01")
	if len(res.PartitionsDropped) != 1 || res.PartitionsDropped[0] != wantDropped {
		t.Fatalf("dropped %v, want [%s]", res.PartitionsDropped, wantDropped)
	}
	if res.EntriesDeleted != 3 || res.OrgsChecked != 2 || len(res.PartitionsCreated) != 3 {
		t.Fatalf("result %+v", res)
	}
	left := func(org uuid.UUID) int {
		es, err := routelog.List(ctx, db, org, routelog.Filter{From: now.AddDate(-3, 0, 0), To: now.Add(time.Hour), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	if left(short) != 2 || left(long) != 1 {
		t.Fatalf("left: short %d (want 2), long %d (want 1)", left(short), left(long))
	}

	recordHistory(t, c, id, run.GetRunID(), "testdata/retention_history.json")
}
