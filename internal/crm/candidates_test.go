package crm_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/testenv"
)

func TestCandidates(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	other := testenv.NewTenant(t, db, 0).OrgID
	s := &crm.Local{DB: db, Region: "US"}
	if _, err := crm.SeedDemo(ctx, s, org); err != nil {
		t.Fatal(err)
	}
	if _, err := crm.SeedDemo(ctx, s, other); err != nil {
		t.Fatal(err)
	}
	searches := []crm.SearchKeys{
		crm.KeysFor(crm.Account, map[string]any{"Name": "ACME Robotics Inc"}, "US"),                       // by name
		crm.KeysFor(crm.Account, map[string]any{"Name": "Something Else", "Website": "globex.com"}, "US"), // by domain
		crm.KeysFor(crm.Account, map[string]any{"Name": "Zzyzx Unrelated"}, "US"),                         // nothing
	}
	got, err := s.Candidates(ctx, org, crm.Account, searches, 5)
	if err != nil {
		t.Fatal(err)
	}
	var acme []string
	for _, r := range got[0] {
		acme = append(acme, r.Str("Name"))
	}
	if len(acme) < 2 || !strings.Contains(strings.Join(acme, "|"), "Acme Robotics, Inc.") {
		t.Fatalf("acme candidates %v", acme)
	}
	if len(got[1]) == 0 || !strings.Contains(got[1][0].Str("Name"), "Globex") {
		t.Fatalf("globex by domain %v", got[1])
	}
	if len(got[2]) != 0 {
		t.Fatalf("unrelated got %d", len(got[2]))
	}
	// Never another org's records.
	ids := map[string]bool{}
	p, _ := s.Query(ctx, org, crm.Query{Object: crm.Account, Limit: 1000})
	for _, r := range p.Records {
		ids[r.ID] = true
	}
	for _, list := range got {
		for _, r := range list {
			if !ids[r.ID] {
				t.Fatalf("candidate %s is not the org's", r.ID)
			}
		}
	}
}
