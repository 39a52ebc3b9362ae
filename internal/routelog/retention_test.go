package routelog_test

import (
	"context"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/routelog"
	"github.com/lanternhq/lantern/internal/testenv"
)

func TestRetentionSettings(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	org := testenv.NewTenant(t, db, 0).OrgID
	r, err := routelog.GetRetention(ctx, db, org, 365)
	if err != nil || r.Days != 365 || !r.AutoCleanup || !r.IsDefault {
		t.Fatalf("default: %+v %v", r, err)
	}
	if _, err := routelog.SetRetention(ctx, db, org, 1096, true); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("1096 days: %v", err)
	}
	if _, err := routelog.SetRetention(ctx, db, org, 0, true); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("0 days: %v", err)
	}
	if _, err := routelog.SetRetention(ctx, db, org, 30, false); err != nil {
		t.Fatal(err)
	}
	r, err = routelog.GetRetention(ctx, db, org, 365)
	if err != nil || r.Days != 30 || r.AutoCleanup || r.IsDefault || r.UpdatedAt.IsZero() {
		t.Fatalf("after set: %+v %v", r, err)
	}
	// Another org still has the default.
	if r, _ := routelog.GetRetention(ctx, db, testenv.NewTenant(t, db, 0).OrgID, 365); !r.IsDefault {
		t.Fatalf("other org: %+v", r)
	}
}

func entryAt(ts time.Time, key string) routelog.Entry {
	return routelog.Entry{Timestamp: ts, Object: "Lead", ObjectID: "00Q" + key, Action: "assign",
		Reason: "round_robin", IdempotencyKey: key}
}

func TestDropPartitionOnlyWhenEveryEntryExpired(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)
	short := testenv.NewTenant(t, db, 0).OrgID // keeps 30 days
	long := testenv.NewTenant(t, db, 0).OrgID  // keeps the default 365
	if _, err := routelog.SetRetention(ctx, db, short, 30, true); err != nil {
		t.Fatal(err)
	}
	// August 2026: only the short org has entries there, all older than 30 days.
	// March 2026: both orgs; the long org's entries are within 365 days.
	if _, err := routelog.Write(ctx, db, short, entryAt(time.Date(2026, 8, 10, 0, 0, 0, 0, time.UTC), "s1"),
		entryAt(time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), "s2")); err != nil {
		t.Fatal(err)
	}
	if _, err := routelog.Write(ctx, db, long, entryAt(time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC), "l1")); err != nil {
		t.Fatal(err)
	}
	parts, err := routelog.Partitions(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	dropped := map[string]bool{}
	for _, p := range parts {
		ok, err := routelog.DropPartitionIfExpired(ctx, db, p, now, 365)
		if err != nil {
			t.Fatal(err)
		}
		dropped[p.Name] = ok
	}
	if !dropped["route_logs_p2026_08"] {
		t.Fatal("August, all expired, was kept")
	}
	if dropped["route_logs_p2026_03"] || dropped["route_logs_p2026_11"] || dropped["route_logs_p2026_12"] {
		t.Fatalf("a partition with live entries, or the current month, was dropped: %v", dropped)
	}
	// The long org's entry survived; writing into a dropped month recreates it.
	es, err := routelog.List(ctx, db, long, routelog.Filter{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: now, Limit: 10})
	if err != nil || len(es) != 1 {
		t.Fatalf("long org's entries: %v %v", es, err)
	}
	if n, err := routelog.Write(ctx, db, long, entryAt(time.Date(2026, 8, 12, 0, 0, 0, 0, time.UTC), "l2")); err != nil || n != 1 {
		t.Fatalf("write into a dropped month: %d %v", n, err)
	}
}

func TestDeleteExpiredPerOrg(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)
	org := testenv.NewTenant(t, db, 0).OrgID
	kept := testenv.NewTenant(t, db, 0).OrgID
	if _, err := routelog.SetRetention(ctx, db, kept, 1, false); err != nil { // auto cleanup off
		t.Fatal(err)
	}
	var es []routelog.Entry
	for i := range 25 {
		es = append(es, entryAt(now.Add(-time.Duration(i)*24*time.Hour-time.Hour), string(rune('a'+i))))
	}
	if _, err := routelog.Write(ctx, db, org, es...); err != nil {
		t.Fatal(err)
	}
	if _, err := routelog.Write(ctx, db, kept, es...); err != nil {
		t.Fatal(err)
	}
	pols, err := routelog.Policies(ctx, db, 10)
	if err != nil || len(pols) != 2 {
		t.Fatalf("policies: %+v %v", pols, err)
	}
	var total int64
	for _, p := range pols {
		if !p.AutoCleanup {
			if p.OrgID != kept {
				t.Fatalf("auto cleanup off for the wrong org: %+v", p)
			}
			continue
		}
		for {
			n, keys, err := routelog.DeleteExpired(ctx, db, p.OrgID, p.Cutoff(now), 4)
			if err != nil {
				t.Fatal(err)
			}
			total += n
			if n < 4 && keys < 4 {
				break
			}
		}
	}
	// 10 days kept: entries 0..9 days old (1 h before each day boundary) remain; 15 expired.
	if total != 15 {
		t.Fatalf("deleted %d, want 15", total)
	}
	left, _ := routelog.List(ctx, db, org, routelog.Filter{From: now.AddDate(-1, 0, 0), To: now, Limit: 100})
	all, _ := routelog.List(ctx, db, kept, routelog.Filter{From: now.AddDate(-1, 0, 0), To: now, Limit: 100})
	if len(left) != 10 || len(all) != 25 {
		t.Fatalf("left %d (want 10), auto-cleanup-off org %d (want 25)", len(left), len(all))
	}
	// Deleted entries' keys are gone too, so the same key can be logged again.
	if n, err := routelog.Write(ctx, db, org, es[24]); err != nil || n != 1 {
		t.Fatalf("rewrite of an expired key: %d %v", n, err)
	}
}
