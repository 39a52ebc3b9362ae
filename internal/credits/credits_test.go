package credits_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/testenv"
)

func TestDebitIsIdempotentPerRequestAndStep(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 100)
	c := credits.Charge{OrgID: tn.OrgID, APIKeyID: &tn.KeyID, RequestID: "req_1", Step: "phone", Service: "enrich.phone", Amount: 7}

	first, err := credits.Debit(ctx, db, c)
	if err != nil {
		t.Fatal(err)
	}
	if first.Duplicate || first.Balance != 93 || first.Entry.Amount != -7 || first.Entry.BalanceAfter != 93 {
		t.Fatalf("first debit = %+v", first)
	}
	again, err := credits.Debit(ctx, db, c)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Balance != 93 || again.Entry.ID != first.Entry.ID {
		t.Fatalf("repeat debit = %+v, want the first entry and no charge", again)
	}
	// Another step of the same request is a separate charge.
	c.Step = "email"
	if r, err := credits.Debit(ctx, db, c); err != nil || r.Balance != 86 {
		t.Fatalf("second step: %+v %v", r, err)
	}
	if b, _ := credits.Balance(ctx, db, tn.OrgID); b != 86 {
		t.Fatalf("balance = %d, want 86", b)
	}
}

func TestDebitRefusesWhatTheBalanceCannotCover(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 5)
	_, err := credits.Debit(ctx, db, credits.Charge{OrgID: tn.OrgID, RequestID: "r", Step: "s", Service: "x", Amount: 6})
	if !apperr.Is(err, apperr.InsufficientCredits) {
		t.Fatalf("err = %v, want insufficient_credits", err)
	}
	if b, _ := credits.Balance(ctx, db, tn.OrgID); b != 5 {
		t.Fatalf("balance = %d after a refused debit, want 5", b)
	}
	// A refused debit leaves no ledger row, so the same step can be retried after a top-up.
	if _, err := credits.Grant(ctx, db, credits.Charge{OrgID: tn.OrgID, Amount: 10}); err != nil {
		t.Fatal(err)
	}
	if r, err := credits.Debit(ctx, db, credits.Charge{OrgID: tn.OrgID, RequestID: "r", Step: "s", Service: "x", Amount: 6}); err != nil || r.Balance != 9 {
		t.Fatalf("retry after top-up: %+v %v", r, err)
	}
}

func TestConcurrentDebitsNeverOverspend(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 100)
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			_, err := credits.Debit(ctx, db, credits.Charge{OrgID: tn.OrgID, RequestID: fmt.Sprintf("req_%d", i),
				Step: "s", Service: "x", Amount: 3})
			switch {
			case err == nil:
				ok.Add(1)
			case apperr.Is(err, apperr.InsufficientCredits):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	// The same request and step from many goroutines at once is still one charge.
	for range 20 {
		wg.Go(func() {
			if _, err := credits.Debit(ctx, db, credits.Charge{OrgID: tn.OrgID, RequestID: "dup", Step: "s", Service: "x", Amount: 1}); err != nil && !apperr.Is(err, apperr.InsufficientCredits) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	b, err := credits.Balance(ctx, db, tn.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	var spent int64
	if err := db.NewRaw("SELECT -coalesce(sum(amount), 0) FROM credit_ledger WHERE org_id = ? AND kind = 'debit'", tn.OrgID).Scan(ctx, &spent); err != nil {
		t.Fatal(err)
	}
	if b < 0 || b+spent != 100 {
		t.Fatalf("balance %d + spent %d != granted 100", b, spent)
	}
	if refused.Load() > 0 && b >= 3 {
		t.Fatalf("ok=%d refused=%d balance=%d: refused while credits remained, or overspent", ok.Load(), refused.Load(), b)
	}
	if ok.Load() < 33 {
		t.Fatalf("only %d debits of 3 went through out of 100 credits", ok.Load())
	}
	var dups int
	if err := db.NewRaw("SELECT count(*) FROM credit_ledger WHERE org_id = ? AND request_id = 'dup'", tn.OrgID).Scan(ctx, &dups); err != nil {
		t.Fatal(err)
	}
	if dups > 1 {
		t.Fatalf("%d ledger rows for one (request, step)", dups)
	}
}

func TestRefund(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 50)
	c := credits.Charge{OrgID: tn.OrgID, RequestID: "req_r", Step: "research", Service: "enrich.research", Amount: 20}
	if _, err := credits.Debit(ctx, db, c); err != nil {
		t.Fatal(err)
	}
	c.Amount = 25
	if _, err := credits.Refund(ctx, db, c); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("refund above the debit: %v, want invalid_input", err)
	}
	c.Amount = 15
	r, err := credits.Refund(ctx, db, c)
	if err != nil || r.Balance != 45 {
		t.Fatalf("refund: %+v %v", r, err)
	}
	if r, err := credits.Refund(ctx, db, c); err != nil || !r.Duplicate || r.Balance != 45 {
		t.Fatalf("repeat refund: %+v %v", r, err)
	}
	if _, err := credits.Refund(ctx, db, credits.Charge{OrgID: tn.OrgID, RequestID: "nope", Step: "x", Service: "x", Amount: 1}); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("refund without debit: %v", err)
	}
}

func TestLedgerIsAppendOnly(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 10)
	if _, err := db.ExecContext(ctx, "UPDATE credit_ledger SET amount = 1000000 WHERE org_id = ?", tn.OrgID); err == nil {
		t.Fatal("UPDATE on the ledger succeeded")
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM credit_ledger WHERE org_id = ?", tn.OrgID); err == nil {
		t.Fatal("DELETE on the ledger succeeded")
	}
}

func TestUsageGroupings(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 1000)
	other := testenv.NewTenant(t, db, 1000)
	debit := func(org testenv.Tenant, req, service string, amount int64) {
		t.Helper()
		if _, err := credits.Debit(ctx, db, credits.Charge{OrgID: org.OrgID, APIKeyID: &org.KeyID, RequestID: req, Step: "s", Service: service, Amount: amount}); err != nil {
			t.Fatal(err)
		}
	}
	debit(tn, "a", "enrich.phone", 2)
	debit(tn, "b", "enrich.phone", 3)
	debit(tn, "c", "enrich.email", 5)
	debit(other, "z", "enrich.email", 100) // another org's spending is never counted
	if _, err := credits.Refund(ctx, db, credits.Charge{OrgID: tn.OrgID, RequestID: "c", Step: "s", Service: "enrich.email", Amount: 1}); err != nil {
		t.Fatal(err)
	}
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)

	u, err := credits.UsageBetween(ctx, db, tn.OrgID, from, to, credits.ByService)
	if err != nil {
		t.Fatal(err)
	}
	if u.CreditsUsed != 9 || u.Requests != 3 || u.Refunded != 1 || u.Granted != 1000 || len(u.Rows) != 2 {
		t.Fatalf("by service: %+v", u)
	}
	if u.Rows[0].Key != "enrich.email" || u.Rows[0].CreditsUsed != 4 || u.Rows[1].Key != "enrich.phone" || u.Rows[1].CreditsUsed != 5 {
		t.Fatalf("rows: %+v", u.Rows)
	}
	u, err = credits.UsageBetween(ctx, db, tn.OrgID, from, to, credits.ByDay)
	if err != nil || len(u.Rows) != 1 || u.Rows[0].Key != time.Now().UTC().Format("2006-01-02") || u.Rows[0].CreditsUsed != 9 {
		t.Fatalf("by day: %+v %v", u, err)
	}
	u, err = credits.UsageBetween(ctx, db, tn.OrgID, from, to, credits.ByAPIKey)
	if err != nil || len(u.Rows) != 1 || u.Rows[0].APIKeyID != tn.KeyID.String() || u.Rows[0].CreditsUsed != 9 {
		t.Fatalf("by key: %+v %v", u, err)
	}
	u, err = credits.UsageBetween(ctx, db, tn.OrgID, to, to.Add(time.Hour), credits.ByDay)
	if err != nil || len(u.Rows) != 0 || u.CreditsUsed != 0 {
		t.Fatalf("empty range: %+v %v", u, err)
	}
	if _, err := credits.UsageBetween(ctx, db, tn.OrgID, from, to, "week"); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("bad group_by: %v", err)
	}
}

func TestLedgerBatchesConcurrentDebitsSafely(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 100)
	l := credits.NewLedger(db)
	var ok, refused, dups atomic.Int64
	var wg sync.WaitGroup
	for i := range 80 {
		wg.Go(func() {
			req := fmt.Sprintf("req_%d", i%60) // 20 of them repeat an earlier request
			r, err := l.Debit(ctx, credits.Charge{OrgID: tn.OrgID, RequestID: req, Step: "s", Service: "x", Amount: 3})
			switch {
			case err == nil && r.Duplicate:
				dups.Add(1)
			case err == nil:
				ok.Add(1)
			case apperr.Is(err, apperr.InsufficientCredits):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	b, _ := credits.Balance(ctx, db, tn.OrgID)
	var rows, spent int64
	if err := db.NewRaw("SELECT count(*), -coalesce(sum(amount), 0) FROM credit_ledger WHERE org_id = ? AND kind = 'debit'", tn.OrgID).Scan(ctx, &rows, &spent); err != nil {
		t.Fatal(err)
	}
	if b < 0 || b+spent != 100 || rows != ok.Load() || ok.Load() != 33 || b != 1 {
		t.Fatalf("balance %d, spent %d in %d rows; ok %d, duplicates %d, refused %d", b, spent, rows, ok.Load(), dups.Load(), refused.Load())
	}
}
