package enrich

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/credits"
	"github.com/lanternhq/lantern/internal/testenv"
)

// stub is a provider of fixed answers for exercising the waterfall itself.
type stub struct {
	name     string
	fields   map[string]Result
	err      error
	delay    time.Duration
	calls    atomic.Int32
	supplies []string
}

func (s *stub) Name() string { return s.name }
func (s *stub) Supplies() []string {
	if s.supplies != nil {
		return s.supplies
	}
	var out []string
	for f := range s.fields {
		out = append(out, f)
	}
	return out
}
func (s *stub) Enrich(ctx context.Context, in Input) (map[string]Result, error) {
	s.calls.Add(1)
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.fields, s.err
}

func res(v any, c float64, p string) Result {
	return Result{Value: v, Confidence: c, Source: Source{Provider: p}, ObservedAt: time.Now()}
}

func engine(t *testing.T, ps ...*stub) (*Engine, testenv.Tenant) {
	db := testenv.DB(t)
	e := &Engine{DB: db, Providers: map[string]Provider{}, Unconfigured: map[string]string{"pdl": "LANTERN_PDL_API_KEY"},
		Plans: map[string]Plan{}, Prices: map[string]int64{}, Threshold: 0.8, CacheTTL: time.Hour, StepTimeout: time.Second}
	var names []string
	for _, p := range ps {
		e.Providers[p.name] = p
		e.Prices[p.name] = 2
		names = append(names, p.name)
	}
	e.Plans["email"] = Plan{Fields: []string{"email", "title"}, Providers: append(names, "pdl")}
	return e, testenv.NewTenant(t, db, 100)
}

func TestWaterfallStopsAtTheThreshold(t *testing.T) {
	weak := &stub{name: "weak", fields: map[string]Result{"email": res("a@x.com", 0.4, "weak")}}
	strong := &stub{name: "strong", fields: map[string]Result{"email": res("b@x.com", 0.9, "strong"), "title": res("CTO", 0.85, "strong")}}
	never := &stub{name: "never", fields: map[string]Result{"email": res("c@x.com", 0.99, "never")}}
	e, tn := engine(t, weak, strong, never)
	out, err := e.Run(context.Background(), Job{OrgID: tn.OrgID, RequestID: "r1", Service: "email", Record: Record{"first_name": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Value("email") != "b@x.com" || out.Confidence != 0.9 || out.Value("title") != "CTO" {
		t.Fatalf("fields %+v", out.Fields)
	}
	if never.calls.Load() != 0 || out.CreditsUsed != 4 || len(out.Attempts) != 2 {
		t.Fatalf("never called %d times, credits %d, attempts %+v", never.calls.Load(), out.CreditsUsed, out.Attempts)
	}
	if b, _ := credits.Balance(context.Background(), e.DB, tn.OrgID); b != 96 {
		t.Fatalf("balance %d, want 96", b)
	}
}

func TestWaterfallShowsUnconfiguredFailedAndBudget(t *testing.T) {
	broken := &stub{name: "broken", err: errors.New("dial tcp 10.0.0.1:443: secret internal detail"), supplies: []string{"email"}}
	slow := &stub{name: "slow", delay: 5 * time.Second, fields: map[string]Result{"email": res("s@x.com", 0.9, "slow")}}
	empty := &stub{name: "empty", fields: map[string]Result{}, supplies: []string{"email"}}
	e, tn := engine(t, broken, slow, empty)
	out, err := e.Run(context.Background(), Job{OrgID: tn.OrgID, RequestID: "r2", Service: "email"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Attempt{}
	for _, a := range out.Attempts {
		got[a.Provider] = a
	}
	if got["broken"].Status != "error" || got["broken"].Error != "provider failed" ||
		got["slow"].Status != "timeout" || got["empty"].Status != "empty" || got["empty"].Credits != 0 ||
		got["pdl"].Status != "not_configured" || got["pdl"].Error != "set LANTERN_PDL_API_KEY" {
		t.Fatalf("attempts %+v", out.Attempts)
	}
	if len(out.Fields) != 0 || out.CreditsUsed != 0 {
		t.Fatalf("partial: %+v", out)
	}

	// max_credits: each step costs 2; a budget of 3 pays for one.
	a := &stub{name: "a", fields: map[string]Result{"email": res("a@x.com", 0.5, "a")}}
	b := &stub{name: "b", fields: map[string]Result{"email": res("b@x.com", 0.9, "b")}}
	e2, tn2 := engine(t, a, b)
	out, err = e2.Run(context.Background(), Job{OrgID: tn2.OrgID, RequestID: "r3", Service: "email", MaxCredits: 3})
	if err != nil {
		t.Fatal(err)
	}
	if out.CreditsUsed != 2 || b.calls.Load() != 0 || out.Attempts[1].Status != "skipped_budget" || out.Value("email") != "a@x.com" {
		t.Fatalf("budget: %+v", out)
	}
}

func TestAProviderRejectingAFoundValueFailsOnlyItsStep(t *testing.T) {
	bad := &stub{name: "bad", err: apperr.Field("domain", "is not a company domain"), supplies: []string{"email"}}
	good := &stub{name: "good", fields: map[string]Result{"email": res("a@x.com", 0.9, "good")}}
	e, tn := engine(t, bad, good)
	out, err := e.Run(context.Background(), Job{OrgID: tn.OrgID, RequestID: "r", Service: "email"})
	if err != nil || out.Attempts[0].Status != "error" || out.Attempts[0].Error != "is not a company domain" || out.Value("email") != "a@x.com" {
		t.Fatalf("%+v %v", out, err)
	}
}

func TestCacheAndIdempotentDebits(t *testing.T) {
	p := &stub{name: "p", fields: map[string]Result{"email": res("a@x.com", 0.9, "p")}}
	e, tn := engine(t, p)
	ctx := context.Background()
	job := Job{OrgID: tn.OrgID, RequestID: "req-1", Service: "email", RecordID: "lead-1", Record: Record{"first_name": "Ann"}}
	first, err := e.Run(ctx, job)
	if err != nil || first.Cached || first.CreditsUsed != 2 {
		t.Fatalf("first: %+v %v", first, err)
	}
	// Same record and inputs: from the cache, free, no provider called.
	job.RequestID = "req-2"
	second, err := e.Run(ctx, job)
	if err != nil || !second.Cached || second.CreditsUsed != 0 || second.Value("email") != "a@x.com" || p.calls.Load() != 1 {
		t.Fatalf("second: %+v %v (calls %d)", second, err, p.calls.Load())
	}
	// Changed inputs miss the cache; so does another org.
	job.Record = Record{"first_name": "Anne"}
	if third, _ := e.Run(ctx, job); third.Cached {
		t.Fatal("changed input hit the cache")
	}
	other := testenv.NewTenant(t, e.DB, 100)
	job.OrgID, job.RequestID = other.OrgID, "req-3"
	if fourth, _ := e.Run(ctx, job); fourth.Cached {
		t.Fatal("another org's cache answered")
	}
	// No record_id: never cached.
	job.RecordID, job.RequestID = "", "req-4"
	e.Run(ctx, job)
	if again, _ := e.Run(ctx, Job{OrgID: other.OrgID, RequestID: "req-5", Service: "email", Record: job.Record}); again.Cached {
		t.Fatal("cached without record_id")
	}
	// A retried request (same request id) is not charged twice.
	e.CacheTTL = 0
	before, _ := credits.Balance(ctx, e.DB, tn.OrgID)
	retry := Job{OrgID: tn.OrgID, RequestID: "req-retry", Service: "email", Record: Record{"x": "1"}}
	e.Run(ctx, retry)
	e.Run(ctx, retry)
	if after, _ := credits.Balance(ctx, e.DB, tn.OrgID); before-after != 2 {
		t.Fatalf("charged %d for one request run twice, want 2", before-after)
	}
}

func TestInsufficientCredits(t *testing.T) {
	p := &stub{name: "p", fields: map[string]Result{"email": res("a@x.com", 0.9, "p")}}
	e, _ := engine(t, p)
	poor := testenv.NewTenant(t, e.DB, 1)
	_, err := e.Run(context.Background(), Job{OrgID: poor.OrgID, RequestID: "r", Service: "email"})
	if !apperr.Is(err, apperr.InsufficientCredits) {
		t.Fatalf("err = %v", err)
	}
}
