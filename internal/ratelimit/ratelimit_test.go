package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/ratelimit"
	"github.com/lanternhq/lantern/internal/tenancy"
	"github.com/lanternhq/lantern/internal/testenv"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func TestFiftyFirstCallIsRefused(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 0)
	clk := &clock{t: time.Date(2026, 12, 3, 12, 0, 10, 0, time.UTC)}
	l := ratelimit.New(db, clk.now)
	for i := 1; i <= 50; i++ {
		d, err := l.Take(ctx, tn.OrgID, tn.KeyID, ratelimit.Sync, 50)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed || d.Remaining != 50-i || d.Limit != 50 {
			t.Fatalf("call %d: %+v", i, d)
		}
	}
	d, err := l.Take(ctx, tn.OrgID, tn.KeyID, ratelimit.Sync, 50)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || d.Remaining != 0 || d.RetryAfter < time.Second {
		t.Fatalf("51st call: %+v", d)
	}
	if want := clk.t.Truncate(time.Minute).Add(time.Minute); !d.Reset.Equal(want) {
		t.Fatalf("reset = %v, want %v", d.Reset, want)
	}
	// Other groups and other keys have their own counters.
	if d, _ := l.Take(ctx, tn.OrgID, tn.KeyID, ratelimit.Credits, 10); !d.Allowed {
		t.Fatal("credits group refused after sync was exhausted")
	}
	other := testenv.NewTenant(t, db, 0)
	if d, _ := l.Take(ctx, other.OrgID, other.KeyID, ratelimit.Sync, 50); !d.Allowed {
		t.Fatal("another key refused")
	}
}

func TestWindowSlidesAcrossTheMinute(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 0)
	clk := &clock{t: time.Date(2026, 12, 3, 12, 0, 50, 0, time.UTC)}
	l := ratelimit.New(db, clk.now)
	take := func() ratelimit.Decision {
		d, err := l.Take(ctx, tn.OrgID, tn.KeyID, ratelimit.Sync, 10)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for range 10 {
		if !take().Allowed {
			t.Fatal("refused within the limit")
		}
	}
	// One second into the next minute, last minute's 10 calls still weigh 10 × 59/60 → 9.
	clk.set(time.Date(2026, 12, 3, 12, 1, 1, 0, time.UTC))
	if d := take(); !d.Allowed {
		t.Fatalf("refused although 9 + 1 <= 10: %+v", d)
	}
	d := take()
	if d.Allowed {
		t.Fatal("allowed a burst across the minute boundary")
	}
	// The refusal says when a call fits again, and it does fit then.
	clk.set(clk.now().Add(d.RetryAfter))
	if d2 := take(); !d2.Allowed {
		t.Fatalf("still refused after Retry-After %v: %+v", d.RetryAfter, d2)
	}
}

func TestConcurrentTakesNeverExceedTheLimit(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 0)
	// Two limiters over one database stand for two API processes.
	a, b := ratelimit.New(db, nil), ratelimit.New(db, nil)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := range 120 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			d, err := l.Take(ctx, tn.OrgID, tn.KeyID, ratelimit.Sync, 50)
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	// All 120 land within a second or two, so last minute's weight cannot free a slot... unless
	// the minute turned meanwhile; then at most the share it freed.
	if n := allowed.Load(); n < 50 || n > 51 {
		t.Fatalf("%d of 120 concurrent calls allowed with a limit of 50", n)
	}
}

func TestRevokedKeyTakesNothing(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 0)
	l := ratelimit.New(db, nil)
	if d, _ := l.Take(ctx, tn.OrgID, tn.KeyID, ratelimit.Sync, 50); !d.KeyActive || !d.Allowed {
		t.Fatalf("active key: %+v", d)
	}
	if err := tenancy.RevokeKey(ctx, db, tn.OrgID, tn.KeyID); err != nil {
		t.Fatal(err)
	}
	d, err := l.Take(ctx, tn.OrgID, tn.KeyID, ratelimit.Sync, 50)
	if err != nil || d.KeyActive || d.Allowed {
		t.Fatalf("revoked key: %+v %v", d, err)
	}
}

func TestRetryAfterIsTheFirstSecondThatFits(t *testing.T) {
	for _, tc := range []struct {
		limit, cur, prev int
		elapsed          time.Duration
	}{
		{50, 50, 0, 10 * time.Second},
		{50, 20, 40, 5 * time.Second},
		{1, 1, 0, 59 * time.Second},
		{2, 0, 2, 0},
		{10, 10, 10, 30 * time.Second},
	} {
		wait := ratelimit.RetryAfter(tc.limit, tc.cur, tc.prev, tc.elapsed)
		if !ratelimit.Fits(tc.limit, tc.cur, tc.prev, tc.elapsed, wait) {
			t.Errorf("%+v: does not fit after %v", tc, wait)
		}
		if wait > time.Second && ratelimit.Fits(tc.limit, tc.cur, tc.prev, tc.elapsed, wait-time.Second) {
			t.Errorf("%+v: already fits a second before %v", tc, wait)
		}
	}
}

func TestHighLimitsReserveAheadButNeverExceedTheLimit(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 0)
	clk := &clock{t: time.Date(2026, 12, 3, 12, 0, 5, 0, time.UTC)}
	a, b := ratelimit.New(db, clk.now), ratelimit.New(db, clk.now)
	const limit = 1000 // reserves 5 ahead
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := range 1200 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			d, err := l.Take(ctx, tn.OrgID, tn.KeyID, ratelimit.Workflows, limit)
			if err != nil {
				t.Error(err)
			}
			if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	// Never more than the limit; fewer only by what the two processes still hold in reserve.
	if n := allowed.Load(); n > limit || n < limit-2*5 {
		t.Fatalf("%d allowed of 1200 with a limit of %d", n, limit)
	}
	var counted int
	if err := db.NewRaw("SELECT sum(count) FROM rate_limit_windows WHERE api_key_id = ?", tn.KeyID).Scan(ctx, &counted); err != nil {
		t.Fatal(err)
	}
	if counted > limit {
		t.Fatalf("Postgres counted %d > limit %d", counted, limit)
	}
}

func TestReservesAreDroppedOnForgetAndWhenStale(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 0)
	clk := &clock{t: time.Date(2026, 12, 3, 12, 0, 5, 0, time.UTC)}
	l := ratelimit.New(db, clk.now)
	take := func() ratelimit.Decision {
		d, err := l.Take(ctx, tn.OrgID, tn.KeyID, ratelimit.Forms, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := take(); !d.Allowed || d.Remaining != 999 {
		t.Fatalf("first: %+v", d)
	}
	// A revocation made after the reserve is taken: the reserve keeps serving until Forget
	// (which the API calls on the key-change notification), then Postgres says no.
	if err := tenancy.RevokeKey(ctx, db, tn.OrgID, tn.KeyID); err != nil {
		t.Fatal(err)
	}
	if d := take(); !d.Allowed || d.Remaining != 998 {
		t.Fatalf("from reserve: %+v", d)
	}
	l.Forget()
	if d := take(); d.KeyActive || d.Allowed {
		t.Fatalf("after Forget: %+v", d)
	}
	// A stale reserve is not used either.
	other := testenv.NewTenant(t, db, 0)
	l2 := ratelimit.New(db, clk.now)
	if d, _ := l2.Take(ctx, other.OrgID, other.KeyID, ratelimit.Forms, 1000); !d.Allowed {
		t.Fatal("first take refused")
	}
	if err := tenancy.RevokeKey(ctx, db, other.OrgID, other.KeyID); err != nil {
		t.Fatal(err)
	}
	clk.set(clk.now().Add(2 * time.Second))
	if d, _ := l2.Take(ctx, other.OrgID, other.KeyID, ratelimit.Forms, 1000); d.Allowed {
		t.Fatal("a reserve older than a second served a revoked key")
	}
}
