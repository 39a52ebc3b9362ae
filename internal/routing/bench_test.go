package routing

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/crm"
)

// BenchmarkRoutingAssign runs 10,000 assignments per iteration from 32 concurrent clients on
// one pool of 10 members (the local CRM; equal weights, then weights 1-5), then checks the
// pool: sequences without gaps or duplicates, every member within one assignment of their
// share (max - min <= 1 with equal weights), one route log row each, owners set. The
// baseline, in the same run, is 32 clients running a bare single-row
// `UPDATE ... RETURNING` (each its own transaction) on one row: the least a serialised,
// durable per-pool counter costs on this Postgres.
func BenchmarkRoutingAssign(b *testing.B) {
	b.Run("equal", func(b *testing.B) { benchAssign(b, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1) })
	b.Run("weighted", func(b *testing.B) { benchAssign(b, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5) })
}

func benchAssign(b *testing.B, weights ...int) {
	const perIter, clients = 10000, 32
	ctx := context.Background()
	f := setup(b, 10, 0)
	f.pool(b, "BENCH", "", weights...)
	if _, err := f.db.ExecContext(ctx, "CREATE TABLE bench_counter (id int PRIMARY KEY, n bigint NOT NULL); INSERT INTO bench_counter VALUES (1, 0)"); err != nil {
		b.Fatal(err)
	}
	store := f.svc.CRM.(*crm.Local)
	// Spread work over the clients; each job is an index into the work.
	fan := func(n int, job func(i int) error) time.Duration {
		next := make(chan int, n)
		for i := range n {
			next <- i
		}
		close(next)
		var wg sync.WaitGroup
		var once sync.Once
		var first error
		start := time.Now()
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if err := job(i); err != nil {
						once.Do(func() { first = err })
						return
					}
				}
			}()
		}
		wg.Wait()
		if first != nil {
			b.Fatal(first)
		}
		return time.Since(start)
	}
	var tAssign, tBase time.Duration
	done := 0
	b.ResetTimer()
	for it := range b.N {
		b.StopTimer()
		var ins []crm.Input
		leads := make([]string, 0, perIter)
		for i := range perIter {
			ins = append(ins, crm.Input{Fields: map[string]any{"LastName": fmt.Sprintf("Lead %d-%d", it, i), "Company": "Acme"}})
			if len(ins) == crm.MaxBulk {
				res, err := store.BulkUpsert(ctx, f.org, crm.Lead, ins)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					leads = append(leads, r.Record.ID)
				}
				ins = ins[:0]
			}
		}
		b.StartTimer()
		tAssign += fan(perIter, func(i int) error {
			_, err := f.svc.Assign(ctx, f.org, AssignRequest{Pool: "BENCH", Object: crm.Lead, ObjectID: leads[i],
				IdempotencyKey: fmt.Sprintf("bench-%d-%d", it, i), RequestID: "bench"})
			return err
		})
		tBase += fan(perIter, func(int) error {
			var n int64
			return f.db.QueryRowContext(ctx, "UPDATE bench_counter SET n = n + 1 WHERE id = 1 RETURNING n").Scan(&n)
		})
		b.StopTimer()
		done += perIter
		checkPool(b, f.db, f.svc, f.org, "BENCH", done)
		b.StartTimer()
	}
	b.ReportMetric(float64(done)/tAssign.Seconds(), "assign/s")
	b.ReportMetric(float64(done)/tBase.Seconds(), "update/s")
	b.ReportMetric(float64(tAssign)/float64(tBase), "assign/update")
	b.ReportMetric(0, "ns/op") // an op is 10,000 assignments plus the baseline: the rates above say more
}
