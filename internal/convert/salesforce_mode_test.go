package convert_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/convert"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/crm/salesforce/sftest"
	"github.com/lanternhq/lantern/internal/routelog"
	"github.com/lanternhq/lantern/internal/routing"
	"github.com/lanternhq/lantern/internal/testenv"
	"github.com/lanternhq/lantern/schema"
)

// sfFixture is the conversion domain on the Salesforce adapter, against a fake org.
type sfFixture struct {
	svc *convert.Service
	sf  *sftest.Org
	org uuid.UUID
}

func newSFFixture(t *testing.T) *sfFixture {
	db := testenv.DB(t)
	sf := sftest.New(t)
	client := sf.Client()
	return &sfFixture{svc: &convert.Service{DB: db, CRM: client, Region: "US", Routing: &routing.Service{DB: db, CRM: client}}, sf: sf,
		org: testenv.NewTenant(t, db, 0).OrgID}
}

// run runs the saga's steps as the workflow does: plan, convert, route logs.
func (f *sfFixture) run(t *testing.T, convID string, req convert.Request) (*convert.ConversionPlan, *convert.Converted) {
	t.Helper()
	ctx := context.Background()
	plan, err := f.svc.Plan(ctx, f.org, req)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if err := req.Check(); err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.Convert(ctx, f.org, convID, req, *plan, plan.Owner.UserID)
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	if _, err := f.svc.Log(ctx, f.org, convID, req, *plan, *c); err != nil {
		t.Fatalf("log: %v", err)
	}
	return plan, c
}

func TestSalesforceModeConvertAttachesAndMerges(t *testing.T) {
	f := newSFFixture(t)
	ctx := context.Background()
	u1 := f.sf.Put(crm.User, map[string]any{"LastName": "Chen", "Email": "avery@example.com", "IsActive": true})
	u2 := f.sf.Put(crm.User, map[string]any{"LastName": "Patel", "Email": "jordan@example.com", "IsActive": true})
	acct := f.sf.Put(crm.Account, map[string]any{"Name": "Acme Robotics, Inc.", "Website": "https://www.acme-robotics.com", "OwnerId": u1, "BillingCity": "Palo Alto"})
	f.sf.Put(crm.Account, map[string]any{"Name": "Globex Corporation", "Website": "globex.com"})
	contact := f.sf.Put(crm.Contact, map[string]any{"FirstName": "Bob", "LastName": "Smith", "Email": "bob.smith@acme-robotics.com", "AccountId": acct, "OwnerId": u1})
	f.sf.Put(crm.Contact, map[string]any{"FirstName": "Jane", "LastName": "Roe", "Email": "jane@acme-robotics.com", "AccountId": acct})
	lead := f.sf.Put(crm.Lead, map[string]any{"FirstName": "Robert", "LastName": "Smith", "Email": "Bob.Smith@acme-robotics.com",
		"Company": "ACME Robotics", "Title": "CTO", "Phone": "+1 650 555 0100", "OwnerId": u2, "LeadSource": "Web", "Status": "Open - Not Contacted"})

	req := convert.Request{LeadID: lead, Owner: convert.OwnerRule{Mode: convert.OwnerAccountOwner}}
	plan, c := f.run(t, "conv-attach", req)
	if plan.Account.Action != "attach" || plan.Account.ID != acct || plan.Account.Confidence < 0.9 || plan.Contact.Action != "merge" || plan.Contact.ID != contact {
		t.Fatalf("plan: account %+v contact %+v", plan.Account, plan.Contact)
	}
	if c.AccountID != acct || c.ContactID != contact || c.AccountCreated || c.ContactCreated || c.OpportunityID == "" || c.OwnerID != u1 {
		t.Fatalf("converted %+v", c)
	}
	// The SOAP convertLead carried the matched ids, the owner and the status.
	calls := f.sf.Calls("convertLead")
	if len(calls) != 1 {
		t.Fatalf("%d convertLead calls", len(calls))
	}
	for path, want := range map[string]string{"leadConverts/leadId": lead, "leadConverts/accountId": acct, "leadConverts/contactId": contact,
		"leadConverts/ownerId": u1, "leadConverts/convertedStatus": crm.DefaultConvertedStatus, "leadConverts/doNotCreateOpportunity": "false",
		"leadConverts/opportunityName": "ACME Robotics"} {
		if got := calls[0].Value(path); got != want {
			t.Fatalf("convertLead %s = %q, want %q", path, got, want)
		}
	}
	// fill_empty: the contact's blanks came from the lead, its own values stayed.
	ct := f.sf.Record(contact)
	if ct["Title"] != "CTO" || ct["FirstName"] != "Bob" || ct["Email"] != "bob.smith@acme-robotics.com" {
		t.Fatalf("contact after: %v", ct)
	}
	if ld := f.sf.Record(lead); ld["IsConverted"] != true || ld["ConvertedAccountId"] != acct || ld["ConvertedContactId"] != contact {
		t.Fatalf("lead after: %v", ld)
	}
	// Retry-safety: the step run again returns the recorded result, without a second call.
	again, err := f.svc.Convert(ctx, f.org, "conv-attach", req, *plan, plan.Owner.UserID)
	if err != nil || !again.Replayed || again.OpportunityID != c.OpportunityID {
		t.Fatalf("replay: %+v %v", again, err)
	}
	// And when the first attempt's result was lost after convertLead (the record still
	// pending), the retry reads the converted lead instead of converting twice.
	var row schema.SFConversion
	if err := f.svc.DB.NewSelect().Model(&row).Where("org_id = ? AND id = ?", f.org, "conv-attach").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	json.Unmarshal(row.Before, &b) //nolint:errcheck
	b["pending"] = true
	bj, _ := json.Marshal(b)
	if _, err := f.svc.DB.NewUpdate().Model((*schema.SFConversion)(nil)).Set("before = ?::jsonb, result = '{}'", string(bj)).
		Where("org_id = ? AND id = ?", f.org, "conv-attach").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	retried, err := f.svc.Convert(ctx, f.org, "conv-attach", req, *plan, plan.Owner.UserID)
	if err != nil || retried.Replayed || retried.AccountID != acct || retried.ContactID != contact || retried.OpportunityID != c.OpportunityID {
		t.Fatalf("retry after a lost result: %+v %v", retried, err)
	}
	if n := len(f.sf.Calls("convertLead")); n != 1 {
		t.Fatalf("convertLead called %d times", n)
	}
	// Route logs in Postgres.
	es, err := routelog.List(ctx, f.svc.DB, f.org, routelog.Filter{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: 100, IncludeDiff: true})
	if err != nil {
		t.Fatal(err)
	}
	var convertLog, mergeLog bool
	for _, e := range es {
		convertLog = convertLog || e.Action == "convert" && e.ObjectID == lead
		mergeLog = mergeLog || e.Action == "merge" && e.ObjectID == contact
	}
	if !convertLog || !mergeLog {
		t.Fatalf("route logs %+v", es)
	}
	// A lead already converted is refused by the plan.
	if _, err := f.svc.Plan(ctx, f.org, convert.Request{LeadID: lead}); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("plan of a converted lead: %v", err)
	}
}

// master_wins: what convertLead filled on the existing account is taken back with an Update.
func TestSalesforceModeConvertMasterWins(t *testing.T) {
	f := newSFFixture(t)
	acct := f.sf.Put(crm.Account, map[string]any{"Name": "Initech", "Website": "initech.com"})
	lead := f.sf.Put(crm.Lead, map[string]any{"FirstName": "Peter", "LastName": "Gibbons", "Email": "peter@initech.com", "Company": "Initech",
		"City": "Austin", "Status": "Open"})
	no := false
	_, c := f.run(t, "conv-mw", convert.Request{LeadID: lead, MergePolicy: convert.MasterWins, CreateOpportunity: &no})
	if c.AccountID != acct || c.AccountCreated || !c.ContactCreated || c.OpportunityID != "" {
		t.Fatalf("converted %+v", c)
	}
	if a := f.sf.Record(acct); a["BillingCity"] != nil {
		t.Fatalf("master_wins account: %v", a)
	}
	if v := f.sf.Calls("convertLead")[0].Value("leadConverts/doNotCreateOpportunity"); v != "true" {
		t.Fatalf("doNotCreateOpportunity %q", v)
	}
}

// The create path, then a later step failing: the compensation deletes what convertLead
// created, and the lead stays converted.
func TestSalesforceModeConvertCreatesAndCompensates(t *testing.T) {
	f := newSFFixture(t)
	ctx := context.Background()
	owner := f.sf.Put(crm.User, map[string]any{"LastName": "Rep", "Email": "rep@example.com", "IsActive": true})
	f.sf.Put(crm.Account, map[string]any{"Name": "Globex Corporation", "Website": "globex.com"})
	lead := f.sf.Put(crm.Lead, map[string]any{"FirstName": "Alice", "LastName": "Abernathy", "Company": "Umbrella Health",
		"Email": "alice@umbrellahealth.com", "Status": "Open"})
	req := convert.Request{LeadID: lead, Owner: convert.OwnerRule{Mode: convert.OwnerExplicit, UserID: owner}, OpportunityName: "Umbrella renewal"}
	plan, err := f.svc.Plan(ctx, f.org, req)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Account.Action != "create" || plan.Contact.Action != "create" {
		t.Fatalf("plan %+v %+v", plan.Account, plan.Contact)
	}
	req.Check() //nolint:errcheck
	c, err := f.svc.Convert(ctx, f.org, "conv-create", req, *plan, plan.Owner.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.AccountCreated || !c.ContactCreated || c.OpportunityID == "" || c.OwnerID != owner {
		t.Fatalf("converted %+v", c)
	}
	call := f.sf.Calls("convertLead")[0]
	if call.Value("leadConverts/accountId") != "" || call.Value("leadConverts/contactId") != "" || call.Value("leadConverts/ownerId") != owner ||
		call.Value("leadConverts/opportunityName") != "Umbrella renewal" {
		t.Fatalf("convertLead request %+v", call.SOAP)
	}
	if a := f.sf.Record(c.AccountID); a["Name"] != "Umbrella Health" || a["OwnerId"] != owner {
		t.Fatalf("account created: %v", a)
	}
	// WriteRouteLogs fails (say): the saga compensates.
	did, err := f.svc.Compensate(ctx, f.org, "conv-create")
	if err != nil || !did {
		t.Fatalf("compensate: %v %v", did, err)
	}
	for _, id := range []string{c.AccountID, c.ContactID, c.OpportunityID} {
		if !f.sf.Deleted(id) {
			t.Fatalf("%s not deleted", id)
		}
	}
	deletes := f.sf.Writes("DELETE")
	if len(deletes) != 3 || !strings.HasSuffix(deletes[0].Path, c.OpportunityID) || !strings.HasSuffix(deletes[2].Path, c.AccountID) {
		t.Fatalf("deletes %+v", deletes)
	}
	if ld := f.sf.Record(lead); ld["IsConverted"] != true {
		t.Fatalf("lead: %v", ld)
	}
	// Compensating again does nothing; converting again under the id is refused, saying why.
	if did, err := f.svc.Compensate(ctx, f.org, "conv-create"); err != nil || did {
		t.Fatalf("second compensate: %v %v", did, err)
	}
	if _, err := f.svc.Convert(ctx, f.org, "conv-create", req, *plan, owner); !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), "stays converted") {
		t.Fatalf("convert after compensation: %v", err)
	}
	if n := len(f.sf.Calls("convertLead")); n != 1 {
		t.Fatalf("convertLead called %d times", n)
	}
}

// A convertLead that fails leaves nothing to compensate.
func TestSalesforceModeConvertRefused(t *testing.T) {
	f := newSFFixture(t)
	ctx := context.Background()
	lead := f.sf.Put(crm.Lead, map[string]any{"LastName": "Doe", "Company": "Doe Holdings"})
	f.sf.Fail = func(r sftest.Request) (int, string) {
		if r.Action == "convertLead" {
			return 200, `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><convertLeadResponse><result><accountId xsi:nil="true"/><contactId xsi:nil="true"/><errors><fields>ConvertedStatus</fields><message>invalid convertedStatus: Closed</message><statusCode>INVALID_STATUS</statusCode></errors><leadId xsi:nil="true"/><opportunityId xsi:nil="true"/><success>false</success></result></convertLeadResponse></soapenv:Body></soapenv:Envelope>`
		}
		return 0, ""
	}
	req := convert.Request{LeadID: lead, ConvertedStatus: "Closed"}
	plan, err := f.svc.Plan(ctx, f.org, req)
	if err != nil {
		t.Fatal(err)
	}
	req.Check() //nolint:errcheck
	if _, err := f.svc.Convert(ctx, f.org, "conv-bad", req, *plan, ""); err == nil || apperr.Is(err, apperr.Internal) {
		t.Fatalf("convert: %v", err)
	}
	if did, err := f.svc.Compensate(ctx, f.org, "conv-bad"); err != nil || did {
		t.Fatalf("compensate: %v %v", did, err)
	}
	if n := len(f.sf.Writes("DELETE")); n != 0 {
		t.Fatalf("%d deletes", n)
	}
}

func TestSalesforceModeMergeAndUndo(t *testing.T) {
	f := newSFFixture(t)
	ctx := context.Background()
	master := f.sf.Put(crm.Account, map[string]any{"Name": "Acme", "Website": "acme.com"})
	d1 := f.sf.Put(crm.Account, map[string]any{"Name": "ACME Inc", "Phone": "+1 415 555 0100", "BillingCity": "Oakland"})
	d2 := f.sf.Put(crm.Account, map[string]any{"Name": "Acme Corp", "Industry": "Manufacturing"})
	d3 := f.sf.Put(crm.Account, map[string]any{"Name": "Acme Co"})
	kid := f.sf.Put(crm.Contact, map[string]any{"LastName": "Kid", "AccountId": d1})
	opp := f.sf.Put(crm.Opportunity, map[string]any{"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-31", "AccountId": d2})

	// Salesforce merges at most two duplicates.
	_, err := f.svc.Merge(ctx, f.org, convert.MergeInput{Object: crm.Account, MasterID: master, DuplicateIDs: []string{d1, d2, d3}})
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || e.Field != "body.duplicate_ids" {
		t.Fatalf("three duplicates: %v", err)
	}
	// A dry run calls nothing.
	dry, err := f.svc.Merge(ctx, f.org, convert.MergeInput{Object: crm.Account, MasterID: master, DuplicateIDs: []string{d1, d2}, DryRun: true})
	if err != nil || !dry.DryRun || len(dry.Reparented) != 2 || len(f.sf.Calls("merge")) != 0 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	res, err := f.svc.Merge(ctx, f.org, convert.MergeInput{Object: crm.Account, MasterID: master, DuplicateIDs: []string{d1, d2}, IdempotencyKey: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	calls := f.sf.Calls("merge")
	if len(calls) != 1 {
		t.Fatalf("%d merge calls", len(calls))
	}
	if calls[0].Value("request/masterRecord/Id") != master || strings.Join(calls[0].Values("request/recordToMergeIds"), ",") != d1+","+d2 ||
		calls[0].Value("request/masterRecord/type") != crm.Account || calls[0].Value("request/masterRecord/Phone") != "+1 415 555 0100" ||
		calls[0].Value("request/masterRecord/Industry") != "Manufacturing" || calls[0].Value("request/masterRecord/Name") != "" {
		t.Fatalf("merge request %+v", calls[0].SOAP)
	}
	if m := f.sf.Record(master); m["Phone"] != "+1 415 555 0100" || m["Name"] != "Acme" || m["BillingCity"] != "Oakland" {
		t.Fatalf("master after merge %v", m)
	}
	if !f.sf.Deleted(d1) || !f.sf.Deleted(d2) || f.sf.Record(kid)["AccountId"] != master || f.sf.Record(opp)["AccountId"] != master {
		t.Fatal("merge did not delete the duplicates or move the children")
	}
	if len(res.Reparented) != 2 || res.MergeID == "" {
		t.Fatalf("merge result %+v", res)
	}
	// The journal row.
	var j schema.SFMerge
	if err := f.svc.DB.NewSelect().Model(&j).Where("org_id = ? AND id = ?", f.org, uuid.MustParse(res.MergeID)).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	var before crm.Record
	var children []crm.ReparentedChild
	json.Unmarshal(j.MasterBefore, &before) //nolint:errcheck
	json.Unmarshal(j.Children, &children)   //nolint:errcheck
	if j.MasterID != master || strings.Join(j.DuplicateIDs, ",") != d1+","+d2 || before.Fields["Phone"] != nil || len(children) != 2 || j.MasterVersion == 0 {
		t.Fatalf("journal %+v before %v children %+v", j, before.Fields, children)
	}
	// The same key: the first merge, no second call.
	again, err := f.svc.Merge(ctx, f.org, convert.MergeInput{Object: crm.Account, MasterID: master, DuplicateIDs: []string{d1, d2}, IdempotencyKey: "m1"})
	if err != nil || !again.Replayed || len(f.sf.Calls("merge")) != 1 {
		t.Fatalf("replay %+v %v", again, err)
	}

	undo, err := f.svc.Undo(ctx, f.org, res.MergeID, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	if u := f.sf.Calls("undelete"); len(u) != 1 || strings.Join(u[0].Values("ids"), ",") != d1+","+d2 {
		t.Fatalf("undelete calls %+v", u)
	}
	if f.sf.Deleted(d1) || f.sf.Record(d1)["BillingCity"] != "Oakland" || f.sf.Record(d2)["Industry"] != "Manufacturing" {
		t.Fatal("losers not restored")
	}
	if m := f.sf.Record(master); m["Phone"] != nil || m["BillingCity"] != nil || m["Industry"] != nil || m["Name"] != "Acme" {
		t.Fatalf("master after undo %v", m)
	}
	if f.sf.Record(kid)["AccountId"] != d1 || f.sf.Record(opp)["AccountId"] != d2 || len(undo.Reparented) != 2 || len(undo.Skipped) != 0 {
		t.Fatalf("children after undo: %v %v %+v", f.sf.Record(kid), f.sf.Record(opp), undo)
	}
	if _, err := f.svc.Undo(ctx, f.org, res.MergeID, "req-2"); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("second undo: %v", err)
	}
}
