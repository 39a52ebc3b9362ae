package tenancy_test

import (
	"context"
	"crypto/sha256"
	"regexp"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/tenancy"
	"github.com/lanternhq/lantern/internal/testenv"
	"github.com/lanternhq/lantern/schema"
)

func TestKeysAreStoredAsHashAndPrefixOnly(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org, err := tenancy.CreateOrg(ctx, db, "Acme Corp.", "")
	if err != nil {
		t.Fatal(err)
	}
	if org.Slug != "acme-corp" {
		t.Fatalf("slug = %q", org.Slug)
	}
	if _, err := tenancy.CreateOrg(ctx, db, "Acme again", "acme-corp"); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("duplicate slug: %v", err)
	}
	k, err := tenancy.CreateKey(ctx, db, org.ID, "ci", "live")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^ltn_live_[0-9A-Za-z]{32}$`).MatchString(k.Secret) {
		t.Fatalf("key %q is not ltn_live_<32 base62>", k.Secret)
	}
	var stored schema.APIKey
	if err := db.NewSelect().Model(&stored).Where("id = ?", k.Key.ID).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(k.Secret))
	if string(stored.Hash) != string(sum[:]) || stored.Prefix != k.Secret[:15] {
		t.Fatalf("stored hash/prefix wrong: prefix %q", stored.Prefix)
	}
	// The secret appears in no column.
	var leaks int
	if err := db.NewRaw("SELECT count(*) FROM api_keys AS k WHERE row_to_json(k)::text LIKE ?", "%"+k.Secret[15:]+"%").Scan(ctx, &leaks); err != nil || leaks != 0 {
		t.Fatalf("secret found in api_keys: %d %v", leaks, err)
	}
}

func TestAuthenticateAndRevoke(t *testing.T) {
	db := testenv.DB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tn := testenv.NewTenant(t, db, 0)
	auth := tenancy.NewAuthenticator(db, time.Hour)
	go auth.Listen(ctx)

	p, err := auth.Authenticate(ctx, tn.Secret)
	if err != nil || p.OrgID != tn.OrgID || p.KeyID != tn.KeyID {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	for _, bad := range []string{"", "nope", "ltn_test_", tn.Secret + "x", tn.Secret[:len(tn.Secret)-1]} {
		if _, err := auth.Authenticate(ctx, bad); !apperr.Is(err, apperr.Unauthorized) {
			t.Fatalf("key %q: %v, want unauthorized", bad, err)
		}
	}
	// The key is cached now; a revocation made elsewhere reaches this cache through NOTIFY.
	time.Sleep(100 * time.Millisecond) // let Listen subscribe
	if err := tenancy.RevokeKey(ctx, db, tn.OrgID, tn.KeyID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := auth.Authenticate(ctx, tn.Secret)
		if apperr.Is(err, apperr.Unauthorized) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked key still accepted after 5 s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tenancy.RevokeKey(ctx, db, tn.OrgID, tn.KeyID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("second revoke: %v", err)
	}
}

func TestKeysOfAnotherOrgAreOutOfReach(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	a, b := testenv.NewTenant(t, db, 0), testenv.NewTenant(t, db, 0)
	if err := tenancy.RevokeKey(ctx, db, a.OrgID, b.KeyID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("org a revoked org b's key: %v", err)
	}
	if err := tenancy.SetKeyLimits(ctx, db, a.OrgID, b.KeyID, map[string]int{"sync": 1000}); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("org a changed org b's limits: %v", err)
	}
	keys, err := tenancy.ListKeys(ctx, db, a.OrgID)
	if err != nil || len(keys) != 1 || keys[0].ID != a.KeyID {
		t.Fatalf("org a's keys: %+v %v", keys, err)
	}
}

func TestKeyLimitsReachThePrincipal(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 0)
	if err := tenancy.SetKeyLimits(ctx, db, tn.OrgID, tn.KeyID, map[string]int{"sync": 500}); err != nil {
		t.Fatal(err)
	}
	p, err := tenancy.NewAuthenticator(db, 0).Authenticate(ctx, tn.Secret)
	if err != nil || p.RateLimits["sync"] != 500 {
		t.Fatalf("principal limits: %+v %v", p.RateLimits, err)
	}
}
