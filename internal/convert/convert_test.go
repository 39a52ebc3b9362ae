package convert_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/convert"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/routelog"
	"github.com/lanternhq/lantern/internal/routing"
	"github.com/lanternhq/lantern/internal/testenv"
)

func TestSurvive(t *testing.T) {
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	master := crm.Record{ID: "m", LastModifiedAt: old, Fields: map[string]any{"Name": "Acme", "Phone": "1", "Id": "m"}}
	a := crm.Record{ID: "a", LastModifiedAt: old.Add(time.Hour), Fields: map[string]any{"Name": "ACME", "Phone": "2", "City": "Paris"}}
	b := crm.Record{ID: "b", LastModifiedAt: old.Add(2 * time.Hour), Fields: map[string]any{"City": "Lyon", "Industry": "", "IsConverted": true}}
	for _, tc := range []struct {
		policy    string
		overrides map[string]string
		want      map[string]any
	}{
		{convert.FillEmpty, nil, map[string]any{"Name": "Acme", "Phone": "1", "City": "Paris"}},
		{convert.MasterWins, nil, map[string]any{"Name": "Acme", "Phone": "1"}},
		{convert.NewestWins, nil, map[string]any{"Name": "ACME", "Phone": "2", "City": "Lyon"}},
		{convert.MasterWins, map[string]string{"City": "b", "Phone": convert.NewestWins}, map[string]any{"Name": "Acme", "Phone": "2", "City": "Lyon"}},
	} {
		got, src := convert.Survive(tc.policy, tc.overrides, master, []crm.Record{a, b})
		if len(got) != len(tc.want) {
			t.Fatalf("%s %v: got %v, want %v", tc.policy, tc.overrides, got, tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Fatalf("%s %v: %s = %v, want %v", tc.policy, tc.overrides, k, got[k], v)
			}
		}
		if tc.overrides["City"] == "b" && (src["City"].From != "b" || src["City"].Policy != "override") {
			t.Fatalf("source %+v", src["City"])
		}
	}
}

type fixture struct {
	svc   *convert.Service
	local *crm.Local
	org   uuid.UUID
}

func newFixture(t *testing.T) *fixture { return newFixtureTB(t) }

func newFixtureTB(t testing.TB) *fixture {
	db := testenv.DB(t)
	local := &crm.Local{DB: db, Region: "US"}
	return &fixture{svc: &convert.Service{DB: db, Local: local, Routing: &routing.Service{DB: db, CRM: local}}, local: local,
		org: testenv.NewTenant(t, db, 0).OrgID}
}

func (f *fixture) mk(t *testing.T, object string, fields map[string]any) string {
	t.Helper()
	r, err := f.local.Create(context.Background(), f.org, object, crm.Input{Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func (f *fixture) get(t *testing.T, object, id string) *crm.Record {
	t.Helper()
	r, err := f.local.Get(context.Background(), f.org, object, id)
	if err != nil {
		t.Fatalf("%s %s: %v", object, id, err)
	}
	return r
}

// On the demo CRM, a web-form lead for someone who is already a contact (under a nickname, the
// company spelt another way) is attached to the company's account and merged into the contact.
func TestPlanOnTheDemoCRM(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := crm.SeedDemo(ctx, f.local, f.org); err != nil {
		t.Fatal(err)
	}
	d := crm.DemoCRM()
	checked := 0
	for _, in := range d.Leads {
		if !strings.HasPrefix(in.ExternalID, "demo-lead-") {
			continue
		}
		p, _ := f.local.Query(ctx, f.org, crm.Query{Object: crm.Lead, Filters: map[string]string{"external_id": in.ExternalID}, Limit: 1})
		lead := p.Records[0]
		plan, err := f.svc.Plan(ctx, f.org, convert.Request{LeadID: lead.ID})
		if err != nil {
			t.Fatal(err)
		}
		if plan.Account.Action != "attach" || plan.Contact.Action != "merge" {
			t.Fatalf("lead %s (%s, %s): account %+v contact %+v", in.ExternalID, lead.Str("Company"), lead.Str("Email"), plan.Account, plan.Contact)
		}
		c := f.get(t, crm.Contact, plan.Contact.ID)
		if !strings.EqualFold(c.Str("Email"), lead.Str("Email")) || c.Str("AccountId") != plan.Account.ID {
			t.Fatalf("lead %s merged into %v", in.ExternalID, c.Fields)
		}
		checked++
		if checked == 10 {
			break
		}
	}
	if checked < 5 {
		t.Fatalf("only %d demo leads checked", checked)
	}
}

func TestConvertIsIdempotentAndCompensates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	acct := f.mk(t, crm.Account, map[string]any{"Name": "Initech", "Website": "initech.com"})
	contact := f.mk(t, crm.Contact, map[string]any{"FirstName": "Peter", "LastName": "Gibbons", "Email": "peter@initech.com", "AccountId": acct})
	lead := f.mk(t, crm.Lead, map[string]any{"FirstName": "Peter", "LastName": "Gibbons", "Email": "peter@initech.com", "Company": "Initech",
		"Title": "Engineer", "Phone": "+1 512 555 0102"})
	req := convert.Request{LeadID: lead, MergePolicy: convert.FillEmpty}
	plan, err := f.svc.Plan(ctx, f.org, req)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Account.ID != acct || plan.Contact.ID != contact {
		t.Fatalf("plan %+v %+v", plan.Account, plan.Contact)
	}
	id := convert.ConversionID(f.org, "t1")
	c1, err := f.svc.Convert(ctx, f.org, id, req, *plan, "")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := f.svc.Convert(ctx, f.org, id, req, *plan, "")
	if err != nil || !c2.Replayed || c2.OpportunityID != c1.OpportunityID {
		t.Fatalf("retry: %+v %v", c2, err)
	}
	if p, _ := f.local.Query(ctx, f.org, crm.Query{Object: crm.Opportunity, Limit: 10}); len(p.Records) != 1 {
		t.Fatalf("opportunities after a retried step: %d", len(p.Records))
	}
	if got := f.get(t, crm.Contact, contact); got.Str("Title") != "Engineer" {
		t.Fatalf("contact after: %v", got.Fields)
	}
	// Logging twice writes once.
	n1, err := f.svc.Log(ctx, f.org, id, req, *plan, *c1)
	if err != nil || n1 == 0 {
		t.Fatalf("log: %d %v", n1, err)
	}
	if n2, err := f.svc.Log(ctx, f.org, id, req, *plan, *c1); err != nil || n2 != 0 {
		t.Fatalf("log again: %d %v", n2, err)
	}

	// Compensation: the opportunity goes, the contact and the lead are as they were.
	did, err := f.svc.Compensate(ctx, f.org, id)
	if err != nil || !did {
		t.Fatalf("compensate: %v %v", did, err)
	}
	if _, err := f.local.Get(ctx, f.org, crm.Opportunity, c1.OpportunityID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("opportunity after compensation: %v", err)
	}
	if got := f.get(t, crm.Contact, contact); got.Str("Title") != "" {
		t.Fatalf("contact after compensation: %v", got.Fields)
	}
	if got := f.get(t, crm.Lead, lead); got.Fields["IsConverted"] != nil || got.Str("Status") != "" {
		t.Fatalf("lead after compensation: %v", got.Fields)
	}
	if did, err := f.svc.Compensate(ctx, f.org, id); err != nil || did {
		t.Fatalf("compensate twice: %v %v", did, err)
	}
	// A new run under the same id converts afresh (it does not replay the undone result).
	c3, err := f.svc.Convert(ctx, f.org, id, req, *plan, "")
	if err != nil || c3.Replayed || c3.OpportunityID == c1.OpportunityID {
		t.Fatalf("convert after compensation: %+v %v", c3, err)
	}
	if got := f.get(t, crm.Lead, lead); got.Fields["IsConverted"] != true {
		t.Fatalf("lead after the new run: %v", got.Fields)
	}
}

func TestConvertMergePolicies(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		policy         string
		title, phone   string
		leadIsNewer    bool
		wantTitleAfter string
	}{
		{convert.FillEmpty, "", "+1 1", true, "Lead title"},
		{convert.MasterWins, "", "+1 1", true, ""},
		{convert.NewestWins, "Old title", "+1 1", true, "Lead title"},
	} {
		acct := f.mk(t, crm.Account, map[string]any{"Name": "Acct " + tc.policy})
		cf := map[string]any{"LastName": "Doe", "Email": "doe-" + tc.policy + "@example.com", "AccountId": acct}
		if tc.title != "" {
			cf["Title"] = tc.title
		}
		contact := f.mk(t, crm.Contact, cf)
		time.Sleep(5 * time.Millisecond) // the lead is modified later
		lead := f.mk(t, crm.Lead, map[string]any{"LastName": "Doe", "Email": "doe-" + tc.policy + "@example.com", "Company": "Acct " + tc.policy, "Title": "Lead title"})
		req := convert.Request{LeadID: lead, AccountID: acct, ContactID: contact, MergePolicy: tc.policy}
		plan, err := f.svc.Plan(ctx, f.org, req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Convert(ctx, f.org, convert.ConversionID(f.org, tc.policy), req, *plan, ""); err != nil {
			t.Fatal(err)
		}
		if got := f.get(t, crm.Contact, contact).Str("Title"); got != tc.wantTitleAfter {
			t.Fatalf("%s: Title %q, want %q", tc.policy, got, tc.wantTitleAfter)
		}
	}
}

func TestMergeJournalAndUndoGuards(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	master := f.mk(t, crm.Contact, map[string]any{"FirstName": "Bob", "LastName": "Smith", "Email": "bob@acme.com"})
	time.Sleep(5 * time.Millisecond)
	dup := f.mk(t, crm.Contact, map[string]any{"FirstName": "Robert", "LastName": "Smith", "Email": "Bob@acme.com", "Title": "CTO"})
	opp := f.mk(t, crm.Opportunity, map[string]any{"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2027-01-01", "ContactId": dup})
	res, err := f.svc.Merge(ctx, f.org, convert.MergeInput{Object: crm.Contact, MasterID: master, DuplicateIDs: []string{dup}, MergePolicy: convert.NewestWins, RequestID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	m := f.get(t, crm.Contact, master)
	if m.Str("FirstName") != "Robert" || m.Str("Title") != "CTO" || res.Sources["FirstName"].From != dup {
		t.Fatalf("newest_wins: %v %+v", m.Fields, res.Sources)
	}
	if o := f.get(t, crm.Opportunity, opp); o.Str("ContactId") != master {
		t.Fatalf("opportunity's ContactId %v", o.Fields)
	}
	es, _ := routelog.List(ctx, f.svc.DB, f.org, routelog.Filter{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: 100, IncludeDiff: true})
	if len(es) != 2 || es[0].Action != "merge" {
		t.Fatalf("route log %+v", es)
	}
	// The master changed since: undo refuses rather than overwrite.
	if _, err := f.local.Update(ctx, f.org, crm.Contact, master, map[string]any{"Department": "R&D"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Undo(ctx, f.org, res.MergeID, "r2"); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("undo after a change: %v", err)
	}
	if _, err := f.local.Update(ctx, f.org, crm.Contact, master, map[string]any{"Department": nil}, 0); err != nil {
		t.Fatal(err)
	}
	// Still refused (the version moved on), so this merge stays; a fresh merge undoes cleanly.
	dup2 := f.mk(t, crm.Contact, map[string]any{"LastName": "Smith", "Email": "bsmith@acme.com"})
	res2, err := f.svc.Merge(ctx, f.org, convert.MergeInput{Object: crm.Contact, MasterID: master, DuplicateIDs: []string{dup2}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Undo(ctx, f.org, res2.MergeID, "r3"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Undo(ctx, f.org, res2.MergeID, "r4"); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("undo twice: %v", err)
	}
	f.get(t, crm.Contact, dup2)
	// Idempotency key: a repeat is the same merge.
	dup3 := f.mk(t, crm.Contact, map[string]any{"LastName": "Smith"})
	in := convert.MergeInput{Object: crm.Contact, MasterID: master, DuplicateIDs: []string{dup3}, IdempotencyKey: "k"}
	a, err := f.svc.Merge(ctx, f.org, in)
	if err != nil {
		t.Fatal(err)
	}
	in.DuplicateIDs = []string{dup3}
	b, err := f.svc.Merge(ctx, f.org, in)
	if err != nil || !b.Replayed || b.MergeID != a.MergeID {
		t.Fatalf("repeat: %+v %v", b, err)
	}
	// Limits.
	many := make([]string, convert.LocalMaxDuplicates+1)
	for i := range many {
		many[i] = f.mk(t, crm.Contact, map[string]any{"LastName": "Dup"})
	}
	if _, err := f.svc.Merge(ctx, f.org, convert.MergeInput{Object: crm.Contact, MasterID: master, DuplicateIDs: many}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("too many: %v", err)
	}
	sf := *f.svc
	sf.MaxDuplicates = convert.SalesforceMaxDuplicates
	if _, err := sf.Merge(ctx, f.org, convert.MergeInput{Object: crm.Contact, MasterID: master, DuplicateIDs: many[:3]}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("three in Salesforce mode: %v", err)
	}
}

func TestPolicyGetPut(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p, err := f.svc.GetPolicy(ctx, f.org)
	if err != nil || p.DefaultPolicy != convert.FillEmpty || !p.AutoMerge || p.UpdatedAt != nil {
		t.Fatalf("default %+v %v", p, err)
	}
	if _, err := f.svc.PutPolicy(ctx, f.org, convert.MergePolicy{DefaultPolicy: "x"}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("bad policy: %v", err)
	}
	if _, err := f.svc.PutPolicy(ctx, f.org, convert.MergePolicy{DefaultPolicy: convert.NewestWins, Threshold: 0.2}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("bad threshold: %v", err)
	}
	if _, err := f.svc.PutPolicy(ctx, f.org, convert.MergePolicy{DefaultPolicy: convert.NewestWins, FieldOverrides: map[string]string{"Phone": convert.MasterWins}, Threshold: 0.95}); err != nil {
		t.Fatal(err)
	}
	p, _ = f.svc.GetPolicy(ctx, f.org)
	if p.DefaultPolicy != convert.NewestWins || p.FieldOverrides["Phone"] != convert.MasterWins || p.Threshold != 0.95 || p.UpdatedAt == nil ||
		p.ConvertedStatus != crm.DefaultConvertedStatus {
		t.Fatalf("after put %+v", p)
	}
}

// A merge can be undone within the undo window only; the daily housekeeping then deletes its
// recycle-bin records and journal row, and keeps the merge's route-log entries.
func TestMergeUndoWindowAndPrune(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	master := f.mk(t, crm.Contact, map[string]any{"FirstName": "Ann", "LastName": "Lee", "Email": "ann@initech.com"})
	dup := f.mk(t, crm.Contact, map[string]any{"FirstName": "Annie", "LastName": "Lee", "Email": "ann@initech.com"})
	res, err := f.svc.Merge(ctx, f.org, convert.MergeInput{Object: crm.Contact, MasterID: master, DuplicateIDs: []string{dup}, RequestID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	later := *f.svc
	later.Now = func() time.Time { return time.Now().Add(16 * 24 * time.Hour) } // the default window is 15 days
	if _, err := later.Undo(ctx, f.org, res.MergeID, "r2"); !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), "LANTERN_MERGE_UNDO_DAYS") {
		t.Fatalf("undo after the window: %v", err)
	}
	longer := later
	longer.UndoWindow = 30 * 24 * time.Hour
	// Housekeeping prunes merges older than now minus the window: today's run keeps this one, the
	// run sixteen days on forgets it.
	if rec, ms, err := convert.PruneMerges(ctx, f.svc.DB, time.Now().Add(-convert.DefaultUndoWindow)); err != nil || rec != 0 || ms != 0 {
		t.Fatalf("today: %d %d %v", rec, ms, err)
	}
	if _, err := f.svc.GetMerge(ctx, f.org, res.MergeID); err != nil {
		t.Fatal(err)
	}
	if rec, ms, err := convert.PruneMerges(ctx, f.svc.DB, later.Now().Add(-convert.DefaultUndoWindow)); err != nil || rec != 1 || ms != 1 {
		t.Fatalf("after the window: %d %d %v", rec, ms, err)
	}
	if _, err := f.svc.GetMerge(ctx, f.org, res.MergeID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("journal after pruning: %v", err)
	}
	if _, err := longer.Undo(ctx, f.org, res.MergeID, "r3"); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("undo after pruning: %v", err)
	}
	if _, err := f.local.Get(ctx, f.org, crm.Contact, dup); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("the duplicate came back: %v", err)
	}
	f.get(t, crm.Contact, master)
	es, err := routelog.List(ctx, f.svc.DB, f.org, routelog.Filter{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: 100})
	if err != nil || len(es) != 2 || es[0].Action != "merge" {
		t.Fatalf("route log after pruning: %+v %v", es, err)
	}
}
