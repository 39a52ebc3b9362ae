package crm_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/testenv"
)

func TestCreateGetUpdateDelete(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	s := &crm.Local{DB: db, Region: "US"}
	acct, err := s.Create(ctx, org, crm.Account, crm.Input{Fields: map[string]any{
		"Name": "Acme Robotics, Inc.", "Website": "https://www.acme-robotics.com/about", "Phone": "(650) 253-0000", "BillingCity": "Palo Alto"}})
	if err != nil {
		t.Fatal(err)
	}
	if crm.ObjectOf(acct.ID) != crm.Account || acct.Version != 1 || acct.Fields["Id"] != acct.ID {
		t.Fatalf("created %+v", acct)
	}
	got, err := s.Get(ctx, org, crm.Account, acct.ID[:15]) // a 15-character id works too
	if err != nil || got.Str("Name") != "Acme Robotics, Inc." {
		t.Fatalf("get: %+v %v", got, err)
	}
	// Typed columns drive filters: the domain from the website, the phone in E.164.
	for name, v := range map[string]string{"domain": "acme-robotics.com", "phone": "+1 650 253 0000", "city": "PALO ALTO"} {
		p, err := s.Query(ctx, org, crm.Query{Object: crm.Account, Filters: map[string]string{name: v}, Limit: 10})
		if err != nil || len(p.Records) != 1 {
			t.Fatalf("filter %s=%s: %d records, %v", name, v, len(p.Records), err)
		}
	}
	up, err := s.Update(ctx, org, crm.Account, acct.ID, map[string]any{"Phone": nil, "Industry": "Robotics"}, 1)
	if err != nil || up.Version != 2 || up.Fields["Phone"] != nil || up.Str("Industry") != "Robotics" || up.Str("Name") == "" {
		t.Fatalf("update: %+v %v", up, err)
	}
	if _, err := s.Update(ctx, org, crm.Account, acct.ID, map[string]any{"Industry": "x"}, 1); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("stale version: %v", err)
	}
	if _, err := s.Update(ctx, org, crm.Account, acct.ID, map[string]any{"Name": nil}, 0); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("removing a required field: %v", err)
	}
	if err := s.Delete(ctx, org, crm.Account, acct.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, org, crm.Account, acct.ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestValidation(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	s := &crm.Local{DB: db}
	for _, tc := range []struct {
		object string
		fields map[string]any
		field  string
	}{
		{crm.Account, map[string]any{}, "body.fields.Name"},
		{crm.Lead, map[string]any{"LastName": "Doe"}, "body.fields.Company"},
		{crm.Contact, map[string]any{"LastName": "Doe", "bad name": "x"}, "body.fields.bad name"},
		{crm.Contact, map[string]any{"LastName": "Doe", "Id": "x"}, "body.fields.Id"},
		{crm.Contact, map[string]any{"LastName": "Doe", "Tags": []any{"a"}}, "body.fields.Tags"},
		{crm.Contact, map[string]any{"LastName": "Doe", "AccountId": "nope"}, "body.fields.AccountId"},
		{"Case", map[string]any{"Subject": "x"}, "path.object"},
	} {
		_, err := s.Create(ctx, org, tc.object, crm.Input{Fields: tc.fields})
		if ae, ok := apperr.As(err); !ok || ae.Field != tc.field {
			t.Errorf("%s %v: %v, want an error on %s", tc.object, tc.fields, err, tc.field)
		}
	}
}

func TestBulkUpsertAndPaging(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	other := testenv.NewTenant(t, db, 0).OrgID
	s := &crm.Local{DB: db, Region: "US"}
	var ins []crm.Input
	for i := range 250 {
		ins = append(ins, crm.Input{ExternalID: fmt.Sprintf("ext-%03d", i), Fields: map[string]any{"LastName": fmt.Sprintf("Person %d", i), "Email": fmt.Sprintf("p%d@acme.com", i)}})
	}
	ins = append(ins, crm.Input{Fields: map[string]any{"FirstName": "No"}}) // missing LastName
	ins = append(ins, crm.Input{ExternalID: "ext-001", Fields: map[string]any{"LastName": "Dup"}})
	res, err := s.BulkUpsert(ctx, org, crm.Contact, ins)
	if err != nil {
		t.Fatal(err)
	}
	created := 0
	for i, r := range res[:250] {
		if r.Err != nil || !r.Created || r.Record.ExternalID != ins[i].ExternalID {
			t.Fatalf("record %d: %+v", i, r)
		}
		created++
	}
	if ae, ok := apperr.As(res[250].Err); !ok || ae.Field != "body.records[250].fields.LastName" {
		t.Fatalf("missing LastName: %v", res[250].Err)
	}
	if ae, ok := apperr.As(res[251].Err); !ok || ae.Field != "body.records[251].external_id" {
		t.Fatalf("repeated external id: %v", res[251].Err)
	}
	// Again with changes: updates, same ids, version 2.
	ins[0].Fields["Title"] = "CTO"
	res2, err := s.BulkUpsert(ctx, org, crm.Contact, ins[:2])
	if err != nil || res2[0].Created || res2[0].Record.ID != res[0].Record.ID || res2[0].Record.Version != 2 || res2[0].Record.Str("Title") != "CTO" {
		t.Fatalf("second upsert: %+v %v", res2[0], err)
	}
	// Another org's same external ids are its own records.
	res3, err := s.BulkUpsert(ctx, other, crm.Contact, ins[:1])
	if err != nil || !res3[0].Created || res3[0].Record.ID == res[0].Record.ID {
		t.Fatalf("other org: %+v %v", res3[0], err)
	}
	// Paging walks every record once, in id order.
	seen, pages, after := map[string]bool{}, 0, ""
	for {
		p, err := s.Query(ctx, org, crm.Query{Object: crm.Contact, After: after, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range p.Records {
			if seen[r.ID] {
				t.Fatalf("%s twice", r.ID)
			}
			seen[r.ID] = true
		}
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if len(seen) != 250 || pages != 3 {
		t.Fatalf("%d records in %d pages", len(seen), pages)
	}
	// The other org sees only its own.
	p, _ := s.Query(ctx, other, crm.Query{Object: crm.Contact, Limit: 1000})
	if len(p.Records) != 1 {
		t.Fatalf("other org sees %d", len(p.Records))
	}
	if _, err := s.Get(ctx, other, crm.Contact, res[5].Record.ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("other org read a record: %v", err)
	}
}
