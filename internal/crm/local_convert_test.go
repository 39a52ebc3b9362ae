package crm_test

import (
	"context"
	"testing"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/testenv"
)

func TestLocalConvertLead(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	s := &crm.Local{DB: db, Region: "US"}
	mk := func(object string, f map[string]any) string {
		r, err := s.Create(ctx, org, object, crm.Input{Fields: f})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	owner := mk(crm.User, map[string]any{"LastName": "Rep", "Email": "rep@example.com"})
	lead := mk(crm.Lead, map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Company": "Analytical Engines", "Email": "ada@ae.com",
		"City": "London", "Phone": "+44 20 7946 0000", "LeadSource": "Web"})

	// Create path: account, contact and opportunity from the lead, owned by the owner given.
	res, err := s.ConvertLead(ctx, org, crm.LeadConvert{LeadID: lead, OwnerID: owner, OpportunityName: "AE pilot"})
	if err != nil {
		t.Fatal(err)
	}
	acct, _ := s.Get(ctx, org, crm.Account, res.AccountID)
	if acct.Str("Name") != "Analytical Engines" || acct.Str("BillingCity") != "London" || acct.Str("OwnerId") != owner {
		t.Fatalf("account %v", acct.Fields)
	}
	c, _ := s.Get(ctx, org, crm.Contact, res.ContactID)
	if c.Str("LastName") != "Lovelace" || c.Str("MailingCity") != "London" || c.Str("AccountId") != res.AccountID || c.Str("LeadSource") != "Web" {
		t.Fatalf("contact %v", c.Fields)
	}
	o, _ := s.Get(ctx, org, crm.Opportunity, res.OpportunityID)
	if o.Str("Name") != "AE pilot" || o.Str("StageName") != crm.DefaultOpportunityStage || o.Str("CloseDate") == "" || o.Str("AccountId") != res.AccountID {
		t.Fatalf("opportunity %v", o.Fields)
	}
	l, _ := s.Get(ctx, org, crm.Lead, lead)
	if l.Fields["IsConverted"] != true || l.Str("ConvertedAccountId") != res.AccountID || l.Str("ConvertedContactId") != res.ContactID ||
		l.Str("ConvertedOpportunityId") != res.OpportunityID || l.Str("Status") != crm.DefaultConvertedStatus || l.Str("OwnerId") != owner {
		t.Fatalf("lead %v", l.Fields)
	}
	// Typed columns follow: the contact is found by its account.
	p, _ := s.Query(ctx, org, crm.Query{Object: crm.Contact, Filters: map[string]string{"account_id": res.AccountID}, Limit: 10})
	if len(p.Records) != 1 {
		t.Fatalf("contacts of the account: %d", len(p.Records))
	}
	// Converted once only.
	if _, err := s.ConvertLead(ctx, org, crm.LeadConvert{LeadID: lead}); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("second conversion: %v", err)
	}

	// Attach path: an existing account's blanks are filled, its values kept; the contact must be the account's.
	existing := mk(crm.Account, map[string]any{"Name": "Babbage & Co", "Website": "babbage.co"})
	other := mk(crm.Account, map[string]any{"Name": "Other"})
	stranger := mk(crm.Contact, map[string]any{"LastName": "Stranger", "AccountId": other})
	lead2 := mk(crm.Lead, map[string]any{"LastName": "Babbage", "Company": "Babbage and Company", "Website": "babbage-other.co", "City": "London"})
	if _, err := s.ConvertLead(ctx, org, crm.LeadConvert{LeadID: lead2, AccountID: existing, ContactID: stranger}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("a contact of another account: %v", err)
	}
	if l, _ := s.Get(ctx, org, crm.Lead, lead2); l.Fields["IsConverted"] != nil {
		t.Fatal("a refused conversion was half applied")
	}
	res2, err := s.ConvertLead(ctx, org, crm.LeadConvert{LeadID: lead2, AccountID: existing, DoNotCreateOpportunity: true})
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := s.Get(ctx, org, crm.Account, existing)
	if res2.AccountID != existing || res2.OpportunityID != "" || a2.Str("Name") != "Babbage & Co" || a2.Str("Website") != "babbage.co" || a2.Str("BillingCity") != "London" {
		t.Fatalf("attach: %+v %v", res2, a2.Fields)
	}
	// Another org's lead is not found.
	otherOrg := testenv.NewTenant(t, db, 0).OrgID
	if _, err := s.ConvertLead(ctx, otherOrg, crm.LeadConvert{LeadID: lead2}); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("other org: %v", err)
	}
}

func TestLocalMergeAndUndelete(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	s := &crm.Local{DB: db, Region: "US"}
	mk := func(object string, f map[string]any) string {
		r, err := s.Create(ctx, org, object, crm.Input{Fields: f})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	master := mk(crm.Account, map[string]any{"Name": "Globex"})
	dup := mk(crm.Account, map[string]any{"Name": "Globex Corp", "Phone": "+1 217 555 0101"})
	child := mk(crm.Contact, map[string]any{"LastName": "Scorpio", "AccountId": dup})
	if _, err := s.Merge(ctx, org, crm.MergeRequest{Object: crm.Contact, MasterID: master, DuplicateIDs: []string{dup}}); err == nil {
		t.Fatal("merge across objects")
	}
	res, err := s.Merge(ctx, org, crm.MergeRequest{Object: crm.Account, MasterID: master, DuplicateIDs: []string{dup}, MasterFields: map[string]any{"Phone": "+1 217 555 0101"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.MergedIDs) != 1 || len(res.UpdatedRelatedIDs) != 1 || res.UpdatedRelatedIDs[0] != child {
		t.Fatalf("merge %+v", res)
	}
	if m, _ := s.Get(ctx, org, crm.Account, master); m.Str("Phone") != "+1 217 555 0101" {
		t.Fatalf("master %v", m.Fields)
	}
	if c, _ := s.Get(ctx, org, crm.Contact, child); c.Str("AccountId") != master {
		t.Fatalf("child %v", c.Fields)
	}
	if _, err := s.Get(ctx, org, crm.Account, dup); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("duplicate after merge: %v", err)
	}
	if err := s.Undelete(ctx, org, crm.Account, []string{dup}); err != nil {
		t.Fatal(err)
	}
	d, err := s.Get(ctx, org, crm.Account, dup)
	if err != nil || d.Str("Name") != "Globex Corp" || d.Version != 2 {
		t.Fatalf("restored %+v %v", d, err)
	}
	p, _ := s.Query(ctx, org, crm.Query{Object: crm.Account, Filters: map[string]string{"phone": "+1 217 555 0101"}, Limit: 10})
	if len(p.Records) != 2 {
		t.Fatalf("restored record's typed columns: %d by phone", len(p.Records))
	}
	if err := s.Undelete(ctx, org, crm.Account, []string{dup}); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("undelete twice: %v", err)
	}
	// A merge naming another org's record finds nothing and changes nothing.
	other := testenv.NewTenant(t, db, 0).OrgID
	if _, err := s.Merge(ctx, other, crm.MergeRequest{Object: crm.Account, MasterID: master, DuplicateIDs: []string{dup}}); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("other org: %v", err)
	}
}
