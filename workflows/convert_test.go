package workflows_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/lanternhq/lantern/activities"
	"github.com/lanternhq/lantern/internal/convert"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/routing"
	"github.com/lanternhq/lantern/internal/testenv"
	lworker "github.com/lanternhq/lantern/worker"
	"github.com/lanternhq/lantern/workflows"
)

const testLead = "00QG04X14JEcXFXMS3"

func poolPlan() *convert.ConversionPlan {
	return &convert.ConversionPlan{LeadID: testLead, Account: convert.ObjectDecision{Action: "create"}, Contact: convert.ObjectDecision{Action: "create"},
		Opportunity: convert.ObjectDecision{Action: "create", Name: "Acme"}, Owner: convert.OwnerPlan{Mode: convert.OwnerPool, Pool: "SDR", UserID: "005000000000001AAA"},
		Diffs: []convert.RecordDiff{{Object: "Lead", ID: testLead, Action: "update"}}}
}

type convertEnv struct {
	env   *testsuite.TestWorkflowEnvironment
	a     *activities.Convert
	order []string
	// The steps' behaviour; tests replace them before running.
	plan    func() (*convert.ConversionPlan, error)
	convert func(activities.ConvertStep) (*convert.Converted, error)
	log     func() (int, error)
	undo    func() (bool, error)
}

// newConvertEnv mocks every step; each records its name in order.
func newConvertEnv(t *testing.T, plan *convert.ConversionPlan) *convertEnv {
	var s testsuite.WorkflowTestSuite
	ce := &convertEnv{env: s.NewTestWorkflowEnvironment(), a: &activities.Convert{}}
	ce.env.RegisterActivity(ce.a)
	note := func(name string) { ce.order = append(ce.order, name) }
	ce.plan = func() (*convert.ConversionPlan, error) { return plan, nil }
	ce.convert = func(in activities.ConvertStep) (*convert.Converted, error) {
		if in.OwnerID != "005000000000001AAA" || in.Plan == nil {
			t.Errorf("convert got owner %q plan %v", in.OwnerID, in.Plan)
		}
		return &convert.Converted{LeadID: testLead, AccountID: "001000000000001AAA", ContactID: "003000000000001AAA", AccountCreated: true, ContactCreated: true}, nil
	}
	ce.log = func() (int, error) { return 4, nil }
	ce.undo = func() (bool, error) { return true, nil }
	ce.env.OnActivity(ce.a.PlanConversion, mock.Anything, mock.Anything).Return(func(context.Context, activities.ConvertStep) (*convert.ConversionPlan, error) {
		p, err := ce.plan()
		if err == nil {
			note("plan")
		}
		return p, err
	})
	ce.env.OnActivity(ce.a.AssignOwnerFromPool, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ConvertStep) (*convert.OwnerAssignment, error) {
		note("assign")
		return &convert.OwnerAssignment{Pool: "SDR", UserID: "005000000000001AAA", PrevOwner: "005000000000002AAA", Sequence: 7}, nil
	})
	ce.env.OnActivity(ce.a.ConvertLead, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ConvertStep) (*convert.Converted, error) {
		c, err := ce.convert(in)
		if err == nil {
			note("convert")
		}
		return c, err
	})
	ce.env.OnActivity(ce.a.WriteRouteLogs, mock.Anything, mock.Anything).Return(func(context.Context, activities.ConvertStep) (int, error) {
		note("log")
		return ce.log()
	})
	ce.env.OnActivity(ce.a.UndoConversion, mock.Anything, mock.Anything).Return(func(context.Context, activities.ConvertStep) (bool, error) {
		note("undo")
		return ce.undo()
	})
	ce.env.OnActivity(ce.a.RestoreLeadOwner, mock.Anything, mock.Anything).Return(func(context.Context, activities.ConvertStep) error {
		note("restore_owner")
		return nil
	})
	return ce
}

func (ce *convertEnv) run(t *testing.T, req convert.Request) workflows.ConvertResult {
	t.Helper()
	ce.env.ExecuteWorkflow(workflows.ConvertLeadWorkflow, workflows.ConvertInput{OrgID: uuid.New(), Request: req})
	if !ce.env.IsWorkflowCompleted() || ce.env.GetWorkflowError() != nil {
		t.Fatalf("completed=%v err=%v", ce.env.IsWorkflowCompleted(), ce.env.GetWorkflowError())
	}
	var res workflows.ConvertResult
	if err := ce.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func sameOrder(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestConvertWorkflowRunsTheSteps(t *testing.T) {
	ce := newConvertEnv(t, poolPlan())
	res := ce.run(t, convert.Request{LeadID: testLead, Owner: convert.OwnerRule{Mode: convert.OwnerPool, Pool: "SDR"}})
	if !sameOrder(ce.order, "plan", "assign", "convert", "log") {
		t.Fatalf("order %v", ce.order)
	}
	if res.Status != workflows.ConvertConverted || res.Compensated || res.Converted.AccountID != "001000000000001AAA" || res.Assignment.Sequence != 7 ||
		len(res.Steps) != 4 || res.Steps[2].Name != "ConvertLead" || res.Steps[2].Status != "done" {
		t.Fatalf("result %+v", res)
	}
}

func TestConvertWorkflowCompensatesInReverse(t *testing.T) {
	ce := newConvertEnv(t, poolPlan())
	attempts := 0
	ce.log = func() (int, error) {
		attempts++
		return 0, context.DeadlineExceeded // retried, then given up
	}
	res := ce.run(t, convert.Request{LeadID: testLead, Owner: convert.OwnerRule{Mode: convert.OwnerPool, Pool: "SDR"}})
	if attempts != 5 {
		t.Fatalf("route log step tried %d times, want 5", attempts)
	}
	if !sameOrder(ce.order, "plan", "assign", "convert", "log", "log", "log", "log", "log", "undo", "restore_owner") {
		t.Fatalf("order %v", ce.order)
	}
	if res.Status != workflows.ConvertCompensated || !res.Compensated || res.Error == nil || res.Error.Step != "WriteRouteLogs" || res.Error.Code != "internal" {
		t.Fatalf("result %+v %+v", res, res.Error)
	}
	last := res.Steps[len(res.Steps)-2:]
	if last[0].Name != "UndoConversion" || last[0].Status != "compensated" || last[1].Name != "RestoreLeadOwner" {
		t.Fatalf("steps %+v", res.Steps)
	}
}

func TestConvertWorkflowRefusedConversionRestoresTheOwner(t *testing.T) {
	ce := newConvertEnv(t, poolPlan())
	ce.convert = func(activities.ConvertStep) (*convert.Converted, error) {
		return nil, temporal.NewNonRetryableApplicationError("lead is already converted", "conflict", nil, "path.id")
	}
	ce.undo = func() (bool, error) { return false, nil } // nothing was written
	res := ce.run(t, convert.Request{LeadID: testLead, Owner: convert.OwnerRule{Mode: convert.OwnerPool, Pool: "SDR"}})
	if !sameOrder(ce.order, "plan", "assign", "undo", "restore_owner") {
		t.Fatalf("order %v", ce.order)
	}
	if res.Status != workflows.ConvertCompensated || res.Error.Code != "conflict" || res.Error.Field != "path.id" || res.Error.Step != "ConvertLead" {
		t.Fatalf("result %+v %+v", res, res.Error)
	}
}

func TestConvertWorkflowRejectsWithoutWriting(t *testing.T) {
	ce := newConvertEnv(t, nil)
	ce.plan = func() (*convert.ConversionPlan, error) {
		return nil, temporal.NewNonRetryableApplicationError("no pool named NOPE", "not_found", nil, "body.owner.pool")
	}
	res := ce.run(t, convert.Request{LeadID: testLead})
	if len(ce.order) != 0 || res.Status != workflows.ConvertRejected || res.Compensated || res.Error.Field != "body.owner.pool" || res.Error.Code != "not_found" {
		t.Fatalf("order %v result %+v %+v", ce.order, res, res.Error)
	}
}

func TestConvertWorkflowDryRunOnlyPlans(t *testing.T) {
	ce := newConvertEnv(t, poolPlan())
	res := ce.run(t, convert.Request{LeadID: testLead, DryRun: true, Owner: convert.OwnerRule{Mode: convert.OwnerPool, Pool: "SDR"}})
	if !sameOrder(ce.order, "plan") || res.Status != workflows.ConvertDryRun || !res.DryRun || res.Plan == nil || len(res.Plan.Diffs) != 1 {
		t.Fatalf("order %v result %+v", ce.order, res)
	}
}

func TestConvertWorkflowProgressQuery(t *testing.T) {
	ce := newConvertEnv(t, poolPlan())
	ce.run(t, convert.Request{LeadID: testLead, Owner: convert.OwnerRule{Mode: convert.OwnerPool, Pool: "SDR"}})
	v, err := ce.env.QueryWorkflow(workflows.ConvertProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var p workflows.ConvertProgress
	if err := v.Get(&p); err != nil || p.Stage != workflows.ConvertConverted || len(p.Steps) != 4 {
		t.Fatalf("progress %+v %v", p, err)
	}
}

// TestConvertReplay replays a history recorded from a real run (TestConvertOnTheDevServer
// with -update-history): a change to the workflow that would break runs in flight fails here.
func TestConvertReplay(t *testing.T) {
	replay(t, workflows.ConvertLeadWorkflow, "testdata/convert_history.json")
}

// TestConvertOnTheDevServer converts a lead with an owner from a pool on the Temporal dev
// server with the real activities against a real database.
func TestConvertOnTheDevServer(t *testing.T) {
	db := testenv.DB(t)
	c := testenv.Temporal(t)
	ctx := context.Background()
	cfg := testenv.Config(t)
	cfg.TemporalTaskQueue = testenv.TaskQueue(t)
	org := testenv.NewTenant(t, db, 0).OrgID
	local := &crm.Local{DB: db, Region: "US"}
	mk := func(object string, f map[string]any) string {
		r, err := local.Create(ctx, org, object, crm.Input{Fields: f})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	rep := mk(crm.User, map[string]any{"LastName": "Rep", "Email": "rep@example.com", "IsActive": true})
	acct := mk(crm.Account, map[string]any{"Name": "Acme Robotics, Inc.", "Website": "acme-robotics.com"})
	contact := mk(crm.Contact, map[string]any{"FirstName": "Bob", "LastName": "Smith", "Email": "bob@acme-robotics.com", "AccountId": acct})
	lead := mk(crm.Lead, map[string]any{"FirstName": "Robert", "LastName": "Smith", "Email": "bob@acme-robotics.com", "Company": "Acme Robotics", "Title": "CTO"})
	rt := &routing.Service{DB: db, CRM: local}
	if _, err := rt.CreatePool(ctx, org, routing.PoolInput{Name: "SDR", Objects: []string{"Lead"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.AddMember(ctx, org, "SDR", routing.MemberInput{UserID: rep, Weight: 1, Status: routing.Active}); err != nil {
		t.Fatal(err)
	}

	w := worker.New(c, cfg.TemporalTaskQueue, worker.Options{})
	lworker.Register(w, cfg, lworker.Deps{DB: db})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	id := workflows.ConvertWorkflowID(org.String(), "test-"+uuid.NewString(), lead)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: cfg.TemporalTaskQueue}, workflows.ConvertLeadWorkflow,
		workflows.ConvertInput{OrgID: org, Request: convert.Request{LeadID: lead, Owner: convert.OwnerRule{Mode: convert.OwnerPool, Pool: "SDR"}, IdempotencyKey: "k"}})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.ConvertResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Status != workflows.ConvertConverted || res.Converted.AccountID != acct || res.Converted.ContactID != contact || res.Converted.OwnerID != rep ||
		res.Converted.OpportunityID == "" || res.Assignment.Sequence != 1 {
		t.Fatalf("result %+v converted %+v", res, res.Converted)
	}

	recordHistory(t, c, id, run.GetRunID(), "testdata/convert_history.json")
}
