package batch_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/batch"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/testenv"
	"github.com/lanternhq/lantern/schema"
)

func TestValidateRecords(t *testing.T) {
	recs := func(ids ...string) []batch.Record {
		var out []batch.Record
		for _, id := range ids {
			out = append(out, batch.Record{RecordID: id})
		}
		return out
	}
	many := make([]string, 1001)
	for i := range many {
		many[i] = uuid.NewString()
	}
	for _, c := range []struct {
		recs []batch.Record
		want string
	}{
		{recs(), "body.records: a batch has 1 to 1000 records, got 0"},
		{recs(many...), "got 1001"},
		{recs("a", "b", "a"), `body.records[2].record_id: duplicate record_id "a" (also records[0])`},
		{recs("a", " "), "body.records[1].record_id: is required"},
	} {
		err := batch.ValidateRecords(c.recs)
		if !apperr.Is(err, apperr.Invalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d records: %v, want %q", len(c.recs), err, c.want)
		}
	}
	if err := batch.ValidateRecords(recs(many[:1000]...)); err != nil {
		t.Fatal(err)
	}
}

func TestEachRetriesAndBoundsConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int32
	tries := make([]atomic.Int32, 40)
	errs := make([]error, 40)
	var mu sync.Mutex
	batch.Each(context.Background(), 40, 5, batch.Retry{Attempts: 3, Backoff: time.Millisecond}, nil,
		func(ctx context.Context, i int) error {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(time.Millisecond)
			try := tries[i].Add(1)
			switch {
			case i%10 == 1 && try < 3: // transient: succeeds on the third try
				return errors.New("flaky")
			case i%10 == 2: // always failing
				return errors.New("down")
			case i%10 == 3: // bad input: not retried
				return apperr.Field("phone", "bad")
			}
			return nil
		}, func(i int, err error) { mu.Lock(); errs[i] = err; mu.Unlock() })
	if peak.Load() > 5 {
		t.Fatalf("peak concurrency %d", peak.Load())
	}
	for i := range 40 {
		want := map[int]int32{1: 3, 2: 3, 3: 1}[i%10]
		if want == 0 {
			want = 1
		}
		if tries[i].Load() != want || (errs[i] != nil) != (i%10 == 2 || i%10 == 3) {
			t.Errorf("record %d: %d tries, err %v", i, tries[i].Load(), errs[i])
		}
	}
}

func TestEachStops(t *testing.T) {
	var stop atomic.Bool
	var ran atomic.Int32
	batch.Each(context.Background(), 100, 1, batch.Retry{}, stop.Load, func(ctx context.Context, i int) error {
		if ran.Add(1) == 10 {
			stop.Store(true)
		}
		return nil
	}, func(int, error) {})
	if ran.Load() > 11 {
		t.Fatalf("ran %d after stop", ran.Load())
	}
}

func TestSign(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	mac := hmac.New(sha256.New, []byte("whsec_test"))
	mac.Write([]byte(`1700000000.{"a":1}`))
	got := batch.Sign("whsec_test", at, []byte(`{"a":1}`))
	if got != "t=1700000000,v1="+hex.EncodeToString(mac.Sum(nil)) {
		t.Fatal(got)
	}
	if batch.Sign("other", at, []byte(`{"a":1}`)) == got || batch.Sign("whsec_test", at, []byte(`{"a":2}`)) == got {
		t.Fatal("signature does not depend on the secret and the body")
	}
}

func TestCheckCallbackURL(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"ftp://example.com/x", "http://127.0.0.1/x", "http://10.1.2.3/x", "http://[::1]/x",
		"http://169.254.169.254/latest", "https://user:pw@example.com/", "http://localhost:8080/"} {
		if err := batch.CheckCallbackURL(ctx, u, nil); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%s accepted: %v", u, err)
		}
	}
	if err := batch.CheckCallbackURL(ctx, "http://127.0.0.1:9/x", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}); err != nil {
		t.Errorf("allowlisted: %v", err)
	}
	if err := batch.CheckCallbackURL(ctx, "https://93.184.215.14/hook", nil); err != nil {
		t.Errorf("public: %v", err)
	}
}

func TestETA(t *testing.T) {
	start := time.Unix(0, 0)
	eta := batch.ETA(batch.Progress{State: batch.Running, Total: 100, Processed: 25}, &start, start.Add(10*time.Second))
	if eta == nil || *eta != 30*time.Second {
		t.Fatalf("eta %v", eta)
	}
	if batch.ETA(batch.Progress{State: batch.Completed, Total: 100, Processed: 100}, &start, start) != nil {
		t.Fatal("eta of a finished batch")
	}
}

// TestReservationIsNeverExceeded charges many records at once against a small reservation,
// with every charge sent twice: the total never passes it, duplicates charge nothing, and the
// refund gives back exactly the rest.
func TestReservationIsNeverExceeded(t *testing.T) {
	db := testenv.DB(t)
	tn := testenv.NewTenant(t, db, 1000)
	ctx := context.Background()
	id := batch.NewID(tn.OrgID, "")
	if _, err := batch.Create(ctx, db, &schema.Batch{OrgID: tn.OrgID, ID: id, Type: batch.Phone, State: batch.Queued,
		Total: 100, Prefix: batch.Prefix(tn.OrgID, id)}); err != nil {
		t.Fatal(err)
	}
	got, err := batch.Reserve(ctx, db, tn.OrgID, id, nil, "agents.phone", 50, time.Now())
	if err != nil || got != 50 {
		t.Fatalf("reserved %d, %v", got, err)
	}
	if again, _ := batch.Reserve(ctx, db, tn.OrgID, id, nil, "agents.phone", 50, time.Now()); again != 50 {
		t.Fatalf("second reserve %d", again)
	}
	if bal, _ := credits.Balance(ctx, db, tn.OrgID); bal != 950 {
		t.Fatalf("balance %d after reserving", bal)
	}
	var wg sync.WaitGroup
	var refused atomic.Int32
	for i := range 100 {
		for range 2 {
			wg.Go(func() {
				_, err := batch.Charge(ctx, db, tn.OrgID, id, uuid.NewSHA1(uuid.Nil, []byte{byte(i)}).String(), "phone.libphonenumber", "enrich.phone", "libphonenumber", 1)
				if apperr.Is(err, apperr.InsufficientCredits) {
					refused.Add(1)
				} else if err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	b, _ := batch.Get(ctx, db, tn.OrgID, id)
	var rows int
	db.NewRaw("SELECT count(*) FROM batch_charges WHERE org_id = ?", tn.OrgID).Scan(ctx, &rows)
	if b.CreditsUsed != 50 || rows != 50 {
		t.Fatalf("used %d, %d charge rows", b.CreditsUsed, rows)
	}
	_, refunded, err := batch.Finish(ctx, db, tn.OrgID, id, batch.BudgetExhausted, "", time.Now())
	if err != nil || refunded != 0 {
		t.Fatalf("refund %d, %v", refunded, err)
	}
	// Finished: no charge lands after the settlement.
	if _, err := batch.Charge(ctx, db, tn.OrgID, id, "late", "s", "enrich.phone", "p", 1); !apperr.Is(err, apperr.InsufficientCredits) {
		t.Fatalf("late charge: %v", err)
	}
	if bal, _ := credits.Balance(ctx, db, tn.OrgID); bal != 950 {
		t.Fatalf("balance %d", bal)
	}
}

func TestFinishRefundsTheRestOnce(t *testing.T) {
	db := testenv.DB(t)
	tn := testenv.NewTenant(t, db, 100)
	ctx := context.Background()
	id := batch.NewID(tn.OrgID, "k")
	batch.Create(ctx, db, &schema.Batch{OrgID: tn.OrgID, ID: id, Type: batch.Email, State: batch.Queued, Total: 3, Prefix: "p/"})
	if got, _ := batch.Reserve(ctx, db, tn.OrgID, id, nil, "agents.email", 500, time.Now()); got != 100 {
		t.Fatalf("reserved %d of a balance of 100", got)
	}
	batch.Charge(ctx, db, tn.OrgID, id, "r1", "email.hunter", "enrich.email", "hunter", 5)
	for range 2 {
		if _, refunded, err := batch.Finish(ctx, db, tn.OrgID, id, batch.Completed, "", time.Now()); err != nil || refunded != 95 {
			t.Fatalf("refund %d, %v", refunded, err)
		}
	}
	if bal, _ := credits.Balance(ctx, db, tn.OrgID); bal != 95 {
		t.Fatalf("balance %d", bal)
	}
}
