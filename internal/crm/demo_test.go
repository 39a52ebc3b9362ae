package crm_test

import (
	"context"
	"testing"

	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/testenv"
)

func TestSeedDemoIsRepeatable(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	s := &crm.Local{DB: db, Region: "US"}
	first, err := crm.SeedDemo(ctx, s, org)
	if err != nil {
		t.Fatal(err)
	}
	if first[crm.Account] < 80 || first[crm.Contact] < 200 || first[crm.Lead] < 100 || first[crm.User] != 8 {
		t.Fatalf("counts %v", first)
	}
	if _, err := crm.SeedDemo(ctx, s, org); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.NewRaw("SELECT count(*) FROM crm_records WHERE org_id = ?", org).Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if want := first[crm.Account] + first[crm.Contact] + first[crm.Lead] + first[crm.User]; n != want {
		t.Fatalf("%d records after seeding twice, want %d", n, want)
	}
	// Contacts point at their accounts and owners.
	var linked int
	db.NewRaw("SELECT count(*) FROM crm_records WHERE org_id = ? AND object = 'Contact' AND account_id <> '' AND owner_id <> ''", org).Scan(ctx, &linked)
	if linked != first[crm.Contact] {
		t.Fatalf("%d of %d contacts linked", linked, first[crm.Contact])
	}
}
