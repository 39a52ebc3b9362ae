package idempotency_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/idempotency"
	"github.com/lanternhq/lantern/internal/testenv"
)

func TestRepeatReturnsTheFirstResponse(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 0)
	s := idempotency.New(db, time.Hour, nil)
	var runs atomic.Int32
	fn := func(context.Context) (idempotency.Response, error) {
		n := runs.Add(1)
		b, _ := json.Marshal(map[string]int32{"run": n})
		return idempotency.Response{Status: 201, Body: b}, nil
	}
	req := idempotency.Request{OrgID: tn.OrgID, Scope: "test.create", Key: "k1", Body: []byte(`{"a":1}`)}
	first, replayed, err := s.Do(ctx, req, fn)
	if err != nil || replayed || first.Status != 201 || string(first.Body) != `{"run":1}` {
		t.Fatalf("first: %+v %v %v", first, replayed, err)
	}
	again, replayed, err := s.Do(ctx, req, fn)
	if err != nil || !replayed || again.Status != 201 || string(again.Body) != `{"run":1}` {
		t.Fatalf("repeat: %+v %v %v", again, replayed, err)
	}
	if runs.Load() != 1 {
		t.Fatalf("ran %d times", runs.Load())
	}
	// Same key, different body: a conflict, and nothing runs.
	req.Body = []byte(`{"a":2}`)
	if _, _, err := s.Do(ctx, req, fn); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("different body: %v, want conflict", err)
	}
	// The same key in another scope, or another org, is independent.
	req.Scope = "test.other"
	if _, replayed, err := s.Do(ctx, req, fn); err != nil || replayed {
		t.Fatalf("other scope: %v %v", replayed, err)
	}
	other := testenv.NewTenant(t, db, 0)
	req.OrgID = other.OrgID
	if _, replayed, err := s.Do(ctx, req, fn); err != nil || replayed {
		t.Fatalf("other org: %v %v", replayed, err)
	}
	if runs.Load() != 3 {
		t.Fatalf("ran %d times, want 3", runs.Load())
	}
}

func TestFailureReleasesTheKey(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 0)
	s := idempotency.New(db, time.Hour, nil)
	req := idempotency.Request{OrgID: tn.OrgID, Scope: "test", Key: "k", Body: []byte(`{}`)}
	boom := errors.New("boom")
	if _, _, err := s.Do(ctx, req, func(context.Context) (idempotency.Response, error) { return idempotency.Response{}, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	resp, replayed, err := s.Do(ctx, req, func(context.Context) (idempotency.Response, error) {
		return idempotency.Response{Status: 200, Body: json.RawMessage(`{"ok":true}`)}, nil
	})
	if err != nil || replayed || string(resp.Body) != `{"ok":true}` {
		t.Fatalf("retry after failure: %+v %v %v", resp, replayed, err)
	}
}

func TestConcurrentRepeatsRunOnce(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 0)
	s := idempotency.New(db, time.Hour, nil)
	req := idempotency.Request{OrgID: tn.OrgID, Scope: "test", Key: "same", Body: []byte(`{}`)}
	var runs, conflicts, replays atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_, replayed, err := s.Do(ctx, req, func(context.Context) (idempotency.Response, error) {
				runs.Add(1)
				<-release
				return idempotency.Response{Status: 200, Body: json.RawMessage(`{}`)}, nil
			})
			switch {
			case apperr.Is(err, apperr.Conflict):
				conflicts.Add(1)
			case err != nil:
				t.Error(err)
			case replayed:
				replays.Add(1)
			}
		})
	}
	time.Sleep(300 * time.Millisecond) // let every goroutine reach Do while the first still runs
	close(release)
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("ran %d times", runs.Load())
	}
	if conflicts.Load()+replays.Load() != 9 {
		t.Fatalf("conflicts %d + replays %d != 9", conflicts.Load(), replays.Load())
	}
}

func TestExpiredKeyRunsAgain(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	tn := testenv.NewTenant(t, db, 0)
	now := time.Now()
	clock := func() time.Time { return now }
	s := idempotency.New(db, time.Minute, clock)
	req := idempotency.Request{OrgID: tn.OrgID, Scope: "test", Key: "k", Body: []byte(`{}`)}
	var runs int
	fn := func(context.Context) (idempotency.Response, error) {
		runs++
		return idempotency.Response{Status: 200, Body: json.RawMessage(`{}`)}, nil
	}
	s.Do(ctx, req, fn)
	now = now.Add(2 * time.Minute)
	if _, replayed, err := s.Do(ctx, req, fn); err != nil || replayed || runs != 2 {
		t.Fatalf("after expiry: replayed=%v runs=%d err=%v", replayed, runs, err)
	}
	n, err := idempotency.Prune(ctx, db, now.Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
}
