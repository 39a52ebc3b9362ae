package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/lanternhq/lantern/activities"
	"github.com/lanternhq/lantern/internal/batch"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/testenv"
	"github.com/lanternhq/lantern/schema"
	lworker "github.com/lanternhq/lantern/worker"
	"github.com/lanternhq/lantern/workflows"
)

func batchEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *activities.Batch, *[]string) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	a := &activities.Batch{}
	env.RegisterActivity(a)
	var finished []string
	env.OnActivity(a.Start, mock.Anything, mock.Anything).Return(activities.StartOutput{Reserved: 10, Total: 250}, nil)
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishInput) (batch.Summary, error) {
		finished = append(finished, in.State)
		return batch.Summary{State: in.State, Processed: 250, Succeeded: 250}, nil
	})
	env.OnActivity(a.Callback, mock.Anything, mock.Anything).Return(nil)
	return env, a, &finished
}

var batchIn = workflows.BatchInput{BatchID: "bat_1", Type: batch.Phone, Total: 250, ChunkSize: 100, Concurrency: 4}

func TestBatchWorkflowRunsChunksInOrder(t *testing.T) {
	env, a, finished := batchEnv(t)
	var chunks []string
	env.OnActivity(a.Enrich, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ChunkInput) (activities.ChunkOutput, error) {
		chunks = append(chunks, fmt.Sprintf("%d-%d", in.From, in.To))
		return activities.ChunkOutput{Progress: batch.Progress{Total: 250, Processed: in.To}}, nil
	})
	env.ExecuteWorkflow(workflows.BatchWorkflow, batchIn)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(chunks) != "[0-100 100-200 200-250]" || fmt.Sprint(*finished) != "[completed]" {
		t.Fatalf("chunks %v, finished %v", chunks, *finished)
	}
}

func TestBatchWorkflowStopsWhenTheReservationRunsOut(t *testing.T) {
	env, a, finished := batchEnv(t)
	calls := 0
	env.OnActivity(a.Enrich, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ChunkInput) (activities.ChunkOutput, error) {
		calls++
		return activities.ChunkOutput{Stop: true, Message: "used up"}, nil
	})
	env.ExecuteWorkflow(workflows.BatchWorkflow, batchIn)
	if calls != 1 || fmt.Sprint(*finished) != "[budget_exhausted]" {
		t.Fatalf("chunks %d, finished %v", calls, *finished)
	}
}

func TestBatchWorkflowWithNothingReservedDoesNoWork(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	a := &activities.Batch{}
	env.RegisterActivity(a)
	env.OnActivity(a.Start, mock.Anything, mock.Anything).Return(activities.StartOutput{Reserved: 0}, nil)
	var state string
	env.OnActivity(a.Finish, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishInput) (batch.Summary, error) {
		state = in.State
		return batch.Summary{}, nil
	})
	env.OnActivity(a.Callback, mock.Anything, mock.Anything).Return(nil)
	env.ExecuteWorkflow(workflows.BatchWorkflow, batchIn)
	if state != batch.BudgetExhausted {
		t.Fatalf("state %q", state)
	}
}

func TestBatchWorkflowCancelFinishesAsCancelled(t *testing.T) {
	env, a, finished := batchEnv(t)
	env.OnActivity(a.Enrich, mock.Anything, mock.Anything).After(time.Hour).Return(activities.ChunkOutput{}, nil)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Minute)
	env.ExecuteWorkflow(workflows.BatchWorkflow, batchIn)
	if fmt.Sprint(*finished) != "[cancelled]" {
		t.Fatalf("finished %v (err %v)", *finished, env.GetWorkflowError())
	}
}

func TestBatchWorkflowProgressQuery(t *testing.T) {
	env, a, _ := batchEnv(t)
	env.OnActivity(a.Enrich, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ChunkInput) (activities.ChunkOutput, error) {
		return activities.ChunkOutput{Progress: batch.Progress{Total: 250, Processed: in.To, Succeeded: in.To, CreditsUsed: int64(in.To)}}, nil
	})
	env.ExecuteWorkflow(workflows.BatchWorkflow, batchIn)
	v, err := env.QueryWorkflow(workflows.BatchProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var p batch.Progress
	if err := v.Get(&p); err != nil || p.Processed != 250 || p.State != batch.Completed {
		t.Fatalf("progress %+v (%v)", p, err)
	}
}

func TestBatchReplay(t *testing.T) {
	replay(t, workflows.BatchWorkflow, "testdata/batch_history.json")
}

// TestBatchOnTheDevServer runs a phone batch on the Temporal dev server with the real
// activities, Postgres and S3; -update-history records it for the replay test.
func TestBatchOnTheDevServer(t *testing.T) {
	db := testenv.DB(t)
	tn := testenv.NewTenant(t, db, 100)
	st := testenv.Store(t)
	cfg := testenv.Config(t)
	cfg.TemporalTaskQueue = testenv.TaskQueue(t)
	eng, err := enrich.New(db, cfg.Enrich)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := batch.NewID(tn.OrgID, "")
	in := batch.Input{BatchID: id, OrgID: tn.OrgID, Type: batch.Phone}
	for i := range 5 {
		in.Records = append(in.Records, batch.Record{RecordID: fmt.Sprint("r", i), Fields: enrich.Record{"phone": fmt.Sprintf("+1 650 253 000%d", i)}})
	}
	raw, _ := json.Marshal(in)
	prefix := batch.Prefix(tn.OrgID, id)
	if err := st.Put(ctx, batch.ObjectsAt(prefix).Input, "application/json", raw); err != nil {
		t.Fatal(err)
	}
	if _, err := batch.Create(ctx, db, &schema.Batch{OrgID: tn.OrgID, ID: id, Type: batch.Phone, State: batch.Queued, Total: 5,
		MaxCredits: 3, Prefix: prefix}); err != nil {
		t.Fatal(err)
	}
	c := testenv.Temporal(t)
	w := worker.New(c, cfg.TemporalTaskQueue, worker.Options{})
	lworker.Register(w, cfg, lworker.Deps{DB: db, Enrich: eng, Store: st})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	wfID := workflows.BatchWorkflowID(tn.OrgID.String(), id)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: cfg.TemporalTaskQueue}, workflows.BatchWorkflow,
		workflows.BatchInput{OrgID: tn.OrgID, BatchID: id, Type: batch.Phone, Total: 5, ChunkSize: 2, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	var sum batch.Summary
	if err := run.Get(ctx, &sum); err != nil {
		t.Fatal(err)
	}
	// max_credits 3 at 1 credit a record: three records, then the batch stops.
	if sum.State != batch.BudgetExhausted || sum.CreditsUsed != 3 || sum.Succeeded != 3 || sum.Skipped != 2 || sum.CreditsRefunded != 0 {
		t.Fatalf("%+v", sum)
	}
	recordHistory(t, c, wfID, run.GetRunID(), "testdata/batch_history.json")
}
