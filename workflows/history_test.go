package workflows_test

import (
	"context"
	"flag"
	"os"
	"testing"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

var updateHistory = flag.Bool("update-history", false, "rewrite the testdata/*_history.json files from dev-server runs")

// replay replays a history recorded from a real run of wf: a change to the workflow that
// would break runs in flight fails here.
func replay(t *testing.T, wf any, file string) {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(wf)
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
		t.Fatal(err)
	}
}

// recordHistory writes a dev-server run's history to file for its replay test, when the tests
// run with -update-history.
func recordHistory(t *testing.T, c client.Client, id, runID, file string) {
	t.Helper()
	if !*updateHistory {
		return
	}
	iter := c.GetWorkflowHistory(context.Background(), id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	out, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
