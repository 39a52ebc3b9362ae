package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.temporal.io/sdk/worker"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/crm/salesforce/sftest"
	"github.com/lanternhq/lantern/internal/routelog"
	"github.com/lanternhq/lantern/internal/routing"
	"github.com/lanternhq/lantern/internal/testenv"
	lworker "github.com/lanternhq/lantern/worker"
)

// sfStack is an API and a worker on the Temporal dev server, on a task queue of the test's own.
type sfStack struct {
	*testServer
	db    *bun.DB
	local *crm.Local
	cfg   *config.Config
}

func newSFStack(t testing.TB, register func(worker.Worker)) *sfStack {
	db := testenv.DB(t)
	cfg := testenv.Config(t)
	generous(cfg)
	cfg.TemporalTaskQueue = testenv.TaskQueue(t)
	tc := testenv.Temporal(t)
	w := worker.New(tc, cfg.TemporalTaskQueue, worker.Options{})
	lworker.Register(w, cfg, lworker.Deps{DB: db})
	if register != nil {
		register(w)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	srv := New(Deps{Config: cfg, DB: db, Temporal: tc})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &sfStack{testServer: &testServer{Server: hs, srv: srv}, db: db, local: &crm.Local{DB: db, Region: cfg.Enrich.DefaultRegion}, cfg: cfg}
}

func (st *sfStack) create(t testing.TB, org uuid.UUID, object string, fields map[string]any) string {
	t.Helper()
	r, err := st.local.Create(context.Background(), org, object, crm.Input{Fields: fields})
	if err != nil {
		t.Fatalf("create %s: %v", object, err)
	}
	return r.ID
}

func (st *sfStack) record(t testing.TB, org uuid.UUID, object, id string) *crm.Record {
	t.Helper()
	r, err := st.local.Get(context.Background(), org, object, id)
	if err != nil {
		t.Fatalf("get %s %s: %v", object, id, err)
	}
	return r
}

func (st *sfStack) logs(t testing.TB, org uuid.UUID) []routelog.Entry {
	t.Helper()
	es, err := routelog.List(context.Background(), st.db, org, routelog.Filter{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: 1000, IncludeDiff: true})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func hasLog(es []routelog.Entry, action, object, id string) *routelog.Entry {
	for i := range es {
		if es[i].Action == action && es[i].Object == object && es[i].ObjectID == id {
			return &es[i]
		}
	}
	return nil
}

func TestSalesforceConvertIntoExistingAccountMergesContact(t *testing.T) {
	st := newSFStack(t, nil)
	tn := testenv.NewTenant(t, st.db, 0)
	org := tn.OrgID
	u1 := st.create(t, org, crm.User, map[string]any{"LastName": "Chen", "Email": "avery@example.com", "IsActive": true})
	u2 := st.create(t, org, crm.User, map[string]any{"LastName": "Patel", "Email": "jordan@example.com", "IsActive": true})
	acct := st.create(t, org, crm.Account, map[string]any{"Name": "Acme Robotics, Inc.", "Website": "https://www.acme-robotics.com", "OwnerId": u1, "BillingCity": "Palo Alto"})
	other := st.create(t, org, crm.Account, map[string]any{"Name": "Globex Corporation", "Website": "globex.com"})
	contact := st.create(t, org, crm.Contact, map[string]any{"FirstName": "Bob", "LastName": "Smith", "Email": "bob.smith@acme-robotics.com", "AccountId": acct, "OwnerId": u1})
	st.create(t, org, crm.Contact, map[string]any{"FirstName": "Jane", "LastName": "Roe", "Email": "jane@acme-robotics.com", "AccountId": acct})
	lead := st.create(t, org, crm.Lead, map[string]any{"FirstName": "Robert", "LastName": "Smith", "Email": "Bob.Smith@acme-robotics.com",
		"Company": "ACME Robotics", "Title": "CTO", "Phone": "+1 650 555 0100", "OwnerId": u2, "LeadSource": "Web", "Status": "Open - Not Contacted"})

	r := st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", tn.Secret, `{"owner":{"mode":"account_owner"},"idempotency_key":"conv-1"}`)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("convert: %d %s", r.StatusCode, r.body)
	}
	m := r.json(t)
	if m["success"] != true || m["status"] != "converted" || m["account_id"] != acct || m["account_created"] != false ||
		m["contact_id"] != contact || m["contact_created"] != false || m["owner_id"] != u1 || m["opportunity_id"] == nil {
		t.Fatalf("convert result: %s", r.body)
	}
	if wf, _ := m["workflow_id"].(string); !strings.HasPrefix(wf, "convert-"+org.String()) {
		t.Fatalf("workflow id %v", m["workflow_id"])
	}
	plan := m["plan"].(map[string]any)
	if a := plan["account"].(map[string]any); a["action"] != "attach" || a["confidence"].(float64) < 0.9 {
		t.Fatalf("account plan %v", a)
	}
	opp := m["opportunity_id"].(string)
	// The records.
	ld := st.record(t, org, crm.Lead, lead)
	if ld.Fields["IsConverted"] != true || ld.Str("ConvertedAccountId") != acct || ld.Str("ConvertedContactId") != contact ||
		ld.Str("ConvertedOpportunityId") != opp || ld.Str("Status") != crm.DefaultConvertedStatus || ld.Str("ConvertedDate") == "" || ld.Str("OwnerId") != u1 {
		t.Fatalf("lead after: %v", ld.Fields)
	}
	c := st.record(t, org, crm.Contact, contact)
	if c.Str("Title") != "CTO" || c.Str("FirstName") != "Bob" || c.Str("Phone") != "+1 650 555 0100" { // blanks filled, values kept
		t.Fatalf("contact after: %v", c.Fields)
	}
	o := st.record(t, org, crm.Opportunity, opp)
	if o.Str("AccountId") != acct || o.Str("OwnerId") != u1 || o.Str("Name") != "ACME Robotics" || o.Str("StageName") == "" {
		t.Fatalf("opportunity: %v", o.Fields)
	}
	if p, _ := st.local.Query(context.Background(), org, crm.Query{Object: crm.Account, Limit: 10}); len(p.Records) != 2 {
		t.Fatalf("accounts: %d, want 2 (no duplicate created)", len(p.Records))
	}
	_ = other
	// Route logs: convert with its diff, merge into the contact, assign of the opportunity and the lead.
	es := st.logs(t, org)
	cv := hasLog(es, "convert", "Lead", lead)
	if cv == nil || !strings.Contains(string(cv.Diff), "IsConverted") || cv.PrevOwner == nil || *cv.PrevOwner != u2 {
		t.Fatalf("convert log: %+v", cv)
	}
	if mg := hasLog(es, "merge", "Contact", contact); mg == nil || !strings.Contains(string(mg.Diff), "Title") {
		t.Fatalf("merge log: %+v", mg)
	}
	if as := hasLog(es, "assign", "Opportunity", opp); as == nil || *as.AssignedTo != u1 || len(as.Diff) == 0 {
		t.Fatalf("assign log: %+v", as)
	}
	if as := hasLog(es, "assign", "Lead", lead); as == nil || *as.AssignedTo != u1 || *as.PrevOwner != u2 {
		t.Fatalf("lead assign log: %+v", as)
	}

	// The same key again: the same conversion, nothing new.
	r2 := st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", tn.Secret, `{"owner":{"mode":"account_owner"},"idempotency_key":"conv-1"}`)
	if r2.StatusCode != http.StatusOK || r2.json(t)["opportunity_id"] != opp {
		t.Fatalf("repeat: %d %s", r2.StatusCode, r2.body)
	}
	// The same key with another body: 409.
	problem(t, st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", tn.Secret, `{"idempotency_key":"conv-1"}`), http.StatusConflict, "conflict")
	// Converting it again: 409 naming the lead.
	pm := problem(t, st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", tn.Secret, `{}`), http.StatusConflict, "conflict")
	if d := pm["detail"].(string); !strings.Contains(d, "already converted") || !strings.Contains(d, "path.id") {
		t.Fatalf("already converted: %v", d)
	}
	if p, _ := st.local.Query(context.Background(), org, crm.Query{Object: crm.Opportunity, Limit: 10}); len(p.Records) != 1 {
		t.Fatalf("opportunities: %d, want 1", len(p.Records))
	}
}

func TestSalesforceConvertCreatesWithOwnerByPool(t *testing.T) {
	st := newSFStack(t, nil)
	tn := testenv.NewTenant(t, st.db, 0)
	org := tn.OrgID
	ctx := context.Background()
	var users []string
	for i := range 2 {
		users = append(users, st.create(t, org, crm.User, map[string]any{"LastName": fmt.Sprintf("Rep %d", i), "Email": fmt.Sprintf("rep%d@example.com", i), "IsActive": true}))
	}
	rt := &routing.Service{DB: st.db, CRM: st.local}
	if _, err := rt.CreatePool(ctx, org, routing.PoolInput{Name: "SDR", Objects: []string{"Lead"}}); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := rt.AddMember(ctx, org, "SDR", routing.MemberInput{UserID: u, Weight: 1, Status: routing.Active}); err != nil {
			t.Fatal(err)
		}
	}
	lead1 := st.create(t, org, crm.Lead, map[string]any{"FirstName": "Ada", "LastName": "Zed", "Company": "Zzyzx Quantum Widgets", "Email": "ada@zzyzx.io", "City": "Reno"})
	lead2 := st.create(t, org, crm.Lead, map[string]any{"FirstName": "Bo", "LastName": "Yu", "Company": "Qwerty Fjord Pumps", "Email": "bo@fjordpumps.no"})

	// Dry run: the plan and the diffs, nothing written, the rotation not advanced.
	r := st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead1+"/convert", tn.Secret, `{"owner":{"mode":"pool","pool":"SDR"},"dry_run":true}`)
	m := r.json(t)
	if r.StatusCode != http.StatusOK || m["status"] != "dry_run" || m["dry_run"] != true || len(m["diffs"].([]any)) != 4 {
		t.Fatalf("dry run: %d %s", r.StatusCode, r.body)
	}
	if st.record(t, org, crm.Lead, lead1).Fields["IsConverted"] != nil {
		t.Fatal("dry run converted the lead")
	}
	if p, _ := st.local.Query(ctx, org, crm.Query{Object: crm.Account, Limit: 10}); len(p.Records) != 0 {
		t.Fatalf("dry run created %d accounts", len(p.Records))
	}

	r = st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead1+"/convert", tn.Secret, `{"owner":{"mode":"pool","pool":"SDR"},"opportunity_name":"Zzyzx pilot"}`)
	m = r.json(t)
	if r.StatusCode != http.StatusOK || m["account_created"] != true || m["contact_created"] != true || m["owner_id"] != users[0] {
		t.Fatalf("convert 1: %d %s", r.StatusCode, r.body)
	}
	if a := m["assignment"].(map[string]any); a["pool"] != "SDR" || a["sequence"] != float64(1) {
		t.Fatalf("assignment %v", a)
	}
	acct := st.record(t, org, crm.Account, m["account_id"].(string))
	if acct.Str("Name") != "Zzyzx Quantum Widgets" || acct.Str("OwnerId") != users[0] || acct.Str("BillingCity") != "Reno" {
		t.Fatalf("account: %v", acct.Fields)
	}
	if c := st.record(t, org, crm.Contact, m["contact_id"].(string)); c.Str("AccountId") != acct.ID || c.Str("Email") != "ada@zzyzx.io" {
		t.Fatalf("contact: %v", c.Fields)
	}
	if o := st.record(t, org, crm.Opportunity, m["opportunity_id"].(string)); o.Str("Name") != "Zzyzx pilot" {
		t.Fatalf("opportunity: %v", o.Fields)
	}
	r = st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead2+"/convert", tn.Secret, `{"owner":{"mode":"pool","pool":"SDR"},"create_opportunity":false}`)
	m = r.json(t)
	if r.StatusCode != http.StatusOK || m["owner_id"] != users[1] || m["opportunity_id"] != nil {
		t.Fatalf("convert 2: %d %s", r.StatusCode, r.body)
	}
	es := st.logs(t, org)
	if a := hasLog(es, "assign", "Lead", lead1); a == nil || a.Pool == nil || *a.Pool != "SDR" || *a.Sequence != 1 {
		t.Fatalf("pool assign log: %+v", a)
	}
	if a := hasLog(es, "assign", "Account", acct.ID); a == nil || *a.AssignedTo != users[0] {
		t.Fatalf("account assign log: %+v", a)
	}

	// Bad input names the field and writes nothing.
	lead3 := st.create(t, org, crm.Lead, map[string]any{"LastName": "Nobody", "Company": "Nowhere Ltd"})
	for _, tc := range []struct {
		body, field string
		status      int
	}{
		{`{"owner":{"mode":"pool","pool":"NOPE"}}`, "body.owner.pool", http.StatusNotFound},
		{`{"owner":{"mode":"pool"}}`, "body.owner.pool", http.StatusUnprocessableEntity},
		{`{"owner":{"mode":"explicit"}}`, "body.owner.user_id", http.StatusUnprocessableEntity},
		{`{"owner":{"mode":"explicit","user_id":"005000000000000AAA"}}`, "body.owner.user_id", http.StatusUnprocessableEntity},
		{`{"account_id":"001000000000000AAA"}`, "body.account_id", http.StatusNotFound},
		{`{"account_id":"` + lead1 + `"}`, "body.account_id", http.StatusUnprocessableEntity},
		{`{"contact_id":"003000000000000AAA"}`, "body.account_id", http.StatusUnprocessableEntity},
		{`{"merge_policy":"loudest_wins"}`, "merge_policy", http.StatusUnprocessableEntity},
	} {
		code := "invalid_input"
		if tc.status == http.StatusNotFound {
			code = "not_found"
		}
		pm := problem(t, st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead3+"/convert", tn.Secret, tc.body), tc.status, code)
		if !strings.Contains(pm["detail"].(string), tc.field) {
			t.Fatalf("%s: detail %v does not name %s", tc.body, pm["detail"], tc.field)
		}
	}
	problem(t, st.call(t, http.MethodPost, "/v1/salesforce/leads/00Q000000000000EAA/convert", tn.Secret, `{}`), http.StatusNotFound, "not_found")
	if st.record(t, org, crm.Lead, lead3).Fields["IsConverted"] != nil {
		t.Fatal("a refused conversion converted the lead")
	}
}

func TestSalesforceMergeAndUndo(t *testing.T) {
	st := newSFStack(t, nil)
	tn := testenv.NewTenant(t, st.db, 0)
	org := tn.OrgID
	ctx := context.Background()
	master := st.create(t, org, crm.Account, map[string]any{"Name": "Acme Robotics", "Website": "acme-robotics.com"})
	dup1 := st.create(t, org, crm.Account, map[string]any{"Name": "ACME ROBOTICS", "Phone": "+1 650 555 0100", "Industry": "Robotics"})
	dup2 := st.create(t, org, crm.Account, map[string]any{"Name": "Acme Robotics LLC", "Phone": "+1 650 555 0199", "BillingCity": "Palo Alto"})
	c1 := st.create(t, org, crm.Contact, map[string]any{"LastName": "Smith", "AccountId": dup1})
	c2 := st.create(t, org, crm.Contact, map[string]any{"LastName": "Jones", "AccountId": dup2})
	o1 := st.create(t, org, crm.Opportunity, map[string]any{"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2027-01-31", "AccountId": dup2})
	keep := st.create(t, org, crm.Contact, map[string]any{"LastName": "Roe", "AccountId": master})
	before := st.record(t, org, crm.Account, master)

	// Dry run: the merge that would be done; nothing changes.
	body := `{"object":"Account","master_id":"` + master + `","duplicate_ids":["` + dup1 + `","` + dup2 + `"],"policy":"fill_empty","field_overrides":{"Phone":"` + dup2 + `"}`
	r := st.call(t, http.MethodPost, "/v1/salesforce/merge", tn.Secret, body+`,"dry_run":true}`)
	m := r.json(t)
	if r.StatusCode != http.StatusOK || m["dry_run"] != true || m["merge_id"] != nil || len(m["reparented"].([]any)) != 3 {
		t.Fatalf("dry run: %d %s", r.StatusCode, r.body)
	}
	st.record(t, org, crm.Account, dup1)
	if st.record(t, org, crm.Contact, c1).Str("AccountId") != dup1 {
		t.Fatal("dry run moved a child")
	}

	r = st.call(t, http.MethodPost, "/v1/salesforce/merge", tn.Secret, body+`}`)
	m = r.json(t)
	if r.StatusCode != http.StatusOK || m["success"] != true || m["merge_id"] == nil {
		t.Fatalf("merge: %d %s", r.StatusCode, r.body)
	}
	mergeID := m["merge_id"].(string)
	a := st.record(t, org, crm.Account, master)
	if a.Str("Name") != "Acme Robotics" || a.Str("Phone") != "+1 650 555 0199" || a.Str("Industry") != "Robotics" || a.Str("BillingCity") != "Palo Alto" {
		t.Fatalf("master after merge: %v", a.Fields)
	}
	for _, id := range []string{dup1, dup2} {
		problem(t, st.get(t, "/v1/crm/Account/"+id, tn.Secret), http.StatusNotFound, "not_found")
	}
	for _, id := range []string{c1, c2, keep} {
		if st.record(t, org, crm.Contact, id).Str("AccountId") != master {
			t.Fatalf("contact %s not re-parented", id)
		}
	}
	if st.record(t, org, crm.Opportunity, o1).Str("AccountId") != master {
		t.Fatal("opportunity not re-parented")
	}
	es := st.logs(t, org)
	if e := hasLog(es, "merge", "Account", master); e == nil || !strings.Contains(string(e.Diff), "Industry") || !strings.Contains(string(e.Diff), dup2) {
		t.Fatalf("merge log: %+v", e)
	}
	if e := hasLog(es, "merge", "Account", dup1); e == nil {
		t.Fatal("no merge log on the duplicate")
	}
	if g := st.get(t, "/v1/salesforce/merges/"+mergeID, tn.Secret); g.StatusCode != http.StatusOK || g.json(t)["master_id"] != master {
		t.Fatalf("get merge: %d %s", g.StatusCode, g.body)
	}

	// Undo: the duplicates come back with their ids and fields; children go back; the master's
	// fields are restored.
	r = st.call(t, http.MethodPost, "/v1/salesforce/merges/"+mergeID+"/undo", tn.Secret, "")
	m = r.json(t)
	if r.StatusCode != http.StatusOK || len(m["restored"].([]any)) != 2 || len(m["reparented"].([]any)) != 3 {
		t.Fatalf("undo: %d %s", r.StatusCode, r.body)
	}
	if d := st.record(t, org, crm.Account, dup1); d.Str("Industry") != "Robotics" || d.Str("Name") != "ACME ROBOTICS" {
		t.Fatalf("dup1 restored: %v", d.Fields)
	}
	st.record(t, org, crm.Account, dup2)
	a = st.record(t, org, crm.Account, master)
	if a.Str("Phone") != "" || a.Str("Industry") != "" || a.Str("Website") != before.Str("Website") {
		t.Fatalf("master after undo: %v", a.Fields)
	}
	for id, parent := range map[string]string{c1: dup1, c2: dup2, keep: master} {
		if got := st.record(t, org, crm.Contact, id).Str("AccountId"); got != parent {
			t.Fatalf("contact %s under %s after undo, want %s", id, got, parent)
		}
	}
	if st.record(t, org, crm.Opportunity, o1).Str("AccountId") != dup2 {
		t.Fatal("opportunity not moved back")
	}
	// Filters see the restored records (typed columns came back too).
	if p, _ := st.local.Query(ctx, org, crm.Query{Object: crm.Contact, Filters: map[string]string{"account_id": dup1}, Limit: 10}); len(p.Records) != 1 {
		t.Fatalf("contacts of dup1: %d", len(p.Records))
	}
	if e := hasLog(st.logs(t, org), "merge", "Account", master); e == nil {
		t.Fatal("no log")
	}
	n := 0
	for _, e := range st.logs(t, org) {
		if e.Action == "merge" && e.ObjectID == master && e.Reason == "merge_undone" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("undo log entries: %d", n)
	}
	// Twice: 409.
	problem(t, st.call(t, http.MethodPost, "/v1/salesforce/merges/"+mergeID+"/undo", tn.Secret, ""), http.StatusConflict, "conflict")

	// Bad input.
	contact := st.create(t, org, crm.Contact, map[string]any{"LastName": "X"})
	for _, tc := range []struct {
		body, field string
		status      int
	}{
		{`{"object":"Account","master_id":"` + master + `","duplicate_ids":["` + contact + `"]}`, "body.duplicate_ids[0]", 422},
		{`{"object":"Contact","master_id":"` + master + `","duplicate_ids":["` + contact + `"]}`, "body.master_id", 422},
		{`{"object":"Account","master_id":"` + master + `","duplicate_ids":["001000000000000AAA"]}`, "body.duplicate_ids[0]", 404},
		{`{"object":"Account","master_id":"` + master + `","duplicate_ids":["` + master + `"]}`, "body.duplicate_ids[0]", 422},
		{`{"object":"Account","master_id":"` + master + `","duplicate_ids":["` + dup1 + `"],"policy":"oldest"}`, "policy", 422},
		{`{"object":"Account","master_id":"` + master + `","duplicate_ids":["` + dup1 + `"],"field_overrides":{"Phone":"` + contact + `"}}`, "body.field_overrides.Phone", 422},
		{`{"object":"Account","master_id":"` + master + `","duplicate_ids":[` + strings.Repeat(`"`+dup1+`",`, 10) + `"` + dup2 + `"]}`, "duplicate_ids", 422},
	} {
		code := "invalid_input"
		if tc.status == 404 {
			code = "not_found"
		}
		pm := problem(t, st.call(t, http.MethodPost, "/v1/salesforce/merge", tn.Secret, tc.body), tc.status, code)
		if !strings.Contains(fmt.Sprint(pm["detail"], pm["errors"]), tc.field) {
			t.Fatalf("%s: %v does not name %s", tc.body, pm, tc.field)
		}
	}
	problem(t, st.call(t, http.MethodPost, "/v1/salesforce/merges/"+uuid.NewString()+"/undo", tn.Secret, ""), http.StatusNotFound, "not_found")
	// Nothing was half-applied by the refusals.
	if st.record(t, org, crm.Account, dup1).Str("Industry") != "Robotics" {
		t.Fatal("dup1 changed")
	}
}

func TestSalesforcePolicies(t *testing.T) {
	st := newSFStack(t, nil)
	tn := testenv.NewTenant(t, st.db, 0)
	org := tn.OrgID
	r := st.get(t, "/v1/salesforce/policies", tn.Secret)
	if m := r.json(t); r.StatusCode != http.StatusOK || m["default_policy"] != "fill_empty" || m["auto_merge"] != true || m["auto_merge_threshold"] != 0.9 {
		t.Fatalf("default policy: %d %s", r.StatusCode, r.body)
	}
	r = st.call(t, http.MethodPut, "/v1/salesforce/policies", tn.Secret,
		`{"default_policy":"newest_wins","field_overrides":{"Phone":"master_wins"},"auto_merge":false,"auto_merge_threshold":0.95,"create_opportunity":false}`)
	if m := r.json(t); r.StatusCode != http.StatusOK || m["default_policy"] != "newest_wins" || m["updated_at"] == nil {
		t.Fatalf("put policy: %d %s", r.StatusCode, r.body)
	}
	if m := st.get(t, "/v1/salesforce/policies", tn.Secret).json(t); m["auto_merge"] != false || m["field_overrides"].(map[string]any)["Phone"] != "master_wins" {
		t.Fatalf("get after put: %v", m)
	}
	pm := problem(t, st.call(t, http.MethodPut, "/v1/salesforce/policies", tn.Secret,
		`{"default_policy":"fill_empty","field_overrides":{"Phone":"loudest"},"auto_merge":true,"auto_merge_threshold":0.9,"create_opportunity":true}`), 422, "invalid_input")
	if !strings.Contains(pm["detail"].(string), "body.field_overrides.Phone") {
		t.Fatalf("detail %v", pm["detail"])
	}
	// The policy drives conversions: auto_merge off creates a new account even for an exact match,
	// and create_opportunity false skips the opportunity.
	acct := st.create(t, org, crm.Account, map[string]any{"Name": "Initech", "Website": "initech.com"})
	lead := st.create(t, org, crm.Lead, map[string]any{"LastName": "Lumbergh", "Company": "Initech", "Email": "bill@initech.com"})
	r = st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", tn.Secret, `{"dry_run":true}`)
	m := r.json(t)
	plan := m["plan"].(map[string]any)
	if r.StatusCode != http.StatusOK || plan["account"].(map[string]any)["action"] != "create" || plan["opportunity"].(map[string]any)["action"] != "skip" ||
		!strings.Contains(plan["account"].(map[string]any)["reason"].(string), "auto_merge off") {
		t.Fatalf("plan under policy: %d %s", r.StatusCode, r.body)
	}
	_ = acct
	// Another org sees the defaults.
	other := testenv.NewTenant(t, st.db, 0)
	if m := st.get(t, "/v1/salesforce/policies", other.Secret).json(t); m["default_policy"] != "fill_empty" {
		t.Fatalf("other org's policy: %v", m)
	}
}

func TestSalesforceTenantIsolation(t *testing.T) {
	st := newSFStack(t, nil)
	a := testenv.NewTenant(t, st.db, 0)
	b := testenv.NewTenant(t, st.db, 0)
	master := st.create(t, a.OrgID, crm.Account, map[string]any{"Name": "Hooli"})
	dup := st.create(t, a.OrgID, crm.Account, map[string]any{"Name": "HOOLI"})
	lead := st.create(t, a.OrgID, crm.Lead, map[string]any{"LastName": "Belson", "Company": "Hooli"})
	bMaster := st.create(t, b.OrgID, crm.Account, map[string]any{"Name": "Hooli"})

	// B cannot convert A's lead, nor merge A's records, nor attach to them.
	problem(t, st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", b.Secret, `{}`), http.StatusNotFound, "not_found")
	pm := problem(t, st.call(t, http.MethodPost, "/v1/salesforce/merge", b.Secret,
		`{"object":"Account","master_id":"`+bMaster+`","duplicate_ids":["`+dup+`"]}`), http.StatusNotFound, "not_found")
	if !strings.Contains(pm["detail"].(string), "body.duplicate_ids[0]") {
		t.Fatalf("detail %v", pm["detail"])
	}
	bLead := st.create(t, b.OrgID, crm.Lead, map[string]any{"LastName": "Bighetti", "Company": "Hooli"})
	problem(t, st.call(t, http.MethodPost, "/v1/salesforce/leads/"+bLead+"/convert", b.Secret, `{"account_id":"`+master+`"}`), http.StatusNotFound, "not_found")
	// B's conversion matches B's account, never A's.
	r := st.call(t, http.MethodPost, "/v1/salesforce/leads/"+bLead+"/convert", b.Secret, `{}`)
	if m := r.json(t); r.StatusCode != http.StatusOK || m["account_id"] != bMaster {
		t.Fatalf("b's conversion: %d %s", r.StatusCode, r.body)
	}
	// A merges; B cannot see or undo the merge.
	r = st.call(t, http.MethodPost, "/v1/salesforce/merge", a.Secret, `{"object":"Account","master_id":"`+master+`","duplicate_ids":["`+dup+`"]}`)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("merge: %d %s", r.StatusCode, r.body)
	}
	id := r.json(t)["merge_id"].(string)
	problem(t, st.get(t, "/v1/salesforce/merges/"+id, b.Secret), http.StatusNotFound, "not_found")
	problem(t, st.call(t, http.MethodPost, "/v1/salesforce/merges/"+id+"/undo", b.Secret, ""), http.StatusNotFound, "not_found")
	if len(st.logs(t, b.OrgID)) == 0 || hasLog(st.logs(t, b.OrgID), "merge", "Account", master) != nil {
		t.Fatal("b sees a's logs, or has none of its own")
	}
}

// A step failing after the conversion wrote (here the route log, made to fail) undoes the
// conversion: the records it created are deleted, the lead and the existing account are as
// they were, and the API says so.
func TestSalesforceConvertCompensatesOnTheDevServer(t *testing.T) {
	st := newSFStack(t, nil)
	tn := testenv.NewTenant(t, st.db, 0)
	org := tn.OrgID
	ctx := context.Background()
	acct := st.create(t, org, crm.Account, map[string]any{"Name": "Umbrella Health", "Website": "umbrellahealth.com"})
	lead := st.create(t, org, crm.Lead, map[string]any{"FirstName": "Alice", "LastName": "Abernathy", "Company": "Umbrella Health",
		"Email": "alice@umbrellahealth.com", "City": "Raccoon City", "Status": "Open"})
	before := st.record(t, org, crm.Account, acct)
	if _, err := st.db.ExecContext(ctx, "ALTER TABLE route_log_keys RENAME TO route_log_keys_away"); err != nil {
		t.Fatal(err)
	}
	r := st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", tn.Secret, `{"idempotency_key":"will-fail"}`)
	pm := problem(t, r, http.StatusServiceUnavailable, "upstream_unavailable")
	if d := pm["detail"].(string); !strings.Contains(d, "rolled back") || !strings.Contains(d, "WriteRouteLogs") {
		t.Fatalf("detail %q", d)
	}
	if _, err := st.db.ExecContext(ctx, "ALTER TABLE route_log_keys_away RENAME TO route_log_keys"); err != nil {
		t.Fatal(err)
	}
	if l := st.record(t, org, crm.Lead, lead); l.Fields["IsConverted"] != nil || l.Str("Status") != "Open" {
		t.Fatalf("lead after compensation: %v", l.Fields)
	}
	if a := st.record(t, org, crm.Account, acct); a.Str("BillingCity") != before.Str("BillingCity") {
		t.Fatalf("account after compensation: %v", a.Fields)
	}
	for _, object := range []string{crm.Contact, crm.Opportunity} {
		if p, _ := st.local.Query(ctx, org, crm.Query{Object: object, Limit: 10}); len(p.Records) != 0 {
			t.Fatalf("%d %s left after compensation", len(p.Records), object)
		}
	}
	// With the fault gone, a new request converts.
	r = st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", tn.Secret, `{"idempotency_key":"second-try"}`)
	if r.StatusCode != http.StatusOK || r.json(t)["account_id"] != acct {
		t.Fatalf("after the fault: %d %s", r.StatusCode, r.body)
	}
}

// A refused request keeps its answer under its key; the same key with a corrected body runs.
func TestSalesforceConvertRefusedThenCorrected(t *testing.T) {
	st := newSFStack(t, nil)
	tn := testenv.NewTenant(t, st.db, 0)
	org := tn.OrgID
	u := st.create(t, org, crm.User, map[string]any{"LastName": "Rep", "Email": "rep@example.com", "IsActive": true})
	lead := st.create(t, org, crm.Lead, map[string]any{"LastName": "Doe", "Company": "Doe Holdings"})
	bad := `{"owner":{"mode":"explicit","user_id":"005000000000000AAA"},"idempotency_key":"k1"}`
	problem(t, st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", tn.Secret, bad), 422, "invalid_input")
	problem(t, st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", tn.Secret, bad), 422, "invalid_input")
	r := st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", tn.Secret, `{"owner":{"mode":"explicit","user_id":"`+u+`"},"idempotency_key":"k1"}`)
	if m := r.json(t); r.StatusCode != http.StatusOK || m["owner_id"] != u {
		t.Fatalf("corrected: %d %s", r.StatusCode, r.body)
	}
}

func TestSalesforceConvertWithoutABody(t *testing.T) {
	st := newSFStack(t, nil)
	tn := testenv.NewTenant(t, st.db, 0)
	lead := st.create(t, tn.OrgID, crm.Lead, map[string]any{"LastName": "Doe", "Company": "Doe Holdings"})
	r := st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", tn.Secret, "")
	if m := r.json(t); r.StatusCode != http.StatusOK || m["account_created"] != true || m["opportunity_id"] == nil {
		t.Fatalf("no body: %d %s", r.StatusCode, r.body)
	}
}

// Two conversions of one lead at once, under different keys: one converts, the other is a 409,
// and there is one opportunity.
func TestSalesforceConvertConcurrently(t *testing.T) {
	st := newSFStack(t, nil)
	tn := testenv.NewTenant(t, st.db, 0)
	lead := st.create(t, tn.OrgID, crm.Lead, map[string]any{"LastName": "Race", "Company": "Race Conditions Inc"})
	if got := st.convertTwiceAtOnce(t, tn.Secret, lead); got[http.StatusOK] != 1 || got[http.StatusConflict] != 1 {
		t.Fatalf("statuses %v", got)
	}
	if p, _ := st.local.Query(context.Background(), tn.OrgID, crm.Query{Object: crm.Opportunity, Limit: 10}); len(p.Records) != 1 {
		t.Fatalf("%d opportunities", len(p.Records))
	}
	if p, _ := st.local.Query(context.Background(), tn.OrgID, crm.Query{Object: crm.Account, Limit: 10}); len(p.Records) != 1 {
		t.Fatalf("%d accounts", len(p.Records))
	}
}

// newSFModeStack is newSFStack with LANTERN_CRM=salesforce: the API and the worker run on the
// Salesforce adapter, against an in-memory fake org.
func newSFModeStack(t testing.TB) (*sfStack, *sftest.Org) {
	db := testenv.DB(t)
	cfg := testenv.Config(t)
	generous(cfg)
	org := sftest.New(t)
	cfg.CRM, cfg.Salesforce = "salesforce", org.Config()
	cfg.TemporalTaskQueue = testenv.TaskQueue(t)
	client := org.Client()
	tc := testenv.Temporal(t)
	w := worker.New(tc, cfg.TemporalTaskQueue, worker.Options{})
	lworker.Register(w, cfg, lworker.Deps{DB: db, CRM: client})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	srv := New(Deps{Config: cfg, DB: db, CRM: client, Temporal: tc})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &sfStack{testServer: &testServer{Server: hs, srv: srv}, db: db, cfg: cfg}, org
}

func TestSalesforceModeConvertMergeUndo(t *testing.T) {
	st, sf := newSFModeStack(t)
	tn := testenv.NewTenant(t, st.db, 0)
	u1 := sf.Put(crm.User, map[string]any{"LastName": "Chen", "Email": "avery@example.com", "IsActive": true})
	acct := sf.Put(crm.Account, map[string]any{"Name": "Acme Robotics, Inc.", "Website": "https://www.acme-robotics.com", "OwnerId": u1})
	contact := sf.Put(crm.Contact, map[string]any{"FirstName": "Bob", "LastName": "Smith", "Email": "bob.smith@acme-robotics.com", "AccountId": acct})
	lead := sf.Put(crm.Lead, map[string]any{"FirstName": "Robert", "LastName": "Smith", "Email": "bob.smith@acme-robotics.com",
		"Company": "ACME Robotics", "Title": "CTO", "Status": "Open"})

	r := st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", tn.Secret, `{"owner":{"mode":"account_owner"},"idempotency_key":"sf-1"}`)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("convert: %d %s", r.StatusCode, r.body)
	}
	m := r.json(t)
	if m["account_id"] != acct || m["contact_id"] != contact || m["account_created"] != false || m["contact_created"] != false || m["owner_id"] != u1 {
		t.Fatalf("convert result %s", r.body)
	}
	calls := sf.Calls("convertLead")
	if len(calls) != 1 || calls[0].Value("leadConverts/accountId") != acct || calls[0].Value("leadConverts/contactId") != contact ||
		calls[0].Value("leadConverts/ownerId") != u1 {
		t.Fatalf("convertLead calls %+v", calls)
	}
	if sf.Record(contact)["Title"] != "CTO" || sf.Record(lead)["IsConverted"] != true {
		t.Fatal("Salesforce records not converted")
	}
	if e := hasLog(st.logs(t, tn.OrgID), "convert", crm.Lead, lead); e == nil {
		t.Fatal("no convert route log")
	}
	// The same key: the first answer, no second convertLead.
	if r := st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", tn.Secret, `{"owner":{"mode":"account_owner"},"idempotency_key":"sf-1"}`); r.StatusCode != http.StatusOK || len(sf.Calls("convertLead")) != 1 {
		t.Fatalf("repeat: %d %s (%d calls)", r.StatusCode, r.body, len(sf.Calls("convertLead")))
	}

	d1 := sf.Put(crm.Account, map[string]any{"Name": "Acme Robotics", "Phone": "+1 650 555 0100"})
	d2 := sf.Put(crm.Account, map[string]any{"Name": "ACME Robotics Inc", "Industry": "Machinery"})
	d3 := sf.Put(crm.Account, map[string]any{"Name": "Acme Robotix"})
	kid := sf.Put(crm.Contact, map[string]any{"LastName": "Kid", "AccountId": d1})
	pm := problem(t, st.call(t, http.MethodPost, "/v1/salesforce/merge", tn.Secret,
		fmt.Sprintf(`{"object":"Account","master_id":%q,"duplicate_ids":[%q,%q,%q]}`, acct, d1, d2, d3)), http.StatusUnprocessableEntity, "invalid_input")
	if !strings.Contains(fmt.Sprint(pm), "body.duplicate_ids") {
		t.Fatalf("three duplicates: %v", pm)
	}
	r = st.call(t, http.MethodPost, "/v1/salesforce/merge", tn.Secret, fmt.Sprintf(`{"object":"Account","master_id":%q,"duplicate_ids":[%q,%q]}`, acct, d1, d2))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("merge: %d %s", r.StatusCode, r.body)
	}
	mergeID, _ := r.json(t)["merge_id"].(string)
	if mc := sf.Calls("merge"); len(mc) != 1 || mc[0].Value("request/masterRecord/Id") != acct || !sf.Deleted(d1) || sf.Record(kid)["AccountId"] != acct {
		t.Fatalf("merge in Salesforce: %+v", mc)
	}
	if sf.Record(acct)["Phone"] != "+1 650 555 0100" {
		t.Fatalf("master after merge %v", sf.Record(acct))
	}
	r = st.call(t, http.MethodPost, "/v1/salesforce/merges/"+mergeID+"/undo", tn.Secret, "")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("undo: %d %s", r.StatusCode, r.body)
	}
	if sf.Deleted(d1) || sf.Deleted(d2) || sf.Record(kid)["AccountId"] != d1 || sf.Record(acct)["Phone"] != nil {
		t.Fatalf("after undo: master %v kid %v", sf.Record(acct), sf.Record(kid))
	}
	problem(t, st.call(t, http.MethodPost, "/v1/salesforce/merges/"+mergeID+"/undo", tn.Secret, ""), http.StatusConflict, "conflict")
}

// A step failing after convertLead: the records the conversion created are deleted in
// Salesforce, and the answer says the lead stays converted.
func TestSalesforceModeConvertCompensates(t *testing.T) {
	st, sf := newSFModeStack(t)
	tn := testenv.NewTenant(t, st.db, 0)
	ctx := context.Background()
	lead := sf.Put(crm.Lead, map[string]any{"FirstName": "Alice", "LastName": "Abernathy", "Company": "Umbrella Health", "Email": "alice@umbrellahealth.com", "Status": "Open"})
	if _, err := st.db.ExecContext(ctx, "ALTER TABLE route_log_keys RENAME TO route_log_keys_away"); err != nil {
		t.Fatal(err)
	}
	r := st.call(t, http.MethodPost, "/v1/salesforce/leads/"+lead+"/convert", tn.Secret, `{"idempotency_key":"will-fail"}`)
	if _, err := st.db.ExecContext(ctx, "ALTER TABLE route_log_keys_away RENAME TO route_log_keys"); err != nil {
		t.Fatal(err)
	}
	pm := problem(t, r, http.StatusServiceUnavailable, "upstream_unavailable")
	if d := pm["detail"].(string); !strings.Contains(d, "stays converted in Salesforce") || !strings.Contains(d, "WriteRouteLogs") {
		t.Fatalf("detail %q", d)
	}
	ld := sf.Record(lead)
	for _, f := range []string{"ConvertedAccountId", "ConvertedContactId", "ConvertedOpportunityId"} {
		id, _ := ld[f].(string)
		if id == "" || !sf.Deleted(id) {
			t.Fatalf("%s %q not deleted", f, id)
		}
	}
	if n := len(sf.Calls("convertLead")); n != 1 {
		t.Fatalf("convertLead called %d times", n)
	}
}

// Two conversions of one lead at once in Salesforce mode: one converts, the other is a 409,
// and nothing the first created is deleted by the second's compensation.
func TestSalesforceModeConvertConcurrently(t *testing.T) {
	st, sf := newSFModeStack(t)
	tn := testenv.NewTenant(t, st.db, 0)
	lead := sf.Put(crm.Lead, map[string]any{"LastName": "Race", "Company": "Race Conditions Inc", "Status": "Open"})
	if got := st.convertTwiceAtOnce(t, tn.Secret, lead); got[http.StatusOK] != 1 || got[http.StatusConflict] != 1 {
		t.Fatalf("statuses %v", got)
	}
	if sf.Count(crm.Opportunity) != 1 || sf.Count(crm.Account) != 1 || len(sf.Writes(http.MethodDelete)) != 0 {
		t.Fatalf("%d opportunities, %d accounts, %d deletes", sf.Count(crm.Opportunity), sf.Count(crm.Account), len(sf.Writes(http.MethodDelete)))
	}
}

// convertTwiceAtOnce sends two conversions of one lead, under different idempotency keys, at
// the same time, and counts the statuses they got.
func (st *sfStack) convertTwiceAtOnce(t *testing.T, secret, lead string) map[int]int {
	codes := make(chan int, 2)
	for i := range 2 {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, st.URL+"/v1/salesforce/leads/"+lead+"/convert", strings.NewReader(fmt.Sprintf(`{"idempotency_key":"race-%d"}`, i)))
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("Content-Type", "application/json")
			resp, err := st.Client().Do(req)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	got := map[int]int{}
	for range 2 {
		got[<-codes]++
	}
	return got
}
