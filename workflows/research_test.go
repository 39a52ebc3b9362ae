package workflows_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/lanternhq/lantern/activities"
	"github.com/lanternhq/lantern/internal/enrich"
	"github.com/lanternhq/lantern/internal/testenv"
	"github.com/lanternhq/lantern/workflows"
)

func researchEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *activities.Research) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	a := &activities.Research{}
	env.RegisterActivity(a)
	return env, a
}

func TestResearchWorkflowHappyPath(t *testing.T) {
	env, a := researchEnv(t)
	env.OnActivity(a.Plan, mock.Anything, mock.Anything).Return(activities.PlanOutput{StepOutput: activities.StepOutput{Credits: 2}, Queries: []string{"q1", "q2"}}, nil)
	env.OnActivity(a.Search, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SearchInput) (activities.SearchOutput, error) {
		return activities.SearchOutput{StepOutput: activities.StepOutput{Credits: 1}, Hits: []activities.Hit{
			{URL: "https://a.example/" + in.Query}, {URL: "https://b.example/x"}, {URL: "mailto:x@y.z"}}}, nil
	})
	env.OnActivity(a.Read, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ReadInput) (activities.ReadOutput, error) {
		if strings.Contains(in.URL, "b.example") {
			return activities.ReadOutput{Error: "robots.txt"}, nil
		}
		return activities.ReadOutput{StepOutput: activities.StepOutput{Credits: 3}, Title: "T", Notes: []enrich.Note{{Claim: "c", Quote: "q"}}}, nil
	})
	env.OnActivity(a.Report, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ReportInput) (activities.ReportOutput, error) {
		if len(in.Sources) != 2 || in.Sources[0].N != 1 || in.Sources[1].N != 2 || in.Bill.Budget != 100-2-2-6 {
			t.Errorf("report input %+v", in)
		}
		return activities.ReportOutput{StepOutput: activities.StepOutput{Credits: 4}, Report: "r [1][2]"}, nil
	})
	env.ExecuteWorkflow(workflows.ResearchWorkflow, workflows.ResearchInput{Question: "q?", MaxCredits: 100, MaxQueries: 2, MaxPages: 5})
	var res enrich.ResearchResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	// 2 plan + 2 searches + 2 reads of 3 + 4 report; b.example is picked once (duplicate URL).
	if res.Status != "complete" || res.CreditsUsed != 14 || len(res.Citations) != 2 || len(res.Steps) != 7 {
		t.Fatalf("%+v", res)
	}
	v, err := env.QueryWorkflow(workflows.ResearchProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var prog enrich.ResearchProgress
	v.Get(&prog)
	if prog.Stage != "done" || prog.PagesPlanned != 3 || prog.PagesRead != 3 || prog.Notes != 2 || prog.CreditsUsed != 14 {
		t.Fatalf("progress %+v", prog)
	}
}

func TestResearchWorkflowStopsAtTheBudget(t *testing.T) {
	env, a := researchEnv(t)
	env.OnActivity(a.Plan, mock.Anything, mock.Anything).Return(activities.PlanOutput{StepOutput: activities.StepOutput{Credits: 6}, Queries: []string{"q1", "q2", "q3"}}, nil)
	env.ExecuteWorkflow(workflows.ResearchWorkflow, workflows.ResearchInput{Question: "q?", MaxCredits: 10, MaxQueries: 3, MaxPages: 5})
	var res enrich.ResearchResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	// 10 - 2 (kept for the report) - 6 = 2 left, not enough for 3 searches: none run.
	if res.Status != "budget_exhausted" || res.CreditsUsed != 6 || len(res.Steps) != 1 {
		t.Fatalf("%+v", res)
	}
}

func TestPickPages(t *testing.T) {
	hits := [][]activities.Hit{
		{{URL: "https://a.example/1"}, {URL: "https://a.example/2"}, {URL: "https://a.example/3"}},
		{{URL: "https://a.example/1#top"}, {URL: "ftp://c.example/"}, {URL: "https://www.b.example/x"}},
	}
	got := workflows.PickPages(hits, 10)
	var urls []string
	for _, p := range got {
		urls = append(urls, p.URL)
	}
	if strings.Join(urls, " ") != "https://a.example/1 https://a.example/2 https://www.b.example/x" {
		t.Fatalf("%v", urls)
	}
	if n := len(workflows.PickPages(hits, 1)); n != 1 {
		t.Fatalf("max: %d", n)
	}
}

func TestResearchReplay(t *testing.T) {
	replay(t, workflows.ResearchWorkflow, "testdata/research_history.json")
}

// TestResearchOnTheDevServer runs a research on the Temporal dev server with the real
// activities, a test model, SearXNG and site; -update-history records it for the replay test.
func TestResearchOnTheDevServer(t *testing.T) {
	db := testenv.DB(t)
	tn := testenv.NewTenant(t, db, 500)
	site := testenv.Site(t, map[string]string{"/a": `<html><head><title>A</title></head><body><p>Acme builds robots.</p></body></html>`})
	searx := testenv.NewSearXNG(t, func(string) []testenv.SearchHit { return []testenv.SearchHit{{URL: site.URL + "/a", Title: "A"}} })
	model := testenv.NewLLM(t, 800, func(req testenv.LLMRequest) any {
		switch req.SchemaName() {
		case "research_plan":
			return map[string]any{"queries": []string{"acme"}}
		case "page_notes":
			return map[string]any{"notes": []any{map[string]string{"claim": "Acme builds robots", "quote": "Acme builds robots."}}}
		}
		return "Acme builds robots [1]."
	})
	cfg := testenv.Config(t)
	cfg.TemporalTaskQueue = testenv.TaskQueue(t)
	cfg.Enrich.LLMBaseURL, cfg.Enrich.LLMAPIKey, cfg.Enrich.LLMModel = model.BaseURL(), "sk-test", "m"
	cfg.Enrich.SearXNGURL = searx.URL
	cfg.Enrich.FetchAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	eng, err := enrich.New(db, cfg.Enrich)
	if err != nil {
		t.Fatal(err)
	}
	c := testenv.Temporal(t)
	w := worker.New(c, cfg.TemporalTaskQueue, worker.Options{})
	w.RegisterWorkflow(workflows.ResearchWorkflow)
	w.RegisterActivity(&activities.Research{Engine: eng})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx := context.Background()
	id := "test-research-" + uuid.NewString()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: cfg.TemporalTaskQueue},
		workflows.ResearchWorkflow, workflows.ResearchInput{ResearchID: "r1", OrgID: tn.OrgID, RequestID: "research-r1", Question: "What does Acme do?",
			Subject: enrich.Record{"company": "Acme"}, MaxCredits: 50, MaxQueries: 2, MaxPages: 3, RecordID: "acct-1"})
	if err != nil {
		t.Fatal(err)
	}
	var res enrich.ResearchResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	// plan 1 (800 tokens at 1 credit per 1,000, rounded up) + search 1 + read 1+1 + report 1.
	if res.Status != "complete" || len(res.Citations) != 1 || res.CreditsUsed != 5 || !strings.Contains(res.Report, "## Sources") {
		t.Fatalf("%+v", res)
	}
	// Cached for the record by the workflow's last step.
	if out, err := eng.Cached(ctx, enrich.ResearchJob(tn.OrgID, "acct-1", "What does Acme do?", enrich.Record{"company": "Acme"})); err != nil || out == nil {
		t.Fatalf("not cached: %v", err)
	}
	recordHistory(t, c, id, run.GetRunID(), "testdata/research_history.json")
}
